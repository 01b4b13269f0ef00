"""What the shop asks of the experiments app without importing it (the AI layer builds on commerce,
never the reverse): which price list a shopper pays, which experiment variants their order carries, and
which variant the browser's impressions and clicks from a surface belong to.

``settings.VITRINE_SHOPPER_EXPERIMENTS`` names a module with three functions of the request,
``price_list(request) -> str`` (a ``PriceList`` value; it records the shopper's exposure to a running
pricing experiment), ``experiment_tags(request) -> dict`` ({experiment key: variant key}) and
``surface_tags(request, surface) -> dict`` (the same, for events the browser reports from ``surface``).
Empty, everyone pays the current price and nothing carries tags. A failing provider is logged and
treated as empty: prices, checkout and the beacon never depend on the experiments app working.
"""

import logging
from importlib import import_module

from django.conf import settings
from django.http import HttpRequest

from commerce.catalogue.models import PriceList

logger = logging.getLogger(__name__)


def _ask(function: str, request: HttpRequest, default, *args):
    path = settings.VITRINE_SHOPPER_EXPERIMENTS
    if not path or request is None:
        return default
    try:
        return getattr(import_module(path), function)(request, *args)
    except Exception:
        logger.exception("%s.%s failed; using %r", path, function, default)
        return default


def price_list_for(request: HttpRequest | None) -> str:
    """The price list this request's shopper pays, asked once per request (every price on a page,
    the cart and checkout agree)."""
    if request is None:
        return PriceList.CURRENT
    if not hasattr(request, "_vitrine_price_list"):
        request._vitrine_price_list = _ask("price_list", request, PriceList.CURRENT)
    return request._vitrine_price_list


def experiment_tags(request: HttpRequest) -> dict[str, str]:
    """{experiment key: variant key} of the running experiments this shopper is counted in."""
    return _ask("experiment_tags", request, {})


def surface_tags(request: HttpRequest, surface: str) -> dict[str, str]:
    """{experiment key: variant key} for impressions and clicks the browser reports from ``surface``:
    set by the server from what it showed this shopper there, never taken from the browser."""
    return _ask("surface_tags", request, {}, surface)
