import re
import uuid

import pytest
from django.core.cache import cache
from django.test import Client

from ai.recommendations import tasks
from ai.recommendations.models import CustomerRecommendations
from ai.recommendations.refresh import refresh_visitor_recommendations
from commerce.customers.services import VISITOR_COOKIE
from tests.broker import queued_tasks
from tests.factories import RecommendationRuleFactory, embedding, stored_event

pytestmark = pytest.mark.django_db

PERSONALISED = ("recommendations", {"title": "Picked for you", "strategy": "personalised", "count": 4,
                                    "fallback": "trending"})


def fragment(client, page, block_id):
    return client.get(f"/fragments/{page.pk}/{block_id}/")


def test_a_signed_in_customer_gets_their_own_row(trained, publish):
    products, customers = trained
    home, (block_id,) = publish(PERSONALISED)
    client = Client()
    client.force_login(customers["newcomer"].user)

    response = fragment(client, home, block_id)

    html = response.content.decode()
    assert response.status_code == 200 and 'data-strategy="personalised"' in html
    listed = CustomerRecommendations.objects.get(customer=customers["newcomer"]).product_ids
    assert f'data-product-id="{listed[0]}"' in html
    assert "private" in response["Cache-Control"] and "Cookie" in response["Vary"]


def test_two_visitors_never_see_each_others_fragment(trained, publish):
    products, _ = trained
    for i in range(5):
        embedding(products[f"coffee{i}"], (0, 1.0), (10 + i, 0.2))
        embedding(products[f"garden{i}"], (1, 1.0), (10 + i, 0.2))
    home, (block_id,) = publish(PERSONALISED)
    gardener, stranger = Client(), Client()
    gardener.get("/")
    stranger.get("/")
    gardener_id = uuid.UUID(gardener.cookies[VISITOR_COOKIE].value.split(":")[0])
    stored_event("view", products["garden0"], visitor=gardener_id)
    refresh_visitor_recommendations(gardener_id)

    mine = fragment(gardener, home, block_id).content.decode()
    theirs = fragment(stranger, home, block_id).content.decode()

    assert 'data-strategy="personalised"' in mine and "Because you viewed Garden thing 0" in mine
    assert "Because you viewed" not in theirs
    assert len(cache.keys("blocks:personal:*")) == 2  # one cached fragment per shopper


def test_unknown_blocks_and_shared_blocks_have_no_fragment(trained, publish):
    home, (personal_id, shared_id) = publish(PERSONALISED, ("recommendations", {
        "title": "Trending", "strategy": "trending", "count": 4, "fallback": "trending"}))
    assert fragment(Client(), home, "no-such-block").status_code == 404
    assert fragment(Client(), home, shared_id).status_code == 404
    assert Client().get(f"/fragments/999999/{personal_id}/").status_code == 404


def test_after_an_add_to_cart_a_visitor_is_served_their_refreshed_row_at_once(shop, publish,
                                                                               django_capture_on_commit_callbacks):
    products, _ = shop
    for i in range(5):
        embedding(products[f"coffee{i}"], (0, 1.0), (10 + i, 0.2))
        embedding(products[f"garden{i}"], (1, 1.0), (10 + i, 0.2))
    home, (block_id,) = publish(PERSONALISED)
    # given a visitor whose row, made from a garden view, was served (and cached) a moment ago
    client = Client()
    client.get("/")
    visitor = uuid.UUID(client.cookies[VISITOR_COOKIE].value.split(":")[0])
    stored_event("view", products["garden0"], visitor=visitor)
    refresh_visitor_recommendations(visitor)
    before = fragment(client, home, block_id).content.decode()
    # when they add a coffee product to their cart, and the worker runs the refresh that queued
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/cart/add/", {"product": products["coffee0"].pk, "quantity": 1})
    [queued] = [message for message in queued_tasks("realtime")
                if message["task"] == tasks.refresh_visitor_recommendations.name]
    tasks.refresh_visitor_recommendations(*queued["args"])
    after = fragment(client, home, block_id).content.decode()
    # then their next fetch shows the new row, without the product now in their cart
    assert "Because you viewed Garden thing 0" in before
    assert "Because you viewed Coffee thing 0" in after
    assert f'data-product-id="{products["coffee0"].pk}"' not in after


def test_a_saved_recommendation_rule_changes_the_cached_fragment_at_the_next_fetch(
        trained, publish, django_capture_on_commit_callbacks):
    # given a customer's cached personalised row
    products, customers = trained
    home, (block_id,) = publish(PERSONALISED)
    client = Client()
    client.force_login(customers["newcomer"].user)
    before = fragment(client, home, block_id).content.decode()

    # when a rule pins a garden product first on personalised carousels
    with django_capture_on_commit_callbacks(execute=True):
        RecommendationRuleFactory(placements=["personalised"], pin_product=products["garden3"], pin_position=1)
    after = fragment(client, home, block_id).content.decode()

    # then
    ids = re.findall(r'data-product-id="(\d+)"', after)
    assert f'data-product-id="{products["garden3"].pk}"' not in before
    assert ids[0] == str(products["garden3"].pk) and len(ids) == 4


def test_a_rule_leaving_out_the_cart_makes_a_similar_carousel_each_shoppers_own(
        trained, publish, django_capture_on_commit_callbacks):
    # given a "similar to coffee 1" carousel, shared by everyone so far
    products, customers = trained
    similar = ("recommendations", {"title": "Like coffee 1", "strategy": "similar", "count": 4,
                                   "product": products["coffee1"].pk, "fallback": "trending"})
    home, (block_id,) = publish(similar)
    assert fragment(Client(), home, block_id).status_code == 404  # shared: no fragment of its own
    # when a rule leaves the shopper's cart out of similar carousels, and a shopper carts the first product
    with django_capture_on_commit_callbacks(execute=True):
        RecommendationRuleFactory(placements=["similar"], exclude_in_cart=True)
    client = Client()
    client.force_login(customers["newcomer"].user)
    first = re.findall(r'data-product-id="(\d+)"', fragment(client, home, block_id).content.decode())[0]
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/cart/add/", {"product": first, "quantity": 1})
    # then the page points to the shopper's own row, which leaves the carted product out
    page = client.get(home.url).content.decode()
    assert f"/fragments/{home.pk}/{block_id}/" in page
    mine = re.findall(r'data-product-id="(\d+)"', fragment(client, home, block_id).content.decode())
    others = re.findall(r'data-product-id="(\d+)"', fragment(Client(), home, block_id).content.decode())
    assert others[0] == first and mine == others[1:]
