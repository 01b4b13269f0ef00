from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from ai.search.api import SearchParamsSerializer
from ai.search.serving import record_click
from ai.search.storefront import shopper_search
from commerce.catalogue.models import Category, Product
from commerce.catalogue.services import listing

RESULTS_PER_PAGE = 24
MAX_RESULTS = 48


@require_GET
def search_page(request):
    """/search/?q=…: hybrid results as product cards; an empty or invalid query shows the form and why."""
    context = {"query": request.GET.get("q", ""), "categories": Category.objects.filter(parent=None)}
    if "q" in request.GET:
        params = SearchParamsSerializer(data=request.GET)
        if params.is_valid():
            results = shopper_search(request, params.validated_data["q"], filters=params.filters(),
                                     limit=MAX_RESULTS)
            products = listing().in_bulk(results.product_ids)
            ordered = [products[pid] for pid in results.product_ids if pid in products]
            context.update(results=results, page=Paginator(ordered, RESULTS_PER_PAGE).get_page(request.GET.get("page")))
        else:
            context["errors"] = [str(e) for errors in params.errors.values() for e in errors]
    status = 400 if context.get("errors") else 200
    return render(request, "search/results.html", context, status=status)


@require_GET
def search_click(request, query_id: int, product_id: int):
    """Result links pass through here so clicks are attributed to the query, then go to the product."""
    product = get_object_or_404(Product, pk=product_id, active=True)
    record_click(query_id, product_id, visitor_id=request.visitor_id)
    return redirect(product.get_absolute_url())
