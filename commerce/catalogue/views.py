import hashlib

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from commerce.catalogue.facets import Buckets, Facets, facets
from commerce.catalogue.models import Category, Product
from commerce.catalogue.services import SORTS, catalogue_version, listing, shown_price
from commerce.catalogue.signals import product_viewed
from commerce.customers.experiments import price_list_for
from commerce.customers.services import customer_for
from core.html_cache import cached

# Stock ("Sold out", the featured order) may lag a checkout by this long; a product or price change, or a
# category's, makes a new key at once (the catalogue version).
LISTING_FRAGMENT_TTL = 60


def _page_of(request, products):
    paginator = Paginator(products, settings.VITRINE_PRODUCTS_PER_PAGE)
    return paginator.get_page(request.GET.get("page"))


def _faceted_listing(request, category: Category | None, sort: str) -> tuple[QuerySet[Product], Facets]:
    """A category's products (the whole shop's without one) narrowed by the facet values the URL chooses,
    and the listing's facets (departments on the shop, subcategories on a category)."""
    price_list = price_list_for(request)
    buckets = Buckets.below(category)
    products = Product.objects.active()
    found = facets(products.in_category(category) if category else products, request.GET, buckets,
                   price_list=price_list)
    return found.selection.filter(listing(category, sort=sort, price_list=price_list), buckets, price_list), found


def listing_fragment_key(request, category: Category | None) -> str:
    """The key of a listing's HTML (facets, count, sort, cards, pagination): the same for every shopper of a
    price list who asks for the same category and URL parameters (facet values, sort, page) while the
    catalogue version stands. Nothing per shopper is in it: the cards show the price list's prices only."""
    parameters = hashlib.blake2b(repr(sorted(request.GET.lists())).encode(), digest_size=12).hexdigest()
    return (f"catalogue:listing:{catalogue_version()}:{price_list_for(request)}:"
            f"{category.pk if category else 'all'}:{parameters}")


def _faceted_listing_html(request, category: Category | None) -> str:
    """The listing and its facets, rendered once per key (``listing_fragment_key``): counting the facets
    and rendering two dozen cards is most of a listing page's time."""
    def render_listing() -> str:
        sort = request.GET.get("sort", "featured")
        products, found = _faceted_listing(request, category, sort)
        return render_to_string("catalogue/_faceted.html", {
            "category": category, "page": _page_of(request, products), "sort": sort, "sorts": SORTS,
            "facets": found}, request)

    return mark_safe(cached(listing_fragment_key(request, category), LISTING_FRAGMENT_TTL, render_listing))


def shop(request):
    """/shop/: every department, then the whole catalogue with its facets."""
    departments = Category.objects.filter(parent=None).prefetch_related("children")
    return render(request, "catalogue/shop.html", {
        "departments": departments, "faceted_listing": _faceted_listing_html(request, None)})


def category(request, slug):
    category = get_object_or_404(Category.objects.select_related("parent"), slug=slug)
    return render(request, "catalogue/category.html", {
        "category": category, "breadcrumbs": category.ancestors(), "subcategories": category.children.all(),
        "faceted_listing": _faceted_listing_html(request, category)})


def product(request, slug):
    product = get_object_or_404(
        Product.objects.active().select_related("category", "image").prefetch_related("variants", "gallery__image"),
        slug=slug,
    )
    shown = shown_price(product, price_list_for(request))
    product_viewed.send(sender=Product, product=product, customer=customer_for(request.user),
                        visitor_id=request.visitor_id, price=shown.price, request=request)
    return render(request, "catalogue/product.html", {
        "product": product, "shown": shown, "breadcrumbs": product.category.ancestors(),
        "variants": list(product.variants.all()),
        "attributes": sorted((product.attributes or {}).items()),
    })
