"""Prices set outside the engine (code, an editor, a catalogue import) go into the price history."""

import json
from decimal import Decimal

import pytest
from django.test import TestCase

from ai.pricing.models import PriceHistory
from commerce.catalogue.importer import import_catalogue
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_a_price_set_in_code_is_recorded_without_an_editor():
    product = ProductFactory(base_price=Decimal("10.00"))

    product.price = Decimal("11.00")
    product.save()
    product.stock = 4
    product.save()  # the price did not move: nothing more to record

    [entry] = PriceHistory.objects.filter(product=product)
    assert (entry.previous_price, entry.price, entry.source) == (Decimal("10.00"), Decimal("11.00"), "manual")
    assert entry.changed_by is None and entry.reason == "edited on the product"


def test_a_catalogue_import_that_moves_prices_records_each_move_once(tmp_path):
    moved = ProductFactory(slug="oak-table", base_price=Decimal("89.00"))
    kept = ProductFactory(slug="oak-stool", base_price=Decimal("30.00"))
    path = tmp_path / "feed.jsonl"
    path.write_text("\n".join(json.dumps(record) for record in [
        {"title": "Oak Table", "slug": "oak-table", "category": "Furniture", "price": "95.50"},
        {"title": "Oak Stool", "slug": "oak-stool", "category": "Furniture", "price": "30.00"},
        {"title": "Walnut Desk", "category": "Furniture", "price": "420"},  # new: no previous price
    ]) + "\n")

    with TestCase.captureOnCommitCallbacks(execute=True):
        import_catalogue(path)

    assert list(PriceHistory.objects.values_list("product_id", "previous_price", "price", "reason")) == [
        (moved.pk, Decimal("89.00"), Decimal("95.50"), "catalogue import")]
    assert not PriceHistory.objects.filter(product=kept).exists()
