"""Which Wagtail site serves a request, from the cache.

Wagtail's ``Site.find_for_request`` runs a query on every request (it keeps its answer on the request only).
The sites and their root pages change rarely and only in the admin, so their answers are kept in the cache
(one key holding each host's site, shared by every process) and dropped at once when a site, or a page, is
saved, moved or deleted. The cache hands each request its own copy (unpickled), so nothing a request does
to its site or root page reaches another request."""

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.http.request import split_domain_port
from wagtail.models import Site, get_page_models
from wagtail.signals import page_published, page_unpublished, post_page_move

SITES_KEY = "home:sites"
SITES_TTL = 3600  # saves drop it at once; the TTL bounds changes made outside Django
MAX_HOSTS = 64  # a request's Host header is the client's to choose: never an unbounded dict
NO_SITE = "no-site"  # cached too: a host no site answers costs no query either


def site_for_request(request) -> Site | None:
    """The site Wagtail would find for ``request`` (None if none), from the cache when it is there."""
    host = (split_domain_port(request._get_raw_host())[0], request.get_port())  # as Wagtail matches it
    sites = cache.get(SITES_KEY) or {}
    if host not in sites:
        if len(sites) >= MAX_HOSTS:
            sites = {}
        sites[host] = Site._find_for_request(request) or NO_SITE
        cache.set(SITES_KEY, sites, SITES_TTL)
    site = sites[host]
    return None if site == NO_SITE else site


def forget_sites(**_) -> None:
    cache.delete(SITES_KEY)


def connect_receivers() -> None:
    """Drop the cached sites when a site changes, and when any page does: a root page's title, slug or
    path (its children's URLs) may change with it. Connected per page model, not to every model's saves."""
    for signal in (post_save, post_delete):
        signal.connect(forget_sites, sender=Site, dispatch_uid=f"home-forget-sites-{id(signal)}")
    for model in get_page_models():
        for signal in (post_save, post_delete, page_published, page_unpublished, post_page_move):
            signal.connect(forget_sites, sender=model,
                           dispatch_uid=f"home-forget-sites-{model._meta.label}-{id(signal)}")
