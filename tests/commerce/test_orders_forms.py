import pytest

from commerce.orders.forms import NEW_ADDRESS, CheckoutForm, address_label
from tests.factories import AddressFactory

pytestmark = pytest.mark.django_db

ENTERED = {"email": "sam@example.com", "full_name": "Sam Shopper", "line1": "1 High Street", "line2": "",
           "city": "Bristol", "postcode": "BS1 1AA", "country": "GB"}


def test_without_saved_addresses_the_address_comes_from_the_fields():
    form = CheckoutForm(ENTERED)

    assert form.is_valid(), form.errors
    assert form.address() == {name: value for name, value in ENTERED.items() if name != "email"}
    assert "saved_address" not in form.fields


def test_a_saved_address_chosen_is_the_address_and_the_fields_are_ignored():
    saved = AddressFactory(line1="7 Quay Street", line2="Flat 2", country="IE")
    form = CheckoutForm({"email": "sam@example.com", "saved_address": str(saved.pk), "line1": "typed", "country": "GB"},
                        addresses=[saved])

    assert form.is_valid(), form.errors
    assert form.address() == {"full_name": saved.full_name, "line1": "7 Quay Street", "line2": "Flat 2",
                              "city": "Bristol", "postcode": "BS1 1AA", "country": "IE"}


def test_the_saved_addresses_are_offered_default_first_then_a_new_one():
    default = AddressFactory(is_default=True)
    other = AddressFactory(customer=default.customer, is_default=False)

    form = CheckoutForm(addresses=list(default.customer.addresses.all()))

    field = form.fields["saved_address"]
    assert [value for value, _ in field.choices] == [str(default.pk), str(other.pk), NEW_ADDRESS]
    assert form["saved_address"].initial == str(default.pk)
    assert not form.use_required_attribute  # the fields hidden behind a saved address must not block submitting


def test_an_address_label_reads_as_one_line_with_the_country_name():
    address = AddressFactory.build(full_name="Sam Shopper", line1="1 High Street", line2="", city="Bristol",
                                   postcode="BS1 1AA", country="GB")

    assert address_label(address) == "Sam Shopper, 1 High Street, Bristol BS1 1AA, United Kingdom"
