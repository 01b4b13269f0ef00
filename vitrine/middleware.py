"""Project-wide middleware."""

import time


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
