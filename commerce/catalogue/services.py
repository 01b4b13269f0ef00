"""Catalogue reads used by pages, the cart and checkout: one place that knows prices and stock."""

from decimal import Decimal

from django.core.cache import cache
from django.db.models import Prefetch, QuerySet
from wagtail.images import get_image_model

from commerce.catalogue.models import Category, Product, ProductVariant

NAVIGATION_CACHE_KEY = "catalogue:navigation"
CARD_RENDITION = "fill-400x400"  # the product card's picture; prefetched so a grid costs no query per card
SORTS = {
    "featured": ("-stock", "title"),
    "price": ("price", "title"),
    "-price": ("-price", "title"),
    "newest": ("-created_at",),
    "title": ("title",),
}


def unit_price(product: Product, variant: ProductVariant | None = None) -> Decimal:
    """What a shopper pays for one unit right now: the variant's own price, else the product's current price."""
    if variant is not None and variant.price is not None:
        return variant.price
    return product.price


def available_stock(product: Product, variant: ProductVariant | None = None) -> int:
    return variant.stock if variant is not None else product.stock


def navigation() -> list[dict]:
    """Top-level departments with their children, for the header menu (cached; invalidated on save)."""
    menu = cache.get(NAVIGATION_CACHE_KEY)
    if menu is None:
        departments = Category.objects.filter(parent=None).prefetch_related("children")
        menu = [
            {
                "name": d.name,
                "url": d.get_absolute_url(),
                "children": [{"name": c.name, "url": c.get_absolute_url()} for c in d.children.all()],
            }
            for d in departments
        ]
        cache.set(NAVIGATION_CACHE_KEY, menu, 3600)
    return menu


def forget_navigation() -> None:
    cache.delete(NAVIGATION_CACHE_KEY)


def listing(category: Category | None = None, *, sort: str = "featured") -> QuerySet[Product]:
    """Active products, optionally within a category and everything below it, in a shopper-chosen order."""
    products = Product.objects.active().select_related("category").prefetch_related(
        Prefetch("image", queryset=get_image_model().objects.prefetch_renditions(CARD_RENDITION)))
    if category is not None:
        products = products.in_category(category)
    return products.order_by(*SORTS.get(sort, SORTS["featured"]))
