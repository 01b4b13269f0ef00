"""Middleware of the Wagtail pages."""

from wagtail import views as wagtail_views

from home.sites import site_for_request


class CachedSiteMiddleware:
    """Gives a request that Wagtail will serve its site from the cache (``home.sites``): Wagtail's
    ``Site.find_for_request`` looks at ``request._wagtail_site`` before it runs its query. Other views
    (the shop's, the API) look up no site, so they are left alone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if view_func is wagtail_views.serve and not hasattr(request, "_wagtail_site"):
            request._wagtail_site = site_for_request(request)
