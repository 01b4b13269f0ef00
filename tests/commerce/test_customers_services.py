import pytest
from django.core.exceptions import ValidationError

from commerce.customers.models import Address
from commerce.customers.services import delete_address, remember_address
from tests.factories import AddressFactory, CustomerFactory

pytestmark = pytest.mark.django_db

HOME = {"full_name": "Sam Shopper", "line1": "1 High Street", "line2": "", "city": "Bristol",
        "postcode": "BS1 1AA", "country": "GB"}
WORK = {**HOME, "line1": "7 Quay Street", "postcode": "BS1 4DJ"}


def test_a_new_address_is_saved_as_the_customers_default():
    customer = CustomerFactory()

    address = remember_address(customer, HOME)

    assert list(customer.addresses.all()) == [address]
    assert address.is_default and address.line1 == "1 High Street" and address.country.code == "GB"


def test_the_same_address_typed_differently_is_saved_once():
    customer = CustomerFactory()
    first = remember_address(customer, HOME)

    again = remember_address(customer, {**HOME, "full_name": "sam  shopper", "line1": " 1 HIGH street",
                                         "postcode": "bs1 1aa"})

    assert again.pk == first.pk
    assert customer.addresses.count() == 1


def test_the_latest_address_used_becomes_the_default():
    customer = CustomerFactory()
    home = remember_address(customer, HOME)
    work = remember_address(customer, WORK)

    assert [a.pk for a in customer.addresses.filter(is_default=True)] == [work.pk]
    remember_address(customer, HOME)
    assert [a.pk for a in customer.addresses.filter(is_default=True)] == [home.pk]
    assert customer.addresses.count() == 2


def test_another_customers_identical_address_is_not_theirs():
    someone = CustomerFactory()
    remember_address(someone, HOME)
    customer = CustomerFactory()

    remember_address(customer, HOME)

    assert Address.objects.filter(customer=customer).count() == 1
    assert Address.objects.filter(customer=someone).count() == 1


def test_an_unknown_country_is_refused():
    customer = CustomerFactory()

    with pytest.raises(ValidationError) as refused:
        remember_address(customer, {**HOME, "country": "XX"})

    assert "country" in refused.value.message_dict
    assert not customer.addresses.exists()


def test_deleting_the_default_hands_it_to_the_most_recently_used_address():
    customer = CustomerFactory()
    older = remember_address(customer, HOME)
    newer = remember_address(customer, WORK)
    remember_address(customer, {**HOME, "line1": "9 Mill Lane"})  # the default now

    delete_address(customer.addresses.get(is_default=True))

    assert set(customer.addresses.values_list("pk", flat=True)) == {older.pk, newer.pk}
    assert customer.addresses.get(is_default=True).pk == newer.pk


def test_deleting_an_address_that_is_not_the_default_keeps_the_default():
    default = AddressFactory(is_default=True)
    other = AddressFactory(customer=default.customer, is_default=False)

    delete_address(other)

    assert list(default.customer.addresses.all()) == [default]
    default.refresh_from_db()
    assert default.is_default
