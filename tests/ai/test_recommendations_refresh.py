import uuid

import pytest
from django.core.cache import cache

from ai.recommendations import refresh, serving
from ai.recommendations.models import CustomerRecommendations
from ai.recommendations.training import train_recommendations
from commerce.orders.services import Shopper, add_to_cart
from tests.factories import CustomerFactory, embedding, stored_event

pytestmark = pytest.mark.django_db


def test_add_to_cart_refresh_folds_in_the_cart_and_rewrites_table_and_cache(shop):
    products, customers = shop
    train_recommendations()
    gardener_to_be = CustomerFactory()
    # given a customer the model has never seen, with two garden products in their cart
    for name in ("garden1", "garden2"):
        add_to_cart(Shopper(gardener_to_be, uuid.uuid4()), products[name])

    listed_now = refresh.refresh_customer_recommendations(gardener_to_be.pk)

    garden = {products[f"garden{i}"].pk for i in (0, 3, 4)}
    assert set(listed_now[:3]) == garden
    assert list(CustomerRecommendations.objects.get(customer=gardener_to_be).product_ids) == listed_now
    assert [item[0] for item in cache.get(serving.CUSTOMER_KEY.format(gardener_to_be.pk))["items"]] == listed_now
    first = serving.recommend("home", customer_id=gardener_to_be.pk, limit=3)
    assert first[0].strategy == "personalised"
    assert first[0].reason.startswith("Because you viewed Garden thing")


def test_refresh_without_a_model_lists_nothing(shop):
    products, customers = shop

    assert refresh.refresh_customer_recommendations(customers["newcomer"].pk) == []
    assert not CustomerRecommendations.objects.exists()


def test_visitor_list_is_nearest_by_embedding_to_what_they_viewed(shop):
    products, _ = shop
    for i in range(5):
        embedding(products[f"coffee{i}"], (0, 1.0), (10 + i, 0.2))
        embedding(products[f"garden{i}"], (1, 1.0), (10 + i, 0.2))
    visitor = uuid.uuid4()
    stored_event("view", products["garden0"], visitor=visitor)

    listed_now = refresh.refresh_visitor_recommendations(visitor, limit=4)

    assert set(listed_now) == {products[f"garden{i}"].pk for i in range(1, 5)}
    served = serving.recommend("home", visitor_id=visitor, limit=4)
    assert {r.strategy for r in served} == {"session"}
    assert served[0].reason == "Because you viewed Garden thing 0"


def test_a_visitor_who_viewed_nothing_embedded_loses_their_session_list(shop):
    products, _ = shop
    visitor = uuid.uuid4()
    key = serving.VISITOR_KEY.format(visitor)
    cache.set(key, {"model": "embedding", "items": [(products["coffee1"].pk, 1.0, None)]})
    stored_event("view", products["garden0"], visitor=visitor)  # no embedding

    assert refresh.refresh_visitor_recommendations(visitor) == []
    assert cache.get(key) is None
