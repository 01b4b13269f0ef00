from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from ai.search.api import SearchParamsSerializer
from ai.search.serving import popular_queries, record_click
from ai.search.storefront import faceted_search, shopper_redirect
from ai.search.suggestions import suggest
from commerce.catalogue.models import Category, Product
from commerce.catalogue.services import listing

RESULTS_PER_PAGE = 24


@require_GET
def search_page(request):
    """/search/?q=…: hybrid results as product cards; an empty or invalid query shows the form and why; a
    query that finds nothing says so and suggests popular searches and the departments."""
    context = {"query": request.GET.get("q", ""), "categories": Category.objects.filter(parent=None)}
    if "q" in request.GET:
        params = SearchParamsSerializer(data=request.GET)
        if params.is_valid():
            if target := shopper_redirect(request, params.validated_data["q"]):  # a rule answers with a page
                return redirect(target)
            found = faceted_search(request, params.validated_data["q"], request.GET, filters=params.filters(),
                                   exact=params.validated_data["exact"])
            page = Paginator(found.product_ids, RESULTS_PER_PAGE).get_page(request.GET.get("page"))
            products = listing().in_bulk(page.object_list)
            page.object_list = [products[pid] for pid in page.object_list if pid in products]
            context.update(results=found.results, page=page, facets=found.facets)
            if not page.object_list and not found.facets.selection:
                context["suggestions"] = [q for q in popular_queries() if q != found.results.query]
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


@require_GET
def search_suggestions(request):
    """/search/suggest?q=…: what the header search box offers as the shopper types (``suggestions.suggest``)."""
    query = request.GET.get("q", "")
    return JsonResponse({"query": query, "suggestions": suggest(query)})
