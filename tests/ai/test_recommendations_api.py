import pytest
from django.test import Client

from ai.recommendations.models import CustomerRecommendations
from ai.recommendations.training import train_recommendations
from commerce.catalogue.models import Product
from commerce.customers.services import customer_for
from commerce.orders.services import Shopper, add_to_cart
from tests.factories import ProductFactory, RecommendationRuleFactory, UserFactory, placed_order

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


def test_strategy_surfaces_serve_their_carousels_and_fill_with_popular_products(shop):
    # given: coffee0 is bought with garden4, and a signed-in shopper buys coffee1 every week
    products, _ = shop
    for _ in range(3):
        placed_order(products["coffee0"], products["garden4"])
    train_recommendations()
    user = UserFactory()
    for days_ago in (21, 14, 7):
        placed_order(products["coffee1"], customer=customer_for(user), days_ago=days_ago)
    client = Client()
    client.force_login(user)

    # when
    def served(surface, **params):
        body = client.get("/api/v1/recommendations", {"surface": surface, "limit": 4, **params}).json()
        assert body["surface"] == surface and len(body["results"]) == 4
        return body["results"]

    together = served("bought_together", product=products["coffee0"].pk)
    similar = served("similar", product=products["coffee2"].pk)
    again = served("buy_again")
    trending = served("trending")

    # then
    assert (together[0]["id"], together[0]["strategy"]) == (products["garden4"].pk, "bought_together")
    assert {r["strategy"] for r in similar} == {"similar"}
    assert (again[0]["id"], again[0]["reason"]) == (products["coffee1"].pk, "You buy this about every 7 days")
    assert {r["strategy"] for r in again[1:]} == {"popular"}
    assert trending[0]["strategy"] == "trending"


@pytest.mark.parametrize(("params", "reason"), [
    ({}, "surface is required"),
    ({"surface": "checkout"}, "surface must be one of: home, product, cart, similar, bought_together, trending, "
                              "buy_again, because_viewed."),
    ({"surface": "product"}, "The product surface needs a product id."),
    ({"surface": "bought_together"}, "The bought_together surface needs a product id."),
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


def test_a_saved_rule_changes_the_next_response_and_a_deleted_one_stops(shop, django_capture_on_commit_callbacks):
    # given a response before any rule
    before = [r["id"] for r in Client().get("/api/v1/recommendations", {"surface": "home", "limit": 4})
              .json()["results"]]

    # when a rule hides the first product and pins one no list has, then is deleted
    gift_card = ProductFactory(title="Gift card")
    with django_capture_on_commit_callbacks(execute=True):
        rule = RecommendationRuleFactory(name="Gift cards", hidden_products=[Product.objects.get(pk=before[0])],
                                         pin_product=gift_card, pin_position=1)
    during = Client().get("/api/v1/recommendations", {"surface": "home", "limit": 4}).json()["results"]
    with django_capture_on_commit_callbacks(execute=True):
        rule.delete()
    after = [r["id"] for r in Client().get("/api/v1/recommendations", {"surface": "home", "limit": 4})
             .json()["results"]]

    # then
    assert (during[0]["id"], during[0]["strategy"], during[0]["reason"]) == (gift_card.pk, "pinned", "Featured")
    assert before[0] not in [r["id"] for r in during] and len(during) == 4
    assert after == before


def test_recommendations_priced_for_this_shopper_come_with_the_disclosure(shop, settings):
    assert Client().get("/api/v1/recommendations", {"surface": "home"}).json()["price_disclosure"] is None
    settings.VITRINE_SHOPPER_EXPERIMENTS = "tests.base_price_shoppers"
    body = Client().get("/api/v1/recommendations", {"surface": "home"}).json()
    assert body["price_disclosure"] == settings.VITRINE_PERSONALISED_PRICE_DISCLOSURE
    assert body["results"]
