"""Rendered HTML kept in the cache under keys made of data versions (``core.counters``): a change of the
data makes a new key, so nothing is ever deleted; the old HTML simply expires. A cache outage reads as a
miss (the cache ignores Redis errors): the HTML is rendered as if never cached, and the page still serves."""

from collections.abc import Callable

from django.core.cache import cache


def cached(key: str | None, ttl: int, render: Callable[[], str]) -> str:
    """``render()``'s HTML, from the cache under ``key`` when there (no key: rendered every time)."""
    html = cache.get(key) if key else None
    if html is None:
        html = render()
        if key:
            cache.set(key, html, ttl)
    return html
