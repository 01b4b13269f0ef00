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


ITEM_ONLY = {"als_share": 0.0, "item_item_share": 1.0, "popularity_share": 0.0}


@pytest.mark.parametrize("served", [
    {**ITEM_ONLY, "item_model": "ease", "ease_lambda": 10.0},
    {**ITEM_ONLY, "item_model": "bm25"},
    {"als_share": 1.0, "item_item_share": 0.0, "popularity_share": 0.0},
], ids=["ease", "bm25", "als"])
def test_whatever_model_won_a_new_cart_is_folded_into_a_fresh_list(shop, settings, served):
    products, customers = shop
    # given a served model of the kind, and a customer it has never seen with two garden products in their cart
    settings.VITRINE_RECOMMENDATIONS = {**settings.VITRINE_RECOMMENDATIONS, "select_model": False, **served}
    train_recommendations()
    gardener_to_be = CustomerFactory()
    for name in ("garden1", "garden2"):
        add_to_cart(Shopper(gardener_to_be, uuid.uuid4()), products[name])
    # when their list is refreshed
    listed_now = refresh.refresh_customer_recommendations(gardener_to_be.pk)
    # then the rest of the garden comes first, each because of a product in their cart
    assert set(listed_now[:3]) == {products[f"garden{i}"].pk for i in (0, 3, 4)}
    because = CustomerRecommendations.objects.get(customer=gardener_to_be).because
    assert set(because[:3]) <= {products["garden1"].pk, products["garden2"].pk}


def test_a_popularity_model_refreshes_to_the_best_sellers_still_on_sale(shop, settings):
    products, customers = shop
    # given popularity as the served model
    settings.VITRINE_RECOMMENDATIONS = {**settings.VITRINE_RECOMMENDATIONS, "select_model": False,
                                        "als_share": 0.0, "item_item_share": 0.0, "popularity_share": 1.0}
    train_recommendations()
    shopper = CustomerFactory()
    add_to_cart(Shopper(shopper, uuid.uuid4()), products["garden1"])
    # when their list is refreshed
    listed_now = refresh.refresh_customer_recommendations(shopper.pk)
    # then the two products most customers chose lead (the sold-out and retired ones, chosen as often, never)
    assert set(listed_now[:2]) == {products["coffee0"].pk, products["coffee1"].pk}
    assert products["garden1"].pk not in listed_now
    assert products["sold_out"].pk not in listed_now and products["retired"].pk not in listed_now


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


def test_each_refresh_of_a_customers_list_gives_it_a_new_version(shop):
    products, _ = shop
    train_recommendations()
    customer = CustomerFactory()
    add_to_cart(Shopper(customer, uuid.uuid4()), products["garden1"])
    before = serving.shopper_list_version(customer.pk, None)

    refresh.refresh_customer_recommendations(customer.pk)
    first = serving.shopper_list_version(customer.pk, None)
    refresh.refresh_customer_recommendations(customer.pk)

    assert len({before, first, serving.shopper_list_version(customer.pk, None)}) == 3


def test_a_visitors_add_to_cart_folds_the_cart_into_their_list_and_gives_it_a_new_version(shop):
    products, _ = shop
    for i in range(5):
        embedding(products[f"coffee{i}"], (0, 1.0), (10 + i, 0.2))
        embedding(products[f"garden{i}"], (1, 1.0), (10 + i, 0.2))
    # given a visitor whose list was made from a coffee view
    visitor = uuid.uuid4()
    stored_event("view", products["coffee0"], visitor=visitor)
    refresh.refresh_visitor_recommendations(visitor, limit=4)
    before = serving.shopper_list_version(None, visitor)
    # when they put two garden products in their cart (no view of them stored yet)
    for name in ("garden0", "garden1"):
        add_to_cart(Shopper(None, visitor), products[name])
    listed_now = refresh.refresh_visitor_recommendations(visitor, limit=4)

    # then the list leads with the garden neighbours of the newest line, leaves the cart out, and is new
    assert set(listed_now[:3]) == {products[f"garden{i}"].pk for i in (2, 3, 4)}
    assert not {products["garden0"].pk, products["garden1"].pk, products["coffee0"].pk} & set(listed_now)
    served = serving.recommend("home", visitor_id=visitor, limit=1)
    assert served[0].reason == "Because you viewed Garden thing 1"
    assert serving.shopper_list_version(None, visitor) != before


def test_a_signed_in_shoppers_session_list_folds_in_their_own_cart(shop):
    # given a customer with nothing of their own in a model, who puts a garden product in their cart
    products, _ = shop
    for i in range(5):
        embedding(products[f"garden{i}"], (1, 1.0), (10 + i, 0.2))
    customer, visitor = CustomerFactory(), uuid.uuid4()
    add_to_cart(Shopper(customer, visitor), products["garden0"])

    # when their session list is refreshed
    listed = refresh.refresh_visitor_recommendations(visitor, limit=4, customer_id=customer.pk)

    # then it is made of the customer's cart
    assert set(listed) == {products[f"garden{i}"].pk for i in (1, 2, 3, 4)}
