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
                                "reduced_from": None, "reduction_percent": None, "price_disclosure": None,
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


def test_the_price_api_reports_the_reduction_against_the_prior_price_only():
    product = ProductFactory(base_price=Decimal("20.00"), price=Decimal("15.00"), prior_price=Decimal("18.00"))

    body = Client().get(f"/api/v1/prices/{product.pk}").json()

    assert (body["price"], body["base_price"]) == ("15.00", "20.00")
    assert (body["reduced_from"], body["reduction_percent"], body["price_disclosure"]) == ("18.00", 16, None)


def test_a_price_set_for_this_shopper_comes_with_its_disclosure_and_no_reduction(settings):
    settings.VITRINE_SHOPPER_EXPERIMENTS = "tests.base_price_shoppers"
    product = ProductFactory(base_price=Decimal("20.00"), price=Decimal("15.00"), prior_price=Decimal("25.00"))

    body = Client().get(f"/api/v1/prices/{product.pk}").json()

    assert (body["price"], body["reduced_from"], body["reduction_percent"]) == ("20.00", None, None)
    assert body["price_disclosure"] == settings.VITRINE_PERSONALISED_PRICE_DISCLOSURE
