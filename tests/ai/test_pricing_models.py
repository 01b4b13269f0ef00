from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from ai.pricing.models import PricingRule
from tests.factories import CategoryFactory, PriceChangeFactory, PricingRuleFactory, ProductFactory

pytestmark = pytest.mark.django_db


def rule(**fields) -> PricingRule:
    defaults = {"name": "Rule", "max_discount_percent": Decimal("20"), "max_markup_percent": Decimal("20")}
    return PricingRule(**{**defaults, **fields})


def errors_of(candidate: PricingRule) -> dict:
    with pytest.raises(ValidationError) as caught:
        candidate.full_clean()
    return caught.value.message_dict


@pytest.mark.parametrize(("fields", "bounds"), [
    ({"min_price": None, "max_price": Decimal("30.00"), "max_markup_percent": None}, ("20.00", "30.00")),
    ({"min_price": Decimal("5.00"), "max_discount_percent": None}, ("5.00", "30.00")),
])
def test_a_rule_with_a_lower_and_an_upper_bound_is_valid_and_stored(fields, bounds):
    candidate = rule(**fields)

    candidate.full_clean()
    candidate.save()

    stored = PricingRule.objects.get(pk=candidate.pk)
    assert stored.bounds_for(Decimal("25.00")) == tuple(Decimal(bound) for bound in bounds)


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"min_price": Decimal("10.00"), "max_price": Decimal("9.99")}, "max_price", "must not be below the minimum"),
    ({"min_price": None, "max_discount_percent": None}, "min_price", "Set a lower bound"),
    ({"max_price": None, "max_markup_percent": None}, "max_price", "Set an upper bound"),
    ({"max_change_percent": Decimal("100.01")}, "max_change_percent", "less than or equal to 100"),
    ({"auto_approve_percent": Decimal("-1")}, "auto_approve_percent", "greater than or equal to 0"),
    ({"max_discount_percent": Decimal("101")}, "max_discount_percent", "less than or equal to 100"),
    ({"max_markup_percent": Decimal("250")}, "max_markup_percent", "less than or equal to 100"),
    ({"interval_hours": 0}, "interval_hours", "greater than or equal to 1"),
])
def test_invalid_rules_are_refused_with_the_reason(fields, field, message):
    errors = errors_of(rule(**fields))
    assert any(message in text for text in errors[field]), errors


def test_a_rule_without_any_bound_is_refused_on_both_sides():
    errors = errors_of(rule(max_discount_percent=None, max_markup_percent=None))
    assert set(errors) >= {"min_price", "max_price"}


def test_a_rule_for_a_product_and_a_category_at_once_is_refused():
    product = ProductFactory()
    errors = errors_of(rule(product=product, category=product.category))
    assert "one product or one category" in errors["category"][0]


@pytest.mark.parametrize("fields", [
    {"min_price": Decimal("10.00"), "max_price": Decimal("5.00")},
    {"max_discount_percent": None},
    {"max_markup_percent": None},
    {"max_change_percent": Decimal("120")},
    {"auto_approve_percent": Decimal("-5")},
    {"interval_hours": 0},
])
def test_the_database_refuses_what_clean_refuses(fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        PricingRuleFactory(**fields)


def test_one_rule_per_product_per_category_and_one_global_default():
    product, category = ProductFactory(), CategoryFactory()
    PricingRuleFactory()
    PricingRuleFactory(product=product)
    PricingRuleFactory(category=category)

    for scope in ({}, {"product": product}, {"category": category}):
        with pytest.raises(IntegrityError), transaction.atomic():
            PricingRuleFactory(**scope)
    with pytest.raises(ValidationError, match="already a global default"):
        rule().full_clean()


def test_bounds_take_the_tighter_of_absolute_and_relative_limits_in_whole_cents():
    given = rule(min_price=Decimal("9.00"), max_price=Decimal("14.00"), max_discount_percent=Decimal("33"),
                 max_markup_percent=Decimal("33"))

    assert given.bounds_for(Decimal("12.50")) == (Decimal("9.00"), Decimal("14.00"))
    assert given.bounds_for(Decimal("10.00")) == (Decimal("9.00"), Decimal("13.30"))
    # 12.34 × 0.8 = 9.872 rounds up, 12.34 × 1.2 = 14.808 rounds down: never outside the limits
    assert rule().bounds_for(Decimal("12.34")) == (Decimal("9.88"), Decimal("14.80"))


def test_a_product_has_at_most_one_pending_change():
    change = PriceChangeFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        PriceChangeFactory(product=change.product)


def test_change_percent_is_relative_to_the_previous_price():
    change = PriceChangeFactory(product=ProductFactory(base_price=Decimal("20.00")), new_price=Decimal("21.50"))
    assert change.change_percent == Decimal("7.5")
