"""The shopper's own version of a personalised block, fetched by the page's script after it loads."""

from django.core.cache import cache
from django.http import Http404, HttpResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_cookie
from wagtail.models import Page

from blocks.blocks import request_versions
from commerce.customers.services import customer_for

PERSONAL_FRAGMENT_TTL = 60  # fresh enough after an add-to-cart refresh; spares a render per page view


def personal_fragment_key(request, page: Page, block_id: str) -> str:
    """Keyed by the shopper (customer, else visitor): one shopper's fragment is never served to another."""
    customer = customer_for(request.user)
    owner = f"c{customer.pk}" if customer else f"v{request.visitor_id}"
    versions = request_versions(request)
    return (f"blocks:personal:{owner}:{page.live_revision_id}:{block_id}:{versions['catalogue']}:"
            f"{versions['prices']}:{versions['model']}")


@require_GET
@cache_control(private=True, max_age=0)
@vary_on_cookie
def block_fragment(request, page_id: int, block_id: str):
    page = Page.objects.live().public().filter(pk=page_id).first()
    page = page.specific if page else None
    child = next((child for child in getattr(page, "body", None) or [] if child.id == block_id), None)
    if child is None or not getattr(child.block, "is_per_shopper", lambda value: False)(child.value):
        raise Http404("No personalised block with that id on a live page.")
    key = personal_fragment_key(request, page, block_id)
    html = cache.get(key)
    if html is None:
        html = child.block.render(child.value, context={
            "request": request, "page": page, "block_id": block_id, "personal_fragment": True})
        cache.set(key, html, PERSONAL_FRAGMENT_TTL)
    return HttpResponse(html)
