import pytest
from django.core.cache import cache
from django.utils import timezone

from ai.recommendations import serving, training
from ai.recommendations.config import RecommenderSettings
from ai.recommendations.models import (
    CustomerRecommendations,
    ProductRecommendations,
    RecommendationEmbedding,
    RecommendationModel,
)
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


def test_training_precomputes_filtered_lists_and_publishes_them(shop):
    products, customers = shop

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
    assert lists.bought_together_ids == [products["garden4"].pk] and lists.bought_together_scores == [3.0]
    cart = serving.recommend("cart", cart_product_ids=[products["coffee0"].pk], limit=2)
    assert cart[0].product == products["garden4"] and cart[0].reason == "Often bought with Coffee thing 0"
