import importlib

import pytest
from django.apps import apps
from django.db import connection

from commerce.customers.models import Address
from tests.factories import AddressFactory, CustomerFactory

pytestmark = pytest.mark.django_db

saved_addresses = importlib.import_module("commerce.customers.migrations.0002_saved_addresses")


def without_the_uniqueness_constraint():
    """The table as before the migration added it (the test's transaction brings it back)."""
    constraint = next(c for c in Address._meta.constraints if c.name == "address_saved_once_per_customer")
    with connection.schema_editor() as editor:
        editor.remove_constraint(Address, constraint)


def test_the_migration_keeps_one_of_each_address_a_customer_saved_twice_preferring_the_default():
    without_the_uniqueness_constraint()
    customer = CustomerFactory()
    AddressFactory(customer=customer, line1="1 High Street", postcode="BS1 1AA", is_default=False)  # the twin dropped
    default = AddressFactory(customer=customer, line1="1  HIGH Street ", postcode="bs1 1aa", is_default=True)
    other = AddressFactory(customer=customer, line1="7 Quay Street", is_default=False)
    someone_elses = AddressFactory(customer=CustomerFactory(), line1="1 High Street", postcode="BS1 1AA")

    saved_addresses.merge_duplicate_addresses(apps, schema_editor=None)

    assert set(Address.objects.values_list("pk", flat=True)) == {default.pk, other.pk, someone_elses.pk}
    default.refresh_from_db()
    assert (default.line1, default.postcode) == ("1 HIGH Street", "BS1 1AA")
