"""Whether any page has a view restriction (a password, signed-in shoppers, groups), from the cache.

Wagtail checks every page it serves for restrictions on the page and its ancestors: two queries per view,
for a shop whose pages are usually all public. While no restriction exists, pages skip them; adding,
changing or removing a restriction drops the cached answer at once, in every process."""

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from wagtail.models import PageViewRestriction

ANY_RESTRICTION_KEY = "home:any-view-restriction"
ANY_RESTRICTION_TTL = 3600  # saves drop it at once; the TTL bounds changes made outside Django


def any_view_restriction() -> bool:
    found = cache.get(ANY_RESTRICTION_KEY)
    if found is None:
        found = PageViewRestriction.objects.exists()
        cache.set(ANY_RESTRICTION_KEY, found, ANY_RESTRICTION_TTL)
    return found


def forget_restrictions(**_) -> None:
    cache.delete(ANY_RESTRICTION_KEY)


def connect_receivers() -> None:
    for signal in (post_save, post_delete):
        signal.connect(forget_restrictions, sender=PageViewRestriction,
                       dispatch_uid=f"home-forget-restrictions-{id(signal)}")
