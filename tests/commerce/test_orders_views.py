"""Checkout with saved addresses and the country select."""

import re

import pytest
from django.test import override_settings

from commerce.customers.models import Address
from commerce.orders.models import Order
from tests.factories import AddressFactory, CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db

ADDRESS = {"full_name": "Sam Shopper", "line1": "1 High Street", "line2": "", "city": "Bristol",
           "postcode": "BS1 1AA", "country": "GB"}


def fill_cart(client):
    client.post("/cart/add/", {"product": ProductFactory().pk, "quantity": 1})


def signed_in(client):
    customer = CustomerFactory()
    client.force_login(customer.user)
    return customer


def checkout(client, **fields):
    fill_cart(client)
    return client.post("/checkout/", {"email": "sam@example.com", **fields})


def test_a_signed_in_customers_address_is_saved_to_their_account(client):
    customer = signed_in(client)

    response = checkout(client, **ADDRESS)

    order = Order.objects.get()
    assert response.status_code == 302 and order.customer == customer
    saved = customer.addresses.get()
    assert (saved.line1, saved.postcode, saved.country.code, saved.is_default) == ("1 High Street", "BS1 1AA",
                                                                                   "GB", True)


def test_checking_out_twice_with_the_same_address_keeps_one_saved_row(client):
    customer = signed_in(client)
    checkout(client, **ADDRESS)

    checkout(client, saved_address="new", **{**ADDRESS, "line1": "1 high street"})

    assert Order.objects.count() == 2
    assert customer.addresses.count() == 1


def test_the_next_checkout_starts_from_the_default_address(client):
    customer = signed_in(client)
    AddressFactory(customer=customer, line1="3 Old Road", is_default=False)
    default = AddressFactory(customer=customer, line1="7 Quay Street", is_default=True)
    fill_cart(client)

    content = client.get("/checkout/").content.decode()

    checked = re.search(r'<input type="radio" name="saved_address" value="(\w+)"[^>]*checked', content)
    assert checked and checked.group(1) == str(default.pk)
    assert "7 Quay Street" in content and "3 Old Road" in content and 'value="new"' in content
    assert f'value="{customer.email}"' in content


def test_choosing_a_saved_address_places_the_order_with_it(client):
    customer = signed_in(client)
    AddressFactory(customer=customer, is_default=True)
    chosen = AddressFactory(customer=customer, line1="7 Quay Street", postcode="BS1 4DJ", country="IE",
                            is_default=False)

    response = checkout(client, saved_address=chosen.pk)  # the new-address fields left empty

    order = Order.objects.get()
    assert response.status_code == 302
    assert (order.line1, order.postcode, order.country.code) == ("7 Quay Street", "BS1 4DJ", "IE")
    chosen.refresh_from_db()
    assert chosen.is_default and customer.addresses.count() == 2


def test_a_new_address_needs_its_fields_even_when_addresses_are_saved(client):
    customer = signed_in(client)
    AddressFactory(customer=customer)

    response = checkout(client, saved_address="new", country="GB")

    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"full_name", "line1", "city", "postcode"}
    assert not Order.objects.exists()


def test_another_customers_address_cannot_be_chosen(client):
    AddressFactory(customer=signed_in(client))
    theirs = AddressFactory(customer=CustomerFactory())

    response = checkout(client, saved_address=theirs.pk, **ADDRESS)

    assert response.status_code == 200 and "saved_address" in response.context["form"].errors
    assert not Order.objects.exists()


def test_an_unknown_country_is_refused_with_the_reason_tied_to_the_select(client):
    response = checkout(client, **{**ADDRESS, "country": "XX"})

    assert response.status_code == 200
    content = response.content.decode()
    assert "“XX” is not a country code we know. Choose a country from the list." in content
    select = re.search(r"<select[^>]*>", content).group(0)
    assert 'aria-invalid="true"' in select and 'aria-describedby="id_country_error"' in select
    assert 'id="id_country_error"' in content
    assert not Order.objects.exists()


@override_settings(VITRINE_COUNTRY="IE")
def test_an_anonymous_checkout_starts_empty_in_the_shops_country_and_saves_no_address(client):
    fill_cart(client)

    content = client.get("/checkout/").content.decode()
    response = client.post("/checkout/", {"email": "guest@example.com", **ADDRESS})

    assert '<option value="IE" selected>Ireland</option>' in content
    assert 'name="saved_address"' not in content
    assert re.search(r'<input type="text" name="line1"[^>]*>', content).group(0).count("value=") == 0
    assert response.status_code == 302 and Order.objects.get().customer is None
    assert not Address.objects.exists()


def test_the_address_fields_carry_autocomplete_tokens(client):
    fill_cart(client)

    content = client.get("/checkout/").content.decode()

    for name, token in [("email", "email"), ("full_name", "shipping name"), ("line1", "shipping address-line1"),
                        ("line2", "shipping address-line2"), ("city", "shipping address-level2"),
                        ("postcode", "shipping postal-code"), ("country", "shipping country")]:
        tag = re.search(rf'<(?:input|select)[^>]*name="{name}"[^>]*>', content).group(0)
        assert f'autocomplete="{token}"' in tag, name
        assert f'<label class="field__label" for="id_{name}">' in content, name


def test_the_cart_and_checkout_disclose_a_price_set_for_this_shopper(client, settings):
    settings.VITRINE_PERSONALISED_PRICE_DISCLOSURE = "Priced for you by an algorithm."
    fill_cart(client)
    assert "Priced for you by an algorithm." not in client.get("/cart/").content.decode()

    settings.VITRINE_SHOPPER_EXPERIMENTS = "tests.base_price_shoppers"

    assert "Priced for you by an algorithm." in client.get("/cart/").content.decode()
    assert "Priced for you by an algorithm." in client.get("/checkout/").content.decode()


def test_the_order_pages_disclose_the_prices_of_an_order_charged_on_a_price_set_for_the_shopper(client, settings):
    settings.VITRINE_PERSONALISED_PRICE_DISCLOSURE = "Priced for you by an algorithm."
    everyones_prices = settings.VITRINE_SHOPPER_EXPERIMENTS
    settings.VITRINE_SHOPPER_EXPERIMENTS = "tests.base_price_shoppers"
    signed_in(client)
    placed = checkout(client, **ADDRESS)
    settings.VITRINE_SHOPPER_EXPERIMENTS = everyones_prices  # the order keeps the list it was charged from

    pages = [client.get(url).content.decode() for url in (placed["Location"], Order.objects.get().get_absolute_url(),
                                                           "/account/")]

    assert all("Priced for you by an algorithm." in page for page in pages)


def test_the_order_pages_of_an_order_at_the_price_everyone_pays_carry_no_disclosure(client, settings):
    settings.VITRINE_PERSONALISED_PRICE_DISCLOSURE = "Priced for you by an algorithm."
    signed_in(client)
    placed = checkout(client, **ADDRESS)
    settings.VITRINE_SHOPPER_EXPERIMENTS = "tests.base_price_shoppers"  # today's list is not the order's

    pages = [client.get(url).content.decode() for url in (placed["Location"], Order.objects.get().get_absolute_url(),
                                                           "/account/")]

    assert all(Order.objects.get().number in page for page in pages)  # the pages that show its prices
    assert not any("Priced for you by an algorithm." in page for page in pages)
