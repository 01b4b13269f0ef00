"""``seed_pricing``: the demo's global rule, once, and a first pricing run on request."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from ai.pricing.models import DemandSignal, PricingRule
from tests.factories import PricingRuleFactory, ProductFactory, stored_event

pytestmark = pytest.mark.django_db


def seed(*args) -> str:
    out = StringIO()
    call_command("seed_pricing", *args, stdout=out)
    return out.getvalue()


def test_it_creates_the_global_rule_once_and_keeps_an_existing_one():
    first, second = seed(), seed()

    rule = PricingRule.objects.get()
    assert rule.product_id is None and rule.category_id is None
    assert (rule.max_discount_percent, rule.max_markup_percent, rule.max_change_percent) == (15, 15, 5)
    assert "Created" in first and "Kept" in second


def test_an_editors_global_rule_is_left_as_it_is():
    PricingRuleFactory(name="Ours", max_discount_percent=Decimal("5"))

    seed()

    assert list(PricingRule.objects.values_list("name", "max_discount_percent")) == [("Ours", Decimal("5.00"))]


def test_run_prices_the_catalogue_once():
    product = ProductFactory()
    stored_event("view", product)

    output = seed("--run")

    assert "Pricing run:" in output and "signals 1" in output
    assert DemandSignal.objects.filter(product=product).exists()
