import gc

import numpy as np
import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from ai.recommendations import engine, serving, training
from ai.recommendations.config import RecommenderSettings
from ai.recommendations.models import (
    CustomerRecommendations,
    ProductRecommendations,
    RecommendationEmbedding,
    RecommendationModel,
)
from commerce.catalogue.models import Product
from commerce.orders.models import LineItem, Order
from tests.factories import CustomerFactory, ProductFactory, stored_event

pytestmark = pytest.mark.django_db


def listed(customer) -> list[int]:
    return list(CustomerRecommendations.objects.get(customer=customer).product_ids)


def test_interactions_weight_events_net_out_returns_and_respect_the_window(small_recommender):
    product, other = ProductFactory(), ProductFactory()
    customer = CustomerFactory()
    stored_event("view", product, customer=customer)
    stored_event("add_to_cart", product, customer=customer)
    stored_event("purchase", other, customer=customer)
    stored_event("return", other, customer=customer)
    stored_event("purchase", other, customer=customer, hours_ago=24 * 100)  # outside the 90-day window
    settings = RecommenderSettings.from_settings()

    interactions = training.load_interactions(settings, timezone.now())

    matrix = interactions.matrix.toarray()
    column = {int(pid): i for i, pid in enumerate(interactions.product_ids)}
    assert matrix[0, column[product.pk]] == settings.event_weights["view"] + settings.event_weights["add_to_cart"]
    assert matrix[0, column[other.pk]] == 0  # bought and returned: nothing left
    assert interactions.purchased.toarray()[0, column[other.pk]] == 1


def test_binary_list_rows_store_each_customers_first_products_scores_and_explanations():
    # given a batch of two customers' lists, padded to three, one explanation missing
    first, second = CustomerFactory(), CustomerFactory()
    model = RecommendationModel.objects.create(version="binary", trained_at=timezone.now(), settings={}, customers=2,
                                               products=3, interactions=3)
    computed_at = timezone.now()
    scores = np.array([[0.1, 0.2, 0.3], [0.7, -1.0, -1.0]], dtype=np.float32).round(5)
    table = CustomerRecommendations._meta.db_table
    rows = training._binary_list_rows(model.pk, computed_at, np.array([first.pk, second.pk]),
                                      np.array([[11, 12, 13], [21, 0, 0]]), scores,
                                      np.array([[5, -1, 6], [7, -1, -1]]), np.array([3, 1]))
    # when copied in
    with connection.cursor() as cursor, cursor.copy(
            f"COPY {table} (customer_id, model_id, product_ids, scores, because, computed_at) FROM STDIN "
            "(FORMAT BINARY)") as copy:
        copy.write(training.COPY_SIGNATURE + rows + training.COPY_TRAILER)
    # then each customer has its own part of the batch, a missing explanation as NULL
    stored = CustomerRecommendations.objects.get(customer=first)
    assert (stored.product_ids, stored.scores, stored.because) == ([11, 12, 13], scores[0].tolist(), [5, None, 6])
    assert stored.model_id == model.pk and stored.computed_at == computed_at
    stored = CustomerRecommendations.objects.get(customer=second)
    assert (stored.product_ids, stored.scores, stored.because) == ([21], scores[1, :1].tolist(), [7])


def test_binary_factor_rows_store_each_objects_vector():
    # given two customers' factors built as binary COPY rows
    model = RecommendationModel.objects.create(version="factors", trained_at=timezone.now(), settings={}, customers=2,
                                               products=0, interactions=0)
    factors = np.array([[0.25, -1.5, 3.0], [1e-3, 0.0, -7.125]], dtype=np.float32)
    rows = training._binary_factor_rows(model.pk, "customer", np.array([41, 42]), factors)
    # when copied in
    with connection.cursor() as cursor, cursor.copy(
            f"COPY {RecommendationEmbedding._meta.db_table} (model_id, kind, object_id, factors) FROM STDIN "
            "(FORMAT BINARY)") as copy:
        copy.write(training.COPY_SIGNATURE + rows + training.COPY_TRAILER)
    # then each object has its own vector, to the float
    stored = {row.object_id: row for row in RecommendationEmbedding.objects.filter(model=model)}
    assert set(stored) == {41, 42} and {row.kind for row in stored.values()} == {"customer"}
    assert np.array_equal(np.asarray(stored[41].factors, dtype=np.float32), factors[0])
    assert np.array_equal(np.asarray(stored[42].factors, dtype=np.float32), factors[1])


