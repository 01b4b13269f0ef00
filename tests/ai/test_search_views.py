"""The search page's results are rendered once per key and served from the cache; every search still
carries its own log id in its result links, a price or product change shows at the next search, and with
Redis down the page still renders."""

import re

import pytest
from django.core.cache import cache
from django.test import Client

from ai.search import indexing
from ai.search.models import SearchQuery
from commerce.catalogue.services import set_current_price
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

CLICK_LINK = re.compile(r'href="/search/click/(\d+)/(\d+)/"')
UNREACHABLE_REDIS = {"default": {
    "BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://127.0.0.1:9/0",
    "OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2}}}


@pytest.fixture
def lamp():
    product = ProductFactory(title="Brass Reading Lamp", description="A warm light for the armchair.",
                             base_price=40)
    indexing.index_products([product.pk])
    indexing.refresh_term_statistics()
    return product


def results_fragments() -> list[str]:
    return [cache.get(key) for key in cache.keys("search:html:*")]


def test_cached_results_link_each_search_to_its_own_log_entry(lamp):
    # given two shoppers searching the same words, the second served the first one's cached results
    pages = [Client().get("/search/", {"q": "lamp"}).content.decode() for _ in range(2)]
    # then each page's result links name that search's own log entry
    logged = list(SearchQuery.objects.order_by("pk").values_list("pk", flat=True))
    assert [CLICK_LINK.findall(page) for page in pages] == [[(str(pk), str(lamp.pk))] for pk in logged]
    [fragment] = results_fragments()
    assert "Brass Reading Lamp" in fragment and not any(f"/search/click/{pk}/" in fragment for pk in logged)


def test_a_price_change_shows_at_the_next_search(lamp, django_capture_on_commit_callbacks):
    assert "£40.00" in Client().get("/search/", {"q": "lamp"}).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        set_current_price(lamp.pk, lamp.base_price - 10, expected=lamp.base_price)
    assert "£30.00" in Client().get("/search/", {"q": "lamp"}).content.decode()


def test_a_product_edit_shows_at_the_next_search(lamp, django_capture_on_commit_callbacks):
    assert "Brass Reading Lamp" in Client().get("/search/", {"q": "lamp"}).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        lamp.title = "Brass Reading Lamp, large"
        lamp.save()
    assert "Brass Reading Lamp, large" in Client().get("/search/", {"q": "lamp"}).content.decode()


def test_each_facet_selection_has_its_own_results(lamp):
    Client().get("/search/", {"q": "lamp"})
    narrowed = Client().get("/search/", {"q": "lamp", "price": "0-10"}).content.decode()
    assert "Brass Reading Lamp" not in narrowed.split('class="faceted__results"')[1]
    assert len(results_fragments()) == 2


def test_with_redis_down_the_search_page_still_renders(lamp, settings):
    settings.CACHES = UNREACHABLE_REDIS
    response = Client().get("/search/", {"q": "lamp"})
    assert response.status_code == 200 and "Brass Reading Lamp" in response.content.decode()


def test_the_search_page_has_one_search_box_its_own(lamp):
    # given the search page, whose form also picks a department
    content = Client().get("/search/", {"q": "lamp"}).content.decode()

    # then the header's search box is left out: the page's own form is the only one
    assert len(re.findall(r'<input[^>]+type="search"', content)) == 1
    assert 'id="search-q"' in content and 'id="header-search-q"' not in content


def test_other_pages_keep_the_header_search_box(lamp):
    content = Client().get(lamp.get_absolute_url()).content.decode()

    assert 'id="header-search-q"' in content
