"""The recommendation rows of the shop's own pages: "Similar products" and "Bought together" on a product
page, "Goes well with your cart" in the cart. The shop imports nothing from the AI: its templates load
this library by name. Rows come from precomputed lists (``ai.recommendations.serving``) and look like the
carousel block; their HTML is shared by every shopper of a price list, cached under the catalogue, model and
recommendation rules' versions like a block's, except while a rule filters by the shopper's cart or orders."""

import hashlib

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from ai.common import CarouselStrategy
from ai.recommendations import serving as recommendations
from blocks import fragments
from commerce.catalogue import services as catalogue

register = template.Library()

ROW_SIZE = 8
ROW_TEMPLATE = "blocks/recommendation_carousel_block.html"


def _row(surface: str, title: str, results: list, price_list: str) -> str:
    products = catalogue.cards([r.product.pk for r in results])
    reasons = {r.product.pk: r.reason for r in results}
    return render_to_string(ROW_TEMPLATE, {
        "value": {"title": title}, "block_id": surface, "price_list": price_list,
        "items": [(product, reasons.get(product.pk, "")) for product in products],
        "strategy": surface, "source": results[0].strategy if results else ""})


def _cached_rows(request, key: str, placements: tuple[str, ...], render) -> str:
    """The rows ``render(price_list, shopper)`` builds, cached under ``key`` and the versions they depend
    on. Shared by every shopper of a price list, unless a live rule of ``placements`` leaves out the
    shopper's cart or recent orders: then built for the shopper (``shopper``: their ids, else empty) and
    kept under their lists' version, which every change of their cart or orders renews."""
    versions = fragments.request_versions(request)
    shopper, owner = {}, ""
    if request is not None and recommendations.rules_need_shopper(*placements):
        shopper, owner = fragments.shopper(request)
    html = fragments.cached(f"blocks:rows:{key}:{versions['catalogue']}:{versions['prices']}:{versions['model']}:"
                            f"{versions['recommendation_rules']}:{owner}",
                            fragments.PRICED_FRAGMENT_TTL, lambda: render(versions["prices"], shopper))
    return mark_safe(html)


@register.simple_tag(takes_context=True)
def product_rows(context, product) -> str:
    """A product page's "Similar products" (then its department's best sellers) and "Bought together"
    (then its category's complements) rows."""
    return _cached_rows(context.get("request"), f"product:{product.pk}", ("product", CarouselStrategy.BOUGHT_TOGETHER),
                        lambda price_list, shopper: (
        _row("product-similar", "Similar products",
             recommendations.recommend("product", product_id=product.pk, limit=ROW_SIZE, **shopper), price_list)
        + _row("product-bought-together", "Bought together",
               recommendations.complementary([product.pk], ROW_SIZE, **shopper), price_list)))


@register.simple_tag(takes_context=True)
def cart_rows(context, cart) -> str:
    """The cart's "Goes well with your cart" row: bought with its products, then their complements."""
    product_ids = sorted({priced.line.product_id for priced in cart.lines})
    if not product_ids:
        return ""
    digest = hashlib.blake2b(",".join(map(str, product_ids)).encode(), digest_size=8).hexdigest()
    return _cached_rows(context.get("request"), f"cart:{digest}", (CarouselStrategy.BOUGHT_TOGETHER,),
                        lambda price_list, shopper: _row(
        "cart-complements", "Goes well with your cart",
        recommendations.complementary(product_ids, ROW_SIZE, **shopper), price_list))
