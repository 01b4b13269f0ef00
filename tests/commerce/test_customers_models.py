import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import override_settings

from commerce.customers.models import Address
from tests.factories import AddressFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def test_clean_tidies_spacing_and_the_postcodes_case():
    address = Address(customer=CustomerFactory(), full_name="  Sam   Shopper ", line1="1 High  Street",
                      city="Bristol ", postcode=" bs1  1aa", country="gb")

    address.clean()

    assert (address.full_name, address.line1, address.city, address.postcode, address.country.code) == (
        "Sam Shopper", "1 High Street", "Bristol", "BS1 1AA", "GB")


def test_full_clean_rejects_a_country_that_does_not_exist():
    address = AddressFactory.build(customer=CustomerFactory(), country="XX")

    with pytest.raises(ValidationError) as refused:
        address.full_clean()

    assert list(refused.value.message_dict) == ["country"]


def test_the_database_keeps_one_copy_of_an_address_per_customer_whatever_its_case():
    address = AddressFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        AddressFactory(customer=address.customer, is_default=False, line1=address.line1.upper(),
                       full_name=address.full_name.lower())
    AddressFactory(customer=CustomerFactory(), line1=address.line1)  # someone else's copy is theirs

    assert Address.objects.filter(line1=address.line1).count() == 2


def test_validate_constraints_names_the_duplicate_address():
    address = AddressFactory()
    twin = AddressFactory.build(customer=address.customer, is_default=False, line1=address.line1)

    with pytest.raises(ValidationError, match="This address is already saved."):
        twin.validate_constraints()


@override_settings(VITRINE_COUNTRY="IE")
def test_a_new_address_starts_in_the_shops_country():
    assert Address().country.code == "IE"
