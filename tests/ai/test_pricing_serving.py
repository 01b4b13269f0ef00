import datetime as dt
from decimal import Decimal

import pytest

from ai.pricing import serving
from ai.pricing.models import BoundBy, KillSwitch, PriceHistory
from commerce.catalogue.models import PriceList
from tests.factories import CategoryFactory, PricingRuleFactory, ProductFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
TEN = Decimal("10.00")


def changed(product, hours_ago: float, previous: str, price: str) -> PriceHistory:
    return PriceHistory.objects.create(product=product, previous_price=Decimal(previous), price=Decimal(price),
                                       changed_at=NOW - dt.timedelta(hours=hours_ago),
                                       source=PriceHistory.Source.AUTOMATIC, reason="test")


# --- rules ---------------------------------------------------------------------------------------------


def test_the_most_specific_rule_wins():
    home = CategoryFactory(name="Home")
    kitchen = CategoryFactory(name="Kitchen", parent=home)
    mugs = CategoryFactory(name="Mugs", parent=kitchen)
    own_rule_product, mug, pan, elsewhere = (ProductFactory(category=mugs), ProductFactory(category=mugs),
                                             ProductFactory(category=kitchen), ProductFactory())
    everywhere = PricingRuleFactory(name="global")
    home_rule = PricingRuleFactory(name="home", category=home)
    own = PricingRuleFactory(name="own", product=own_rule_product)

    governed = serving.resolve_rules([(p.pk, p.category_id) for p in (own_rule_product, mug, pan, elsewhere)])

    assert governed == {own_rule_product.pk: own, mug.pk: home_rule, pan.pk: home_rule, elsewhere.pk: everywhere}
    kitchen_rule = PricingRuleFactory(name="kitchen", category=kitchen)
    assert serving.rule_for(mug) == kitchen_rule  # nearer than home
    assert serving.rule_for(own_rule_product) == own


def test_a_disabled_rule_still_governs_and_without_a_default_other_products_are_left_out():
    shelf = CategoryFactory()
    kept_out, elsewhere = ProductFactory(category=shelf), ProductFactory()
    disabled = PricingRuleFactory(category=shelf, enabled=False)

    assert serving.resolve_rules([(p.pk, p.category_id) for p in (kept_out, elsewhere)]) == {kept_out.pk: disabled}
    assert serving.rule_for(elsewhere) is None


# --- guardrails ------------------------------------------------------------------------------------------


def test_held_prices_are_the_prices_before_each_change_since_a_moment():
    mug, lamp = ProductFactory(), ProductFactory()
    changed(mug, 30, "9.00", "9.50")  # before ``since``
    changed(mug, 5, "9.50", "10.00")
    changed(mug, 2, "10.00", "10.50")
    changed(lamp, 1, "20.00", "21.00")
    since = NOW - dt.timedelta(hours=24)

    held = serving.held_prices(since, [mug.pk])

    assert set(held) == {mug.pk}
    assert sorted(held[mug.pk]) == [(NOW - dt.timedelta(hours=5), Decimal("9.50")), (NOW - dt.timedelta(hours=2), TEN)]
    assert set(serving.held_prices(since)) == {mug.pk, lamp.pk}


def test_allowed_now_keeps_within_the_bounds_and_the_change_limit_of_every_price_in_the_interval():
    rule = PricingRuleFactory()  # 8.00–12.00 for a 10.00 base, at most 10 % in 24 hours
    history = [(NOW - dt.timedelta(hours=30), Decimal("9.00")),  # held before the interval: no limit now
               (NOW - dt.timedelta(hours=2), TEN)]

    # 10.50 now, 10.00 two hours ago: at least 10.50 − 10 % = 9.45, at most 10.00 + 10 % = 11.00
    assert serving.allowed_now(rule, TEN, Decimal("10.50"), history, NOW) == (Decimal("9.45"), Decimal("11.00"))
    assert serving.allowed_now(rule, TEN, Decimal("10.50"), [], NOW) == (Decimal("9.45"), Decimal("11.55"))


