"""HTML is rendered once per key and served from the cache after; without a key, or with Redis down, it is
rendered every time and the caller never sees an error."""

from core.html_cache import cached

UNREACHABLE_REDIS = {"default": {
    "BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://127.0.0.1:9/0",
    "OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2}}}


def rendering(renders: list):
    return lambda: renders.append(1) or f"<p>render {len(renders)}</p>"


def test_html_is_rendered_once_per_key():
    renders = []
    html = [cached(key, 60, rendering(renders)) for key in ("grid:v1", "grid:v1", "grid:v2")]
    assert html == ["<p>render 1</p>", "<p>render 1</p>", "<p>render 2</p>"]  # a new version: a new render


def test_without_a_key_html_is_rendered_every_time():
    renders = []
    assert [cached(None, 60, rendering(renders)) for _ in range(2)] == ["<p>render 1</p>", "<p>render 2</p>"]


def test_with_redis_down_html_is_rendered_every_time(settings):
    settings.CACHES = UNREACHABLE_REDIS
    renders = []
    assert [cached("grid:v1", 60, rendering(renders)) for _ in range(2)] == ["<p>render 1</p>", "<p>render 2</p>"]
