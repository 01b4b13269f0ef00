import hashlib
from dataclasses import replace

from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from ai.search.api import SearchParamsSerializer
from ai.search.serving import SearchResults, popular_queries, record_click
from ai.search.storefront import candidate_search, narrowed, shopper_redirect
from ai.search.suggestions import suggest
from commerce.catalogue.models import Category, Product
from commerce.catalogue.services import catalogue_version, listing
from commerce.customers.experiments import price_list_for
from core.html_cache import cached

RESULTS_PER_PAGE = 24
# Stock ("Sold out") may lag a checkout by this long; a product or price change makes a new key at once.
RESULTS_FRAGMENT_TTL = 60
# Cached result links carry this query id; each request puts its own search's log id in its place.
CLICK_QUERY_PLACEHOLDER = 987654321987654


def results_fragment_key(request, results: SearchResults) -> str:
    """The key of the results' HTML (facets, count, cards, pagination): the candidates in their order (so a
    personalised ranking has its own), the query shown, the URL parameters (facet values, page), the
    catalogue version and the price list. The shopper's search log id is not in it (``_click_prefix``)."""
    shown = (results.query, results.corrected_query, results.product_ids, sorted(request.GET.lists()))
    digest = hashlib.blake2b(repr(shown).encode(), digest_size=16).hexdigest()
    return f"search:html:{catalogue_version()}:{price_list_for(request)}:{digest}"


def _click_prefix(query_id: int) -> str:
    """The start of a result link for this search ("/search/click/<query_id>/"), the product id cut off."""
    return reverse("search:click", args=[query_id, 0])[:-2]


def _results_html(request, results: SearchResults, categories) -> str:
    """The results below the search form, rendered once per ``results_fragment_key``: counting the facets
    and rendering two dozen cards is most of the page's time."""
    def render_results() -> str:
        found = narrowed(request, results, request.GET)
        page = Paginator(found.product_ids, RESULTS_PER_PAGE).get_page(request.GET.get("page"))
        products = listing().in_bulk(page.object_list)
        page.object_list = [products[pid] for pid in page.object_list if pid in products]
        context = {"results": replace(results, query_log_id=CLICK_QUERY_PLACEHOLDER), "page": page,
                   "facets": found.facets, "categories": categories}
        if not page.object_list and not found.facets.selection:
            context["suggestions"] = [q for q in popular_queries() if q != results.query]
        return render_to_string("search/_results.html", context, request)

    html = cached(results_fragment_key(request, results), RESULTS_FRAGMENT_TTL, render_results)
    return mark_safe(html.replace(_click_prefix(CLICK_QUERY_PLACEHOLDER), _click_prefix(results.query_log_id or 0)))


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
            results = candidate_search(request, params.validated_data["q"], filters=params.filters(),
                                       exact=params.validated_data["exact"])
            context.update(results=results, results_html=_results_html(request, results, context["categories"]))
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
