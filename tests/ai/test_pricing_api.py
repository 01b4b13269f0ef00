import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client

from ai.pricing.models import PriceHistory
from commerce.catalogue.services import set_current_price
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_a_product_that_never_changed_price_has_no_last_change():
    mug = ProductFactory(base_price=Decimal("12.50"))

    response = Client().get(f"/api/v1/prices/{mug.pk}")

    assert response.status_code == 200
    assert response.json() == {"product_id": mug.pk, "currency": "GBP", "price": "12.50", "base_price": "12.50",
                                "last_change": None}


def test_the_current_price_and_the_last_change_with_its_reason(django_capture_on_commit_callbacks):
    mug = ProductFactory(base_price=Decimal("12.50"))
    client = Client()
    client.get(f"/api/v1/prices/{mug.pk}")  # cached at 12.50
    with django_capture_on_commit_callbacks(execute=True):
        set_current_price(mug.pk, Decimal("13.10"), expected=Decimal("12.50"))
        PriceHistory.objects.create(product=mug, previous_price=Decimal("12.50"), price=Decimal("13.10"),
                                    changed_at=dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC),
                                    source=PriceHistory.Source.AUTOMATIC, reason="raise 5%: sold 12 vs 4.0/day")

    body = client.get(f"/api/v1/prices/{mug.pk}").json()

    assert (body["price"], body["base_price"]) == ("13.10", "12.50")
    assert body["last_change"] == {"previous_price": "12.50", "price": "13.10", "changed_at": "2026-03-10T12:00:00Z",
                                   "source": "automatic", "reason": "raise 5%: sold 12 vs 4.0/day"}


def test_unknown_or_unsold_products_are_404():
    hidden = ProductFactory(active=False)
    for product_id in (999_999, hidden.pk):
        response = Client().get(f"/api/v1/prices/{product_id}")
        assert response.status_code == 404
        assert response.json() == {"detail": "No product with this id is for sale."}


def test_the_price_endpoint_is_in_the_api_schema():
    schema = Client().get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/prices/{product_id}"]["get"]
    assert set(operation["responses"]) == {"200", "400", "404"}
