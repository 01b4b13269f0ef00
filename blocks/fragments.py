"""Fragment caching for AI blocks: the keys their HTML is cached under, and the shared and per-shopper caches.

A shared fragment is the same for every shopper of a price list; its key names the page revision, the
block, and the version of every piece of data it shows — the catalogue (``commerce.catalogue``), the
recommendation model (``serving.version()``) and its merchandising rules (``rules.version()``), a curated
search block's own list (``serving.curated_version``) — so publishing, a product or price change, a new
model, a rule saved or a newly cached list retires it at once. Per-shopper fragments (the page's script
fetches them after load, ``blocks.views``) are keyed by the shopper and the version of their own lists
too. Building a key reads versions only: it never queues a task (a curated block whose list is missing
asks for it, as rendering it would), and the one event it can cause is the pricing experiment's exposure,
recorded by the shop when it first asks which price list this shopper pays (every AI block shows prices).
"""

from django.urls import reverse
from django.utils.safestring import mark_safe

from ai.recommendations import rules as recommendation_rules
from ai.recommendations import serving as recommendations
from commerce.catalogue import services as catalogue
from commerce.customers.experiments import price_list_for
from commerce.customers.services import customer_for
from core.html_cache import cached as cached  # blocks, rows and the fragment view cache through this module

SHARED_FRAGMENT_TTL = 600  # popularity behind "trending" is itself cached for 10 minutes
# Priced products: a price change retires the HTML at once (the catalogue version); stock state ("Only 3
# left") may lag a checkout by this long (add to cart checks stock itself).
PRICED_FRAGMENT_TTL = 60
PERSONAL_FRAGMENT_TTL = 60  # spares a render per page view; a refreshed list has a key of its own
CSRF_PLACEHOLDER = "vitrine-csrf-token-placeholder"  # cached in shared HTML, replaced per request


def request_versions(request) -> dict:
    """The data versions fragment keys are made of, read once per request however many blocks the page
    has: catalogue, recommendation model, the live recommendation rules, and the shopper's price list."""
    versions = getattr(request, "_vitrine_versions", None)
    if versions is None:
        versions = {"catalogue": catalogue.catalogue_version(), "model": recommendations.version(),
                    "recommendation_rules": recommendation_rules.version(), "prices": price_list_for(request)}
        if request is not None:
            request._vitrine_versions = versions
    return versions


def is_preview(context: dict) -> bool:
    """Rendered for an editor: a page preview (Wagtail marks its request; a published page's draft keeps
    the live revision id), a block preview or an unsaved page (no page, block id or live revision)."""
    page, request = context.get("page"), context.get("request")
    return (page is None or not context.get("block_id") or getattr(page, "live_revision_id", None) is None
            or getattr(request, "is_preview", False))


def shared_key(context: dict, data_version: str) -> str | None:
    """The key of a block's shared HTML on a live page, or None (previews and unsaved pages are never
    cached). ``data_version``: what else the block's output depends on (an experiment, a variant, a
    curated list)."""
    if is_preview(context):
        return None
    page, block_id = context["page"], context["block_id"]
    versions = request_versions(context.get("request"))
    return (f"blocks:html:{page.live_revision_id}:{block_id}:{versions['catalogue']}:{versions['prices']}:"
            f"{versions['recommendation_rules']}:{data_version}")


def shopper(request) -> tuple[dict, str]:
    """The shopper's ids (``customer_id``, ``visitor_id``: what serving functions take) and the part of a
    cache key that names them (customer, else visitor) and their lists' version: a refreshed list, a cart
    change or an order gives the key a new version, so the next request rebuilds what depends on them."""
    customer = customer_for(request.user)
    ids = {"customer_id": customer.pk if customer else None, "visitor_id": getattr(request, "visitor_id", None)}
    owner = f"c{customer.pk}" if customer else f"v{ids['visitor_id']}"
    return ids, f"{owner}:{recommendations.shopper_list_version(ids['customer_id'], ids['visitor_id'])}"


def personal_key(request, page, block_id: str) -> str:
    """Keyed by the shopper and their lists' version (``shopper``): one shopper's fragment is never served
    to another, and a refreshed list (after an add-to-cart) is shown at the next fetch, not when the
    fragment expires."""
    versions = request_versions(request)
    _, owner = shopper(request)
    return (f"blocks:personal:{owner}:{page.live_revision_id}:{block_id}:{versions['catalogue']}:"
            f"{versions['prices']}:{versions['model']}:{versions['recommendation_rules']}")


def personal_url(context: dict) -> str | None:
    """Where the page's script fetches this shopper's version of the block."""
    page, block_id = context.get("page"), context.get("block_id")
    if page is None or not block_id or not page.pk:
        return None
    return reverse("blocks:fragment", kwargs={"page_id": page.pk, "block_id": block_id})


def csrf_token(context: dict) -> str | None:
    """The request's CSRF token from a template context (None without the CSRF middleware)."""
    token = context.get("csrf_token")
    token = str(token) if token is not None else "NOTPROVIDED"
    return None if token == "NOTPROVIDED" else token


def with_csrf_token(html: str, context: dict) -> str:
    """Shared HTML holding forms, cached with ``CSRF_PLACEHOLDER``, with this request's token in its place."""
    token = csrf_token(context)
    return mark_safe(html.replace(CSRF_PLACEHOLDER, token)) if token else html
