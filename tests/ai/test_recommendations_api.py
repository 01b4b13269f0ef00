import pytest
from django.test import Client

from ai.recommendations.models import CustomerRecommendations
from ai.recommendations.training import train_recommendations
from commerce.customers.services import customer_for
from commerce.orders.services import Shopper, add_to_cart
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_home_surface_returns_ranked_products_with_reasons(shop):
    products, _ = shop
    body = Client().get("/api/v1/recommendations", {"surface": "home", "limit": 3}).json()
    assert body["surface"] == "home" and len(body["results"]) == 3
    first = body["results"][0]
    assert set(first) == {"id", "title", "url", "price", "currency", "score", "reason", "strategy"}
    assert first["strategy"] == "popular" and first["reason"] == "Popular right now"


def test_logged_in_customer_gets_their_precomputed_list(shop):
    products, customers = shop
    train_recommendations()
    client = Client()
    client.force_login(customers["newcomer"].user)
    body = client.get("/api/v1/recommendations", {"surface": "home", "limit": 4}).json()
    assert [r["strategy"] for r in body["results"]] == ["personalised"] * 4
    stored = CustomerRecommendations.objects.get(customer=customers["newcomer"]).product_ids
    assert [r["id"] for r in body["results"]] == list(stored[:4])


def test_product_surface_shows_similar_products_never_the_product_itself(shop):
    products, _ = shop
    train_recommendations()
    body = Client().get("/api/v1/recommendations", {"surface": "product", "product": products["coffee2"].pk}).json()
    ids = [r["id"] for r in body["results"]]
    assert ids and products["coffee2"].pk not in ids
    assert body["results"][0]["reason"] == "Similar to Coffee thing 2"


def test_cart_surface_leaves_out_what_is_already_in_the_cart(shop):
    products, _ = shop
    user = UserFactory()
    client = Client()
    client.force_login(user)
    add_to_cart(Shopper(customer_for(user), None), products["coffee1"])
    ids = [r["id"] for r in client.get("/api/v1/recommendations", {"surface": "cart"}).json()["results"]]
    assert ids and products["coffee1"].pk not in ids


@pytest.mark.parametrize(("params", "reason"), [
    ({}, "surface is required"),
    ({"surface": "checkout"}, "surface must be one of: home, product, cart."),
    ({"surface": "product"}, "The product surface needs a product id."),
    ({"surface": "home", "limit": "0"}, "greater than or equal to 1"),
    ({"surface": "home", "limit": "51"}, "less than or equal to 50"),
    ({"surface": "product", "product": "abc"}, "valid integer"),
])
def test_bad_parameters_get_a_400_with_the_reason(params, reason):
    response = Client().get("/api/v1/recommendations", params)
    assert response.status_code == 400
    assert reason in str(response.json())


def test_unknown_or_inactive_product_is_a_404():
    retired = ProductFactory(active=False)
    for product_id in (999999, retired.pk):
        response = Client().get("/api/v1/recommendations", {"surface": "product", "product": product_id})
        assert response.status_code == 404
        assert "No product" in response.json()["detail"]


def test_schema_documents_the_endpoint():
    schema = Client().get("/api/v1/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "/api/v1/recommendations" in schema and "surface" in schema