def test_every_customers_list_is_published_across_batches(shop, settings, monkeypatch):
    # given batches smaller than the shop, for scoring and for Redis
    settings.VITRINE_RECOMMENDATIONS = {**settings.VITRINE_RECOMMENDATIONS, "select_model": False}
    monkeypatch.setattr(training, "PRECOMPUTE_BATCH_SIZE", 4)
    monkeypatch.setattr(training, "CACHE_WRITE_BATCH_SIZE", 3)
    # when the shop trains
    model = training.train_recommendations()
    # then Redis holds every customer's stored list, in order, explanations included
    rows = list(CustomerRecommendations.objects.filter(model=model))
    assert len(rows) == model.customers_with_recommendations == model.customers
    for row in rows:
        cached = cache.get(serving.CUSTOMER_KEY.format(row.customer_id))
        assert cached["model"] == model.version
        assert cached["items"] == list(zip(row.product_ids, row.scores, row.because, strict=True))
    listed_products = {pid for row in rows for pid in row.product_ids}
    assert model.catalogue_coverage == round(len(listed_products) / Product.objects.active().count(), 4)


def test_training_leaves_the_garbage_collector_as_it_found_it(shop, monkeypatch):
    seen = []
    fit = engine.fit
    monkeypatch.setattr(engine, "fit", lambda *args, **kwargs: seen.append(gc.isenabled()) or fit(*args, **kwargs))
    # when the shop trains with the collector on, then with it off
    training.train_recommendations()
    on_after = gc.isenabled()
    gc.disable()
    try:
        training.train_recommendations()
        off_after = gc.isenabled()
    finally:
        gc.enable()
    # then no cyclic collection runs while it trains, and each caller gets its own setting back
    assert seen == [False, False]
    assert on_after and not off_after


@pytest.mark.django_db(transaction=True)
def test_training_outside_a_transaction_writes_every_list_from_its_own_connections(shop, settings):
    products, customers = shop
    # when the shop trains with nothing uncommitted (as the beat task does): selection, whose bought-together
    # part and the COPYs run on other threads
    selected = training.train_recommendations()
    # then the surfaces' choices are recorded and every list is in
    assert set(selected.selection["surfaces"]) == {"similar", "bought_together"}
    assert CustomerRecommendations.objects.filter(model=selected).count() == selected.customers_with_recommendations
    assert ProductRecommendations.objects.filter(similar_source="factors").count() == selected.products
    # and the configured ALS blend's factors too, when it is served
    settings.VITRINE_RECOMMENDATIONS = {**settings.VITRINE_RECOMMENDATIONS, "select_model": False}
    model = training.train_recommendations()
    assert RecommendationEmbedding.objects.filter(model=model, kind="customer").count() == model.customers
    assert RecommendationEmbedding.objects.filter(model=model, kind="product").count() == model.products
    assert CustomerRecommendations.objects.filter(model=model).count() == model.customers_with_recommendations
    assert set(listed(customers["newcomer"])[:4]) == {products[f"coffee{i}"].pk for i in range(1, 5)}


