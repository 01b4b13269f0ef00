"""Version counters in the cache: numbers that only grow, read into the keys of cached data and bumped to
retire all of it at once (the catalogue version, the search index version, the recommendation rules')."""

from django.core.cache import cache


def current(key: str) -> int:
    """The counter's value, started at 1 the first time it is read (never expires)."""
    value = cache.get(key)
    if value is None:
        cache.add(key, 1, None)
        value = cache.get(key, 1)
    return value


def bump(key: str) -> None:
    try:
        cache.incr(key)
    except ValueError:  # never read yet
        cache.set(key, 1, None)
