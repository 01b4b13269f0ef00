import importlib

import pytest
from django.apps import apps

from commerce.orders.models import Order
from tests.factories import placed_order

pytestmark = pytest.mark.django_db

country_field = importlib.import_module("commerce.orders.migrations.0005_country_field")


def test_the_country_migration_uppercases_free_text_codes_and_keeps_the_rest():
    typed = {placed_order().pk: code for code in ("gb", "Ie", "GB", "UK", "FR")}
    for pk, code in typed.items():
        Order.objects.filter(pk=pk).update(country=code)

    country_field.uppercase_country_codes(apps, schema_editor=None)

    assert dict(Order.objects.values_list("pk", "country")) == {pk: code.upper() for pk, code in typed.items()}
