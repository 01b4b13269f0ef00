"""Project-wide middleware."""

import time
from urllib.parse import unquote

from csp.middleware import CSPMiddleware
from django.conf import settings
from django.http import HttpResponseBadRequest, JsonResponse


class ServerTimingMiddleware:
    """Adds ``Server-Timing: app;dur=<ms>`` to every response: the time Django spent handling the
    request (every middleware below this one, the view and template rendering), in milliseconds.

    First in ``MIDDLEWARE`` so it wraps everything. Browsers show it in the network panel; load tests
    (``bench/pages.py``) and a proxy's logs can read server time without the network and client in it.
    A Server-Timing header set further down (e.g. by a view) is kept, and ours is appended to it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        entry = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
        existing = response.get("Server-Timing")
        response["Server-Timing"] = f"{existing}, {entry}" if existing else entry
        return response


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, where under a prefix of ``settings.CONTENT_SECURITY_POLICY_PATHS`` that
    prefix's directives replace the site-wide ones (the Wagtail admin, the API docs). A view's own
    ``csp_replace`` still wins over its path's."""

    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only)
        if not report_only:
            for prefix, directives in settings.CONTENT_SECURITY_POLICY_PATHS.items():
                if request.path_info.startswith(prefix):
                    parts.replace = {**directives, **(parts.replace or {})}
                    break
        return parts


class RejectNulInUrlMiddleware:
    """Answers 400 to a request whose path or query string holds a NUL character. No legitimate URL has
    one, and PostgreSQL text cannot contain it: a view looking the value up would fail with a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or "\x00" in unquote(request.META.get("QUERY_STRING", "")):
            reason = "A URL cannot contain a NUL character (%00)."
            if request.path.startswith("/api/"):  # the API's errors are JSON, as its schema says
                return JsonResponse({"detail": reason}, status=400)
            return HttpResponseBadRequest(reason, content_type="text/plain")
        return self.get_response(request)
