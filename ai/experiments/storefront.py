"""What experiments tell the shop, through ``commerce.customers.experiments`` (named by
``settings.VITRINE_SHOPPER_EXPERIMENTS``): the price list a shopper pays under the running pricing
experiment, and the variants their order is tagged with."""

from ai.experiments.models import PricingStrategy, Surface
from ai.experiments.services import running_key, running_keys, variant_for
from commerce.catalogue.models import PriceList


def price_list(request) -> str:
    """The current price, or the base price for shoppers in a base-price variant; records exposure."""
    variant = variant_for(running_key(Surface.PRICING), request)
    if variant is None:
        return PriceList.CURRENT
    return PricingStrategy.PRICE_LISTS.get(variant.strategy, PriceList.CURRENT)


def experiment_tags(request) -> dict[str, str]:
    """{experiment: variant} in every running experiment the shopper is counted in (none for bots and
    opted-out shoppers). Metrics count an order only for shoppers exposed before it (by the join on
    exposure events), so a tag of an experiment the shopper never saw changes no result."""
    tags = {}
    for key in running_keys():
        variant = variant_for(key, request, expose=False)
        if variant is not None:
            tags.update(variant.tag)
    return tags
