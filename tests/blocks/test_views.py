import uuid

import pytest
from django.core.cache import cache
from django.test import Client

from ai.recommendations.models import CustomerRecommendations
from ai.recommendations.refresh import refresh_visitor_recommendations
from commerce.customers.services import VISITOR_COOKIE
from tests.factories import embedding, stored_event

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
