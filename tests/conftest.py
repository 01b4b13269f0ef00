import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def clean_redis():
    """Each test starts and ends with an empty Redis database (cache, sessions, broker queues)."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def shopper_client(client):
    """A browser-like client: VisitorMiddleware gives it a visitor cookie on its first request."""
    client.get("/cart/")
    return client
