from django.utils.functional import SimpleLazyObject

from commerce.catalogue.services import navigation as _navigation
from commerce.customers.experiments import price_list_for


def navigation(request):
    # Lazy: JSON APIs and admin pages that never show the menu never read it.
    return {"navigation": SimpleLazyObject(_navigation)}


def price_list(request):
    # Lazy: asked (and a pricing experiment's exposure recorded) only when a template shows a price.
    return {"price_list": SimpleLazyObject(lambda: price_list_for(request))}