def test_training_precomputes_filtered_lists_and_publishes_them(shop, settings):
    products, customers = shop
    # given the configured ALS blend, no selection
    settings.VITRINE_RECOMMENDATIONS = {**settings.VITRINE_RECOMMENDATIONS, "select_model": False}

    model = training.train_recommendations()

    assert model.is_current and model.customers == len(customers)
    newcomer = listed(customers["newcomer"])
    assert products["coffee0"].pk not in newcomer  # already bought
    assert products["sold_out"].pk not in newcomer and products["retired"].pk not in newcomer
    coffee = {products[f"coffee{i}"].pk for i in range(1, 5)}
    assert set(newcomer[:4]) == coffee  # the coffee the newcomer has not bought comes first
    cached = cache.get(serving.CUSTOMER_KEY.format(customers["newcomer"].pk))
    assert cached["model"] == model.version and [item[0] for item in cached["items"]] == newcomer
    assert RecommendationEmbedding.objects.filter(model=model, kind="product").count() == model.products
    assert RecommendationEmbedding.objects.filter(model=model, kind="customer").count() == model.customers
    similar = ProductRecommendations.objects.get(product=products["coffee1"])
    closest = similar.similar_ids[:3]
    assert similar.similar_source == "factors"
    assert len(closest) == 3 and set(closest) <= coffee | {products["coffee0"].pk}


def test_retraining_replaces_the_previous_model_and_its_factors(shop):
    first = training.train_recommendations()

    second = training.train_recommendations()

    assert list(RecommendationModel.objects.values_list("pk", flat=True)) == [second.pk]
    assert not RecommendationEmbedding.objects.filter(model_id=first.pk).exists()
    assert serving.current_model().version == second.version


def test_no_history_trains_nothing():
    assert training.train_recommendations() is None
    assert serving.current_model() is None


def test_bought_together_comes_from_shared_orders(shop):
    products, customers = shop
    for n in range(3):
        order = Order.objects.create(customer=customers[f"coffee{n}"], email="a@example.com", full_name="A",
                                     line1="1 High St", city="Bath", postcode="BA1", currency="GBP", total=10)
        for name in ("coffee0", "garden4"):
            LineItem.objects.create(order=order, product=products[name], title=name, quantity=1, unit_price=5)

    training.train_recommendations()

    lists = ProductRecommendations.objects.get(product=products["coffee0"])
    assert lists.bought_together_ids == [products["garden4"].pk] and lists.bought_together_scores == [1.0]
    cart = serving.recommend("cart", cart_product_ids=[products["coffee0"].pk], limit=2)
    assert cart[0].product == products["garden4"] and cart[0].reason == "Often bought with Coffee thing 0"


def test_training_selects_on_the_shops_own_events_serves_the_winner_and_records_the_choice(shop):
    # when the shop trains with selection on
    model = training.train_recommendations()
    # then the choice is recorded: every candidate's validation figures, the winner, its lift, the time
    chosen = model.selection
    winner = chosen["candidates"][chosen["winner"]]
    assert winner["ndcg@20"] >= chosen["candidates"]["popularity"]["ndcg@20"]
    assert winner["ndcg@20"] == max(figures["ndcg@20"] for figures in chosen["candidates"].values())
    assert chosen["lift_over_popularity"] == pytest.approx(
        winner["ndcg@20"] / chosen["candidates"]["popularity"]["ndcg@20"] - 1, abs=1e-3)
    assert chosen["seconds"] > 0 and chosen["validation_customers"] > 0
    # and the model is the winner's: its settings are what was chosen, its lists are published
    assert {field: model.settings[field] for field in chosen["settings"]} == chosen["settings"]
    products, customers = shop
    newcomer = listed(customers["newcomer"])
    assert set(newcomer[:4]) == {products[f"coffee{i}"].pk for i in range(1, 5)}


def test_a_winner_without_factors_stores_none_and_still_lists_similar_products(shop, settings):
    products, customers = shop
    # given EASE alone as the served model
    settings.VITRINE_RECOMMENDATIONS = {**settings.VITRINE_RECOMMENDATIONS, "select_model": False,
                                        "als_share": 0.0, "item_item_share": 1.0, "popularity_share": 0.0,
                                        "item_model": "ease", "ease_lambda": 10.0}
    # when the shop trains
    model = training.train_recommendations()
    # then no factors are stored, yet every list is there: the newcomer's, with reasons, and similar products
    assert not RecommendationEmbedding.objects.filter(model=model).exists()
    coffee = {products[f"coffee{i}"].pk for i in range(1, 5)}
    assert set(listed(customers["newcomer"])[:4]) == coffee
    because = CustomerRecommendations.objects.get(customer=customers["newcomer"]).because
    assert set(because[:4]) <= {products["coffee0"].pk, products["coffee1"].pk, None} and any(because[:4])
    similar = ProductRecommendations.objects.get(product=products["coffee1"]).similar_ids
    assert similar and set(similar[:3]) <= coffee | {products["coffee0"].pk}


