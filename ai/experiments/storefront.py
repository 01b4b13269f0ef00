"""What experiments tell the shop, through ``commerce.customers.experiments`` (named by
``settings.VITRINE_SHOPPER_EXPERIMENTS``): the price list a shopper pays under the running pricing
experiment, the variants their order is tagged with, and the variant of the browser's impressions and
clicks from a surface."""

from ai.experiments.models import PricingStrategy, Surface
from ai.experiments.serving import record_exposure, running_key, running_keys, shown_experiment, variant_for
from commerce.catalogue.models import PriceList


def price_list(request) -> str:
    """The current price, or the base price for shoppers in a base-price variant. The shop asks it to show
    or charge a price (once per request), so the shopper is shown their variant: the exposure is recorded."""
    variant = variant_for(running_key(Surface.PRICING), request)
    if variant is None:
        return PriceList.CURRENT
    record_exposure(variant, request)
    return PricingStrategy.PRICE_LISTS.get(variant.strategy, PriceList.CURRENT)


def experiment_tags(request) -> dict[str, str]:
    """{experiment: variant} in every running experiment the shopper is counted in (none for bots and
    opted-out shoppers). Metrics count an order only for shoppers exposed before it (by the join on
    exposure events), so a tag of an experiment the shopper never saw changes no result."""
    tags = {}
    for key in running_keys():
        variant = variant_for(key, request)
        if variant is not None:
            tags.update(variant.tag)
    return tags


def surface_tags(request, surface: str) -> dict[str, str]:
    """{experiment: variant} for the impressions and clicks the browser reports from ``surface``: the
    shopper's variant of the experiment the server showed them there, while it runs; none for a surface
    shown under no experiment, and for bots and opted-out shoppers."""
    variant = variant_for(shown_experiment(request, surface), request)
    return variant.tag if variant is not None else {}
