"""Search as a shopper asks it, on the search page, through the search API or in a page's search box:
with their customer profile, their search-experiment variant (exposure recorded) and price bounds on
the price they pay; with facets on the search page and the API."""

from dataclasses import dataclass, replace

from django.http import HttpRequest, QueryDict

from ai.experiments.serving import record_search_exposure, search_options
from ai.search.rules import redirect_for
from ai.search.serving import Filters, SearchResults, log_redirect, search
from commerce.catalogue.facets import Buckets, Facets, facets
from commerce.catalogue.models import Product
from commerce.customers.experiments import price_list_for
from commerce.customers.services import customer_for

MAX_RESULTS = 96  # the candidates the facets count and narrow: up to both retrievers' 50 (docs/search.md)


def shopper_search(request: HttpRequest, query: str, *, filters: Filters, limit: int, exact: bool = False
                   ) -> SearchResults:
    record_search_exposure(request)
    customer = customer_for(request.user)
    return search(query, customer_id=customer.pk if customer else None,
                  visitor_id=getattr(request, "visitor_id", None),
                  filters=replace(filters, price_list=price_list_for(request)), limit=limit, exact=exact,
                  **search_options(request))


def shopper_redirect(request: HttpRequest, query: str) -> str | None:
    """Where a merchandiser's rule sends this search instead (logged as such), or None."""
    target = redirect_for(query)
    if target:
        customer = customer_for(request.user)
        log_redirect(query, customer_id=customer.pk if customer else None,
                     visitor_id=getattr(request, "visitor_id", None))
    return target


@dataclass
class FacetedResults:
    results: SearchResults  # every candidate, as searched and logged
    product_ids: list[int]  # the candidates the facet selection keeps, best first
    facets: Facets


def faceted_search(request: HttpRequest, query: str, selection: QueryDict, *, filters: Filters, exact: bool = False
                   ) -> FacetedResults:
    """The search page's results: up to ``MAX_RESULTS`` candidates for ``query`` under ``filters``, the
    department, price, stock and attribute facets counted over them, and those the facet values chosen in
    ``selection`` (URL parameters, ``commerce.catalogue.facets``) keep."""
    return narrowed(request, candidate_search(request, query, filters=filters, exact=exact), selection)


def candidate_search(request: HttpRequest, query: str, *, filters: Filters, exact: bool = False) -> SearchResults:
    """Up to ``MAX_RESULTS`` candidates for ``query``, searched and logged. In stock is a facet here, applied
    to the candidates (``narrowed``), so its count can say what it would remove."""
    return shopper_search(request, query, filters=replace(filters, in_stock=False), limit=MAX_RESULTS, exact=exact)


def narrowed(request: HttpRequest, results: SearchResults, selection: QueryDict) -> FacetedResults:
    """The facets counted over the candidates, and the candidates the facet values in ``selection`` keep."""
    price_list, buckets = price_list_for(request), Buckets.below(None)
    candidates = Product.objects.active().filter(pk__in=results.product_ids)
    found = facets(candidates, selection, buckets, price_list=price_list)
    if not found.selection and found.total == len(results.product_ids):
        return FacetedResults(results, results.product_ids, found)  # every candidate counted is kept
    kept = set(found.selection.filter(candidates, buckets, price_list).values_list("pk", flat=True))
    return FacetedResults(results, [pid for pid in results.product_ids if pid in kept], found)
