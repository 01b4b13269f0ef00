"""A page's blocks render from their cached HTML, read with keys made of the stored data: a page whose
blocks are all cached builds no block value, and a block missing from the cache is rendered on its own."""

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.factories import ExperimentFactory, ProductFactory

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'"[A-Za-z0-9]{64}"')  # a CSRF token, in a form or the page's meta tag
NONCE = re.compile(r'nonce="[^"]+"')  # the content security policy's, per response


def queries_of_a_view(client: Client, path: str = "/") -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        html = client.get(path).content.decode()
    return len(captured.captured_queries), html


def a_page_of_every_cached_kind(experiment) -> list:
    products = [p.pk for p in ProductFactory.create_batch(4)]
    return [
        ("hero", {"headline": "Slow mornings", "text": "Stoneware and linen.", "link_url": "/shop/"}),
        ("recommendations", {"title": "Trending now", "strategy": "trending", "count": 4, "category": None,
                             "product": None, "fallback": "trending", "experiment": experiment.pk}),
        ("product_grid", {"title": "Editors' picks", "products": products}),
        ("priced_products", {"title": "This week's prices", "products": products[:2]}),
        ("heading", {"text": "Cosy evenings", "level": "h2"}),
    ]


def test_a_page_whose_blocks_are_cached_costs_no_more_queries_than_an_empty_page(wagtail_site, publish):
    # Given the home page with no blocks, and then with a block of every cached kind, choosers included
    publish()
    client = Client()
    client.get("/")
    empty_page_queries, _ = queries_of_a_view(client)
    publish(*a_page_of_every_cached_kind(ExperimentFactory()))
    client.get("/")  # renders and caches each block

    # When it is viewed again
    queries, html = queries_of_a_view(client)

    # Then no block value was built (no product, image or experiment query), and every block is there
    assert queries == empty_page_queries
    for shown in ("Slow mornings", "Editors&#x27;", "This week&#x27;s prices", "Cosy evenings"):
        assert shown in html
    assert '<div class="block-recommendations">' in html  # trending has nothing yet: an empty row


def test_cached_blocks_render_as_they_did_fresh_with_this_shoppers_csrf_token(wagtail_site, publish):
    # Given a page rendered once (its blocks' HTML cached)
    publish(*a_page_of_every_cached_kind(ExperimentFactory()))
    fresh = Client().get("/").content.decode()

    # When another shopper views it from the cache
    from_cache = Client().get("/").content.decode()

    # Then the blocks are the same, but for each shopper's own token in the add-to-cart forms
    assert NONCE.sub("", TOKEN.sub("", fresh)) == NONCE.sub("", TOKEN.sub("", from_cache))
    assert 'name="csrfmiddlewaretoken"' in from_cache and TOKEN.findall(fresh) != TOKEN.findall(from_cache)


def test_a_block_missing_from_the_cache_is_rendered_and_cached_again_beside_the_cached_ones(wagtail_site, publish):
    # Given a cached page, and one of its blocks' HTML evicted
    home, block_ids = publish(*a_page_of_every_cached_kind(ExperimentFactory()))
    Client().get("/")
    evicted = next(key for key in cache.keys("blocks:html:*") if f":{block_ids[2]}:" in key)
    cache.delete(evicted)

    # When the page is viewed
    html = Client().get("/").content.decode()

    # Then the evicted block is back in the page and in the cache, the others unchanged
    assert "Editors&#x27; picks" in html and "Slow mornings" in html
    assert cache.get(evicted) is not None


def test_a_removed_block_type_in_the_stored_data_is_left_out(wagtail_site, publish):
    # Given a page whose stored data names a block type the page no longer has
    home, _ = publish(("heading", {"text": "Cosy evenings", "level": "h2"}))
    home.body.raw_data.append({"type": "retired_block", "value": {}, "id": "gone"})
    home.save_revision().publish()

    # When it is viewed
    response = Client().get("/")

    # Then the rest renders
    assert response.status_code == 200 and "Cosy evenings" in response.content.decode()
