"""A shopper-experiments provider (``VITRINE_SHOPPER_EXPERIMENTS``) that puts every shopper on the base price,
as a pricing experiment's base-price variant does: for the tests of surfaces that must disclose a price set
for the shopper."""

from commerce.catalogue.models import PriceList


def price_list(request):
    return PriceList.BASE


def experiment_tags(request):
    return {}


def surface_tags(request, surface):
    return {}
