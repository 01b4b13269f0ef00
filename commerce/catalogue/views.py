from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404, render

from commerce.catalogue.facets import Buckets, Facets, facets
from commerce.catalogue.models import Category, Product
from commerce.catalogue.services import SORTS, listing, shown_price
from commerce.catalogue.signals import product_viewed
from commerce.customers.experiments import price_list_for
from commerce.customers.services import customer_for


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


def shop(request):
    """/shop/: every department, then the whole catalogue with its facets."""
    sort = request.GET.get("sort", "featured")
    departments = Category.objects.filter(parent=None).prefetch_related("children")
    products, found = _faceted_listing(request, None, sort)
    return render(request, "catalogue/shop.html", {
        "departments": departments, "page": _page_of(request, products), "sort": sort, "sorts": SORTS,
        "facets": found,
    })


def category(request, slug):
    category = get_object_or_404(Category.objects.select_related("parent"), slug=slug)
    sort = request.GET.get("sort", "featured")
    products, found = _faceted_listing(request, category, sort)
    return render(request, "catalogue/category.html", {
        "category": category, "breadcrumbs": category.ancestors(), "subcategories": category.children.all(),
        "page": _page_of(request, products), "sort": sort, "sorts": SORTS, "facets": found,
    })


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
