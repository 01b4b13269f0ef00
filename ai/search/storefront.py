"""Search as a shopper asks it, on the search page, through the search API or in a page's search box:
with their customer profile, their search-experiment variant (exposure recorded) and price bounds on
the price they pay."""

from dataclasses import replace

from django.http import HttpRequest

from ai.experiments.serving import record_search_exposure, search_options
from ai.search.serving import Filters, SearchResults, search
from commerce.customers.experiments import price_list_for
from commerce.customers.services import customer_for


def shopper_search(request: HttpRequest, query: str, *, filters: Filters, limit: int, exact: bool = False
                   ) -> SearchResults:
    record_search_exposure(request)
    customer = customer_for(request.user)
    return search(query, customer_id=customer.pk if customer else None,
                  visitor_id=getattr(request, "visitor_id", None),
                  filters=replace(filters, price_list=price_list_for(request)), limit=limit, exact=exact,
                  **search_options(request))
