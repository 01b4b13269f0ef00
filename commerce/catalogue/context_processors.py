from django.utils.functional import SimpleLazyObject

from commerce.catalogue.services import navigation as _navigation


def navigation(request):
    # Lazy: JSON APIs and admin pages that never show the menu never read it.
    return {"navigation": SimpleLazyObject(_navigation)}