def test_where_the_bounds_and_the_change_limit_conflict_the_bounds_win():
    rule = PricingRuleFactory()  # at most 12.00 for a 10.00 base

    assert serving.allowed_now(rule, TEN, Decimal("15.00"), [], NOW) == (Decimal("12.00"), Decimal("12.00"))


def test_a_price_changed_more_recently_than_the_rule_allows_stays_unless_out_of_bounds():
    rule = PricingRuleFactory(min_hours_between_changes=24)  # 8.00–12.00 for a 10.00 base
    recent = [(NOW - dt.timedelta(hours=23), TEN)]
    old = [(NOW - dt.timedelta(hours=25), TEN)]

    assert serving.allowed_now(rule, TEN, Decimal("10.50"), recent, NOW) == (Decimal("10.50"), Decimal("10.50"))
    assert serving.allowed_now(rule, TEN, Decimal("15.00"), recent, NOW) == (Decimal("12.00"), Decimal("12.00"))
    assert serving.allowed_now(rule, TEN, Decimal("10.50"), old, NOW) == (Decimal("9.45"), Decimal("11.55"))
    assert serving.history_hours(rule) == 24 and serving.history_hours(PricingRuleFactory(
        product=ProductFactory(), min_hours_between_changes=72)) == 72


@pytest.mark.parametrize(("history", "proposed", "decided", "bound"), [
    ([], "10.50", "10.50", BoundBy.NONE),
    ([], "13.00", "12.00", BoundBy.CEILING),
    ([], "7.00", "8.00", BoundBy.FLOOR),
    ([(NOW - dt.timedelta(hours=30), TEN)], "11.50", "11.00", BoundBy.WINDOW_MOVE),
    ([(NOW - dt.timedelta(hours=3), TEN)], "10.50", "10.00", BoundBy.CHANGE_FREQUENCY),
])
def test_each_decision_names_the_guardrail_that_bound_it(history, proposed, decided, bound):
    rule = PricingRuleFactory(min_hours_between_changes=12)  # 8.00–12.00 for a 10.00 base

    assert serving.bound_by(rule, TEN, TEN, history, NOW, Decimal(proposed), Decimal(decided)) == bound


def test_a_rule_whose_bounds_contradict_each_other_allows_no_price():
    rule = PricingRuleFactory(min_price=Decimal("15.00"))  # above 12.00, the maximum markup of a 10.00 base

    assert serving.allowed_now(rule, TEN, TEN, [], NOW) is None


# --- the kill switch ---------------------------------------------------------------------------------------


def test_the_kill_switch_reads_its_row():
    assert not serving.kill_switch_engaged()

    KillSwitch.objects.update_or_create(pk=1, defaults={"engaged": True})

    assert serving.kill_switch_engaged() and serving.kill_switch_engaged(lock=True)


# --- a product's price ---------------------------------------------------------------------------------------


def test_the_price_report_gives_each_price_list_its_price_and_the_last_change():
    mug = ProductFactory(base_price=TEN, price=Decimal("10.50"))
    changed(mug, 30, "9.50", "10.00")
    latest = changed(mug, 2, "10.00", "10.50")

    current = serving.price_report(mug.pk)
    base = serving.price_report(mug.pk, PriceList.BASE)

    assert (current["price"], base["price"], current["base_price"]) == (Decimal("10.50"), TEN, TEN)
    assert current["last_change"] == {"previous_price": TEN, "price": Decimal("10.50"),
                                      "changed_at": latest.changed_at, "source": "automatic", "reason": "test"}


def test_no_price_report_for_a_product_not_for_sale():
    assert serving.price_report(ProductFactory(active=False).pk) is None


def test_the_price_history_is_the_latest_changes_oldest_first():
    mug = ProductFactory()
    changes = [changed(mug, hours, "10.00", "10.50") for hours in (3, 1, 2)]
    changed(ProductFactory(), 1, "5.00", "5.25")

    assert serving.price_history(mug.pk, limit=2) == [changes[2], changes[1]]