def test_with_too_little_history_to_validate_the_configured_model_is_trained(small_recommender):
    # given customers with two events each: nothing to hold out
    for _ in range(3):
        customer = CustomerFactory()
        for product in (ProductFactory(), ProductFactory()):
            stored_event("purchase", product, customer=customer)
    # when the shop trains
    model = training.train_recommendations()
    # then it says why nothing was chosen and serves the configured blend
    assert model.selection["winner"] is None and model.selection["reason"]
    assert model.settings["als_share"] == RecommenderSettings().als_share


def place(customer, products, days_ago):
    order = Order.objects.create(customer=customer, email="a@example.com", full_name="A", line1="1 High St",
                                 city="Bath", postcode="BA1", currency="GBP", total=10)
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timezone.timedelta(days=days_ago))
    for product in products:
        LineItem.objects.create(order=order, product=product, title=product.title, quantity=1, unit_price=5)


def test_training_chooses_each_product_page_surface_on_the_shops_own_data(shop, settings):
    products, customers = shop
    # a shop this small has a few dozen validation seeds: let them decide
    settings.VITRINE_RECOMMENDATIONS = {**settings.VITRINE_RECOMMENDATIONS, "surface_min_seeds": 10}
    # given ten weeks of orders in which coffee product n always comes with garden product n
    for week in range(10):
        for n in range(3):
            place(customers[f"coffee{n}"], [products[f"coffee{n}"], products[f"garden{n}"]], days_ago=7 * week + n)
    # when the shop trains
    model = training.train_recommendations()
    # then similar and bought together each record their candidates, winner and lift, as personal lists do
    surfaces = model.selection["surfaces"]
    together = surfaces["bought_together"]
    assert together["winner"] == "association strength"
    assert together["candidates"]["association strength"]["ndcg@20"] > together["candidates"]["popularity"]["ndcg@20"]
    assert together["validation_seeds"] > 0 and together["lift_over_popularity"] > 0
    similar = surfaces["similar"]
    assert similar["winner"] in ("co-behaviour (bm25)", "co-behaviour (cosine)", "popularity")
    assert set(similar["candidates"]) == {"co-behaviour (bm25)", "co-behaviour (cosine)", "popularity"}
    # and what is served follows the choice: association strength lists the companion
    assert ProductRecommendations.objects.get(product=products["coffee0"]).bought_together_ids[0] == \
        products["garden0"].pk


def test_a_surface_that_loses_to_best_sellers_serves_its_fallback(shop):
    products, customers = shop
    for n in range(3):
        place(customers[f"coffee{n}"], [products["coffee0"], products["garden4"]], days_ago=n)
    interactions = training.load_interactions(RecommenderSettings.from_settings(), timezone.now())
    available = training._available_mask(interactions.product_ids)
    lost = {"similar": {"winner": "popularity"}, "bought_together": {"winner": "popularity"}}
    # when training writes the product lists after both surfaces lost to popularity
    training._precompute_products(interactions, available, timezone.now(), lost)
    # then no co-purchase list is kept (product pages fall back to complementary categories) and similar
    # lists come from content alone: these products have no embeddings, so they have none
    lists = ProductRecommendations.objects.get(product=products["coffee0"])
    assert lists.bought_together_ids == [] and lists.similar_ids == []
    # while the defaults keep both
    training._precompute_products(interactions, available, timezone.now(), {})
    lists = ProductRecommendations.objects.get(product=products["coffee0"])
    assert lists.bought_together_ids == [products["garden4"].pk] and lists.similar_ids
