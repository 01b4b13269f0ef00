"""``seed_pricing``: the demo's rules, once, and a first pricing run on request."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from ai.pricing.models import DemandSignal, PricingRule
from tests.factories import CategoryFactory, PricingRuleFactory, ProductFactory, stored_event

pytestmark = pytest.mark.django_db


def seed(*args) -> str:
    out = StringIO()
    call_command("seed_pricing", *args, stdout=out)
    return out.getvalue()


def test_it_creates_a_global_rule_and_an_approval_rule_for_the_first_department_once():
    CategoryFactory(name="Kitchen")
    garden = CategoryFactory(name="Garden")

    first, second = seed(), seed()

    rules = {rule.name: rule for rule in PricingRule.objects.all()}
    assert set(rules) == {"Global default", "Garden: approve every change"}
    assert rules["Global default"].category_id is None and rules["Global default"].auto_approve_percent == 5
    assert rules["Garden: approve every change"].category == garden
    assert rules["Garden: approve every change"].auto_approve_percent == 0
    assert all(rule.max_change_percent == 5 and rule.max_discount_percent == 15 for rule in rules.values())
    assert "Created" in first and "kept them" in second


def test_an_editors_rules_are_left_as_they_are():
    PricingRuleFactory(name="Ours", max_discount_percent=Decimal("5"))

    seed()

    assert list(PricingRule.objects.values_list("name", "max_discount_percent")) == [("Ours", Decimal("5.00"))]


def test_run_prices_the_catalogue_once():
    product = ProductFactory()
    stored_event("view", product)

    output = seed("--run")

    assert "Pricing run:" in output and "signals 1" in output
    assert DemandSignal.objects.filter(product=product).exists()
