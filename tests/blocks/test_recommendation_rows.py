"""The product page's and the cart's recommendation rows (``blocks.templatetags.recommendation_rows``)."""

import re

import pytest
from django.core.cache import cache
from django.test import Client

from ai.recommendations.training import train_recommendations
from commerce.catalogue.models import Product
from commerce.orders.models import CartLine
from commerce.orders.services import Shopper, add_to_cart
from tests.factories import ProductFactory, RecommendationRuleFactory, placed_order

pytestmark = pytest.mark.django_db


def row(html: str, title: str) -> list[str]:
    """The product ids listed in the page's row headed ``title`` (none when it has no such row)."""
    found = re.search(rf'<section [^>]*aria-label="{title}">\s*<h2[^>]*>{title}</h2>\s*<ul class="carousel" '
                      rf'role="list">(.*?)</ul>', html, re.S)
    return re.findall(r'<li class="carousel__item" data-product-id="(\d+)"', found.group(1)) if found else []


@pytest.fixture
def complementary_shop(shop):
    """The shop with coffee0 bought with garden4 in three orders (coffee and garden go together), trained."""
    products, customers = shop
    for _ in range(3):
        placed_order(products["coffee0"], products["garden4"])
    train_recommendations()
    return products, customers


def test_the_product_page_shows_similar_and_bought_together_rows(complementary_shop):
    # given
    products, _ = complementary_shop

    # when
    html = Client().get(products["coffee3"].get_absolute_url()).content.decode()

    # then: similar coffee first; coffee3 is bought with nothing in particular, so garden complements it
    similar, together = row(html, "Similar products"), row(html, "Bought together")
    coffee = {str(products[f"coffee{i}"].pk) for i in range(5)}
    garden = {str(products[f"garden{i}"].pk) for i in range(5)}
    assert len(similar) >= 4 and set(similar[:3]) <= coffee and str(products["coffee3"].pk) not in similar
    assert len(together) >= 4 and set(together[:4]) <= garden
    assert "Goes well with Coffee thing 3" in html


def test_the_rows_html_is_cached_for_the_next_shopper(complementary_shop):
    # given
    products, _ = complementary_shop
    Client().get(products["coffee3"].get_absolute_url())
    (key,) = cache.keys(f"blocks:rows:product:{products['coffee3'].pk}:*")

    # when
    cache.set(key, '<p id="cached-rows"></p>')
    html = Client().get(products["coffee3"].get_absolute_url()).content.decode()

    # then
    assert '<p id="cached-rows"></p>' in html


def test_a_saved_rule_changes_the_rows_at_the_next_page_view(complementary_shop, django_capture_on_commit_callbacks):
    # given a product page whose rows are cached
    products, _ = complementary_shop
    url = products["coffee3"].get_absolute_url()
    hidden = row(Client().get(url).content.decode(), "Similar products")[0]

    # when a merchandiser hides the first similar product
    with django_capture_on_commit_callbacks(execute=True):
        RecommendationRuleFactory(placements=["product"], hidden_products=[Product.objects.get(pk=hidden)])
    html = Client().get(url).content.decode()

    # then
    assert row(html, "Similar products") and hidden not in row(html, "Similar products")


def test_the_cart_shows_what_goes_well_with_it_never_what_is_in_it(complementary_shop, shopper_client):
    # given
    products, _ = complementary_shop
    shopper_client.post("/cart/add/", {"product": products["coffee0"].pk, "quantity": 1})

    # when
    html = shopper_client.get("/cart/").content.decode()

    # then
    goes_well = row(html, "Goes well with your cart")
    assert len(goes_well) >= 4 and goes_well[0] == str(products["garden4"].pk)
    assert str(products["coffee0"].pk) not in goes_well


def test_an_empty_cart_and_a_product_nobody_knows_show_no_empty_rows():
    # given: no model, no events, no orders, one product
    lonely = ProductFactory()

    # when
    product_page = Client().get(lonely.get_absolute_url()).content.decode()
    cart = Client().get("/cart/").content.decode()

    # then
    assert row(product_page, "Similar products") == [] and 'aria-label="Similar products"' not in product_page
    assert "Goes well with your cart" not in cart


def test_a_signed_in_shoppers_cart_rows_follow_their_cart(complementary_shop):
    # given
    products, customers = complementary_shop
    customer = customers["garden1"]
    add_to_cart(Shopper(customer, None), products["coffee0"])
    client = Client()
    client.force_login(customer.user)

    # when
    first = row(client.get("/cart/").content.decode(), "Goes well with your cart")
    add_to_cart(Shopper(customer, None), products["garden4"])
    second = row(client.get("/cart/").content.decode(), "Goes well with your cart")

    # then
    assert first[0] == str(products["garden4"].pk) and str(products["garden4"].pk) not in second


def test_a_rule_leaving_out_the_cart_filters_each_shoppers_product_rows_by_their_own_cart(
        complementary_shop, django_capture_on_commit_callbacks):
    # given a rule leaving the shopper's cart out of product pages, and two shoppers on the same product page
    products, _ = complementary_shop
    with django_capture_on_commit_callbacks(execute=True):
        RecommendationRuleFactory(placements=["product", "bought_together"], exclude_in_cart=True)
    url = products["coffee3"].get_absolute_url()
    carted, other = Client(), Client()
    for client in (carted, other):
        client.get(url)  # each gets their visitor id
    first = row(carted.get(url).content.decode(), "Similar products")[0]
    companion = row(carted.get(url).content.decode(), "Bought together")[0]

    # when one of them puts the first similar product and the first companion in their cart
    for product_id in (first, companion):
        with django_capture_on_commit_callbacks(execute=True):
            carted.post("/cart/add/", {"product": product_id, "quantity": 1})
    carted_html, other_html = carted.get(url).content.decode(), other.get(url).content.decode()

    # then their rows leave both out at once, and the other shopper's rows still show them
    assert first not in row(carted_html, "Similar products") and len(row(carted_html, "Similar products")) >= 4
    assert companion not in row(carted_html, "Bought together")
    assert row(other_html, "Similar products")[0] == first and row(other_html, "Bought together")[0] == companion

    # and once the product leaves their cart, it is back in their row
    line = CartLine.objects.get(product_id=first)
    with django_capture_on_commit_callbacks(execute=True):
        carted.post(f"/cart/lines/{line.pk}/", {"quantity": 0})
    assert first in row(carted.get(url).content.decode(), "Similar products")


def test_without_shopper_rules_product_rows_stay_shared(complementary_shop, django_capture_on_commit_callbacks):
    # given a live rule that does not depend on the shopper
    products, _ = complementary_shop
    with django_capture_on_commit_callbacks(execute=True):
        RecommendationRuleFactory(placements=["product"], exclude_zero_price=True)
    # when two shoppers view the page
    for _ in range(2):
        Client().get(products["coffee3"].get_absolute_url())
    # then one copy of the rows is kept for both
    assert len(cache.keys(f"blocks:rows:product:{products['coffee3'].pk}:*")) == 1
