import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils import timezone

from ai.recommendations.models import RecommendationRule, placement_choices
from tests.factories import CategoryFactory, ProductFactory, RecommendationRuleFactory

pytestmark = pytest.mark.django_db


def errors_of(rule: RecommendationRule) -> dict:
    with pytest.raises(ValidationError) as raised:
        rule.clean()
    return raised.value.message_dict


def test_a_rule_that_does_nothing_is_refused():
    assert "does nothing" in errors_of(RecommendationRule(name="Empty", placements=["home"]))["__all__"][0]


def test_a_rule_needs_a_placement():
    rule = RecommendationRule(name="Nowhere", placements=[], exclude_in_cart=True)
    assert "placements" in errors_of(rule)


def test_a_pin_needs_both_a_product_and_a_position_of_at_least_one():
    product = ProductFactory()
    assert "pin_position" in errors_of(RecommendationRule(name="Pin", placements=["home"], pin_product=product))
    assert "pin_product" in errors_of(RecommendationRule(name="Pin", placements=["home"], pin_position=2))
    with pytest.raises(IntegrityError):
        RecommendationRuleFactory(pin_product=product, pin_position=0)


def test_a_rule_cannot_pin_a_product_it_hides():
    product = ProductFactory()
    rule = RecommendationRule(name="Both", placements=["home"], pin_product=product, pin_position=1)
    rule.hidden_products = [product]
    assert "pin_product" in errors_of(rule)


def test_the_window_must_end_after_it_starts():
    now = timezone.now()
    rule = RecommendationRule(name="Backwards", placements=["home"], exclude_in_cart=True, starts_at=now,
                              ends_at=now - dt.timedelta(hours=1))
    assert "ends_at" in errors_of(rule)
    with pytest.raises(IntegrityError):
        RecommendationRuleFactory(exclude_in_cart=True, starts_at=now, ends_at=now)


def test_a_boost_needs_one_target_and_a_percentage():
    category = CategoryFactory()
    no_percent = RecommendationRule(name="B", placements=["home"], boost_category=category)
    no_target = RecommendationRule(name="B", placements=["home"], boost_percent=50)
    half_attribute = RecommendationRule(name="B", placements=["home"], boost_attribute_name="colour",
                                        boost_percent=50)
    both = RecommendationRule(name="B", placements=["home"], boost_category=category, boost_percent=50,
                              boost_attribute_name="colour", boost_attribute_value="red")

    assert "boost_percent" in errors_of(no_percent)
    assert "boost_category" in errors_of(no_target)
    assert "boost_attribute_value" in errors_of(half_attribute)
    assert "boost_category" in errors_of(both)


def test_a_margin_boost_is_a_target_of_its_own():
    margin_only = RecommendationRule(name="M", placements=["home"], boost_min_margin_percent=40, boost_percent=50)
    margin_and_category = RecommendationRule(name="M", placements=["home"], boost_min_margin_percent=40,
                                             boost_category=CategoryFactory(), boost_percent=50)
    margin_no_percent = RecommendationRule(name="M", placements=["home"], boost_min_margin_percent=40)

    margin_only.clean()
    assert "boost_category" in errors_of(margin_and_category)
    assert "boost_percent" in errors_of(margin_no_percent)


def test_a_valid_rule_is_cleaned_in_place():
    rule = RecommendationRule(name="  Red first ", placements=["home", "trending", "home"],
                              boost_attribute_name=" colour ", boost_attribute_value=" red", boost_percent=-50)

    rule.clean()

    assert (rule.name, rule.placements) == ("Red first", ["home", "trending"])
    assert (rule.boost_attribute_name, rule.boost_attribute_value) == ("colour", "red")


def test_placements_are_the_surfaces_and_every_carousel_strategy_once():
    values = [value for value, _ in placement_choices()]

    assert len(values) == len(set(values))
    assert {"home", "product", "cart", "personalised", "trending", "similar", "bought_together"} <= set(values)
