import datetime as dt
import uuid
from decimal import Decimal

import numpy as np
import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ai.pricing import demand_model, pipeline, review, training
from ai.pricing.models import BoundBy, DemandSignal, PriceChange, PriceHistory, Strategy
from ai.pricing.pipeline import Proposal, Signals
from commerce.catalogue.models import Product
from commerce.catalogue.services import product_price
from commerce.events.services import store_events
from tests.factories import DemandSignalFactory, PricingRuleFactory, ProductFactory, VariantFactory, user_with

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)  # a 30-minute slot boundary
TEN = Decimal("10.00")
# Demand well above trend (12 sold in the last day vs 4/day): the rule-based strategy raises 5 %.
HOT = {"units_last_day": 12, "units_daily_average": 4, "stock": 500, "views_per_hour": 3}


def seed(event_type, product, hours_ago, *, quantity=1):
    store_events([{"id": str(uuid.uuid4()), "created_at": (NOW - dt.timedelta(hours=hours_ago)).isoformat(),
                   "event_type": event_type, "product_id": product.pk, "quantity": quantity}])


def price_of(product) -> Decimal:
    return Product.objects.get(pk=product.pk).price


# --- demand signals, each against hand-computed values ------------------------------------------------


@pytest.fixture
def busy_mug():
    """Last 24 h: 48 views, 6 add-to-carts, 6 units bought; the 7 days before: 14 units; 9 in stock."""
    mug = ProductFactory(stock=9)
    for hour in range(48):
        seed("view", mug, 0.25 + hour / 2)
    seed("view", mug, 25)  # outside the 24 h window
    for hour in range(6):
        seed("add_to_cart", mug, 1 + hour)
    seed("add_to_cart", mug, 30)  # outside
    seed("purchase", mug, 2, quantity=4)
    seed("purchase", mug, 20, quantity=2)
    seed("purchase", mug, 30, quantity=10)  # days 2–8
    seed("purchase", mug, 24 * 7.5, quantity=4)
    seed("purchase", mug, 24 * 8.5, quantity=50)  # too old
    pipeline.compute_demand_signals(NOW)
    return DemandSignal.objects.get(product=mug)


def test_signal_views_per_hour_over_24_hours(busy_mug):
    assert busy_mug.views_per_hour == pytest.approx(48 / 24)
    assert busy_mug.as_of == NOW


def test_signal_add_to_cart_rate_per_view(busy_mug):
    assert busy_mug.add_to_cart_rate == pytest.approx(6 / 48)


def test_signal_purchase_velocity_against_the_seven_day_average(busy_mug):
    assert busy_mug.units_last_day == 6
    assert busy_mug.units_daily_average == pytest.approx(14 / 7)
    assert busy_mug.velocity_ratio == pytest.approx(3.0)


def test_signal_stock_against_expected_demand(busy_mug):
    assert busy_mug.stock == 9
    assert busy_mug.expected_daily_units == 6  # the faster of 6 (last day) and 2/day (trend)
    assert busy_mug.stock_cover_days == pytest.approx(1.5)


def test_signals_cover_quiet_products_count_variant_stock_and_skip_inactive_ones():
    quiet = ProductFactory(stock=0)
    VariantFactory(product=quiet, stock=3)
    VariantFactory(product=quiet, stock=4)
    gone = ProductFactory(active=False)

    assert pipeline.compute_demand_signals(NOW) == 1

    row = DemandSignal.objects.get(product=quiet)
    assert (row.views_per_hour, row.add_to_cart_rate, row.units_last_day, row.velocity_ratio) == (0, None, 0, None)
    assert (row.stock, row.expected_daily_units, row.stock_cover_days) == (7, 0, None)
    assert not DemandSignal.objects.filter(product=gone).exists()


def test_recomputing_signals_replaces_them_and_drops_products_no_longer_sold():
    mug, lamp = ProductFactory(), ProductFactory()
    pipeline.compute_demand_signals(NOW - dt.timedelta(minutes=30))
    Product.objects.filter(pk=lamp.pk).update(active=False)

    pipeline.compute_demand_signals(NOW)

    assert list(DemandSignal.objects.values_list("product_id", "as_of")) == [(mug.pk, NOW)]


def test_signal_time_is_the_start_of_the_30_minute_slot():
    assert pipeline.signal_time(NOW + dt.timedelta(minutes=29, seconds=59)) == NOW
    assert pipeline.signal_time(NOW + dt.timedelta(minutes=30)) == NOW + dt.timedelta(minutes=30)


# --- which products are priced -----------------------------------------------------------------------------


def test_a_disabled_specific_rule_keeps_its_products_out_of_dynamic_pricing():
    kept_out = ProductFactory(base_price=TEN)
    PricingRuleFactory(name="global", auto_approve_percent=Decimal("100"))
    PricingRuleFactory(product=kept_out, enabled=False)
    priced = ProductFactory(base_price=TEN)
    DemandSignalFactory(product=kept_out, **HOT)
    DemandSignalFactory(product=priced, **HOT)

    summary = pipeline.price_products(NOW, now=NOW)

    assert summary["not_governed"] == 1 and summary["applied"] == 1
    assert price_of(kept_out) == TEN
    assert price_of(priced) == Decimal("10.50")


def test_without_any_rule_nothing_is_priced():
    DemandSignalFactory(**HOT)
    assert pipeline.price_products(NOW, now=NOW)["not_governed"] == 1
    assert not PriceChange.objects.exists()


def test_a_rule_that_allows_no_price_is_counted_and_moves_nothing():
    product = ProductFactory(base_price=TEN)
    PricingRuleFactory(min_price=Decimal("15.00"), auto_approve_percent=Decimal("100"))  # above 12.00
    DemandSignalFactory(product=product, **HOT)

    assert pipeline.price_products(NOW, now=NOW)["contradictory_bounds"] == 1

    assert price_of(product) == TEN and not PriceChange.objects.exists()


# --- the rule-based strategy ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("signals", "price", "reason"), [
    (Signals(3, 0.1, 12, 4, 500, 41.7), Decimal("10.50"), "raise 5%: sold 12 in the last day vs 4.0/day trend"),
    (Signals(3, 0.1, 4, 0, 100, 25), Decimal("10.50"), "after a quiet week"),
    (Signals(3, 0.1, 4, 4, 10, 2.5), Decimal("10.50"), "raise 5%: 10 in stock, 2.5 days"),
    (Signals(3, 0.1, 1, 4, 100, 25), Decimal("9.50"), "lower 5%: sold 1 in the last day vs 4.0/day trend"),
    (Signals(2, 0.0, 0, 0, 50, None), Decimal("9.50"), "lower 5%: 50 in stock, no sales in 8 days"),
    (Signals(3, 0.1, 4, 4, 400, 100), Decimal("9.50"), "lower 5%: 400 in stock, 100 days"),
    (Signals(3, 0.1, 4, 4, 100, 25), TEN, "hold: demand on trend, stock in balance"),
    (Signals(0, None, 0, 0, 50, None), TEN, "hold: no demand data"),
    (Signals(3, 0.1, 12, 4, 2000, 166.7), TEN, "hold: signals conflict"),
    (Signals(3, 0.1, 0, 4, 0, 0), Decimal("9.50"), "lower 5%"),  # sold out: stock says nothing
    (Signals(3, 0.1, 12, 4, None, None), Decimal("10.50"), "raise 5%"),  # stock unknown
])
def test_rule_based_strategy(signals, price, reason):
    proposal = pipeline.rule_based_proposal(signals, TEN)
    assert proposal.price == price
    assert reason in proposal.reason


# --- the demand-model strategy -----------------------------------------------------------------------------


def synthetic_panel(elasticity: float, rows: int = 6000, seed: int = 1) -> demand_model.Panel:
    """Units ~ Poisson(trend × ratio^−elasticity) at price ratios spread over 0.8–1.2."""
    rng = np.random.default_rng(seed)
    ratio = rng.uniform(0.8, 1.2, rows)
    trend = rng.uniform(1, 8, rows)
    views = trend * rng.uniform(8, 12, rows) / 24
    features = np.column_stack([ratio, views, np.full(rows, 0.1), rng.poisson(trend), trend])
    units = rng.poisson(trend * ratio ** -elasticity)
    return demand_model.Panel(np.arange(rows) % 50, np.arange(rows) // 50, features, units.astype(float))


@pytest.fixture(scope="module")
def elastic_model():
    return demand_model.train(synthetic_panel(elasticity=3.0))


@pytest.fixture(scope="module")
def inelastic_model():
    return demand_model.train(synthetic_panel(elasticity=0.3))


def model_item(current="10.00", low="9.00", high="11.00"):
    signals = Signals(5 * 10 / 24, 0.1, 5, 5, 100, 20)
    return (signals, Decimal(current), Decimal("10.00"), Decimal(low), Decimal(high))


def test_the_model_strategy_lowers_an_elastic_product_to_raise_revenue(elastic_model):
    proposal, = pipeline.model_proposals(elastic_model, [model_item()])
    assert proposal.price < Decimal("9.50")
    assert proposal.reason.startswith("demand model: expected revenue")
    assert proposal.expected_revenue_gain > 0.02


def test_the_model_strategy_raises_an_inelastic_product_to_raise_revenue(inelastic_model):
    proposal, = pipeline.model_proposals(inelastic_model, [model_item()])
    assert proposal.price > Decimal("10.50")


def test_the_model_strategy_holds_where_it_has_never_seen_the_prices_allowed(elastic_model):
    proposal, = pipeline.model_proposals(elastic_model, [model_item(current="20.00", low="19.00", high="21.00")])
    assert proposal == Proposal(Decimal("20.00"), "hold: demand model has not seen prices in the allowed range")


def test_a_rule_picks_the_model_strategy_and_the_engine_uses_the_stored_model(elastic_model):
    product = ProductFactory(base_price=TEN)
    PricingRuleFactory(strategy=Strategy.MODEL, auto_approve_percent=Decimal("100"))
    DemandSignalFactory(product=product, views_per_hour=5 * 10 / 24, add_to_cart_rate=0.1, units_last_day=5,
                        units_daily_average=5, stock=100)
    training.store_demand_model(elastic_model, training_rows=elastic_model.metrics["rows"])

    pipeline.price_products(NOW, now=NOW)

    change = PriceChange.objects.get()
    assert change.strategy == Strategy.MODEL and change.reason.startswith("demand model")
    assert Decimal("9.00") <= change.new_price < Decimal("9.50")  # lower, within 10 % a day
    assert price_of(product) == change.new_price


def test_the_model_strategy_falls_back_to_rules_until_a_model_is_trained():
    PricingRuleFactory(strategy=Strategy.MODEL, auto_approve_percent=Decimal("100"))
    DemandSignalFactory(product=ProductFactory(base_price=TEN), **HOT)

    pipeline.price_products(NOW, now=NOW)

    change = PriceChange.objects.get()
    assert change.reason.startswith("no demand model trained yet, rule-based: raise 5%")
    assert change.new_price == Decimal("10.50")


# --- the engine: auto-approve band, pending changes, guardrails, idempotency -----------------------------


def test_a_change_within_the_auto_approve_band_is_applied_and_recorded(django_capture_on_commit_callbacks):
    product = ProductFactory(base_price=TEN)
    PricingRuleFactory(auto_approve_percent=Decimal("5"))
    DemandSignalFactory(product=product, **HOT)
    assert product_price(product.pk).price == TEN  # cached

    with django_capture_on_commit_callbacks(execute=True):
        summary = pipeline.price_products(NOW, now=NOW)

    assert summary["applied"] == 1
    assert price_of(product) == Decimal("10.50")
    assert product_price(product.pk).price == Decimal("10.50")  # the price cache key was dropped
    change = PriceChange.objects.get()
    assert (change.status, change.previous_price, change.new_price, change.signal_at) == (
        PriceChange.Status.APPLIED, TEN, Decimal("10.50"), NOW)
    history = PriceHistory.objects.get()
    assert (history.previous_price, history.price, history.source, history.change) == (
        TEN, Decimal("10.50"), PriceHistory.Source.AUTOMATIC, change)
    assert history.reason.startswith("raise 5%")


def test_a_change_outside_the_band_waits_for_approval():
    product = ProductFactory(base_price=TEN)
    PricingRuleFactory(auto_approve_percent=Decimal("2"))
    DemandSignalFactory(product=product, **HOT)

    assert pipeline.price_products(NOW, now=NOW)["pending"] == 1

    assert price_of(product) == TEN
    assert PriceChange.objects.get().status == PriceChange.Status.PENDING
    assert not PriceHistory.objects.exists()


def test_running_twice_for_the_same_signals_changes_nothing_more():
    product = ProductFactory(base_price=TEN)
    PricingRuleFactory(auto_approve_percent=Decimal("100"))
    DemandSignalFactory(product=product, **HOT)
    pipeline.price_products(NOW, now=NOW)

    again = pipeline.price_products(NOW, now=NOW + dt.timedelta(minutes=5))

    assert again["already_decided"] == 1 and again.get("applied", 0) == 0
    assert price_of(product) == Decimal("10.50")
    assert PriceChange.objects.count() == PriceHistory.objects.count() == 1


def test_a_newer_proposal_supersedes_the_pending_one_and_a_hold_withdraws_it():
    product = ProductFactory(base_price=TEN)
    PricingRuleFactory(auto_approve_percent=Decimal("0"))
    DemandSignalFactory(product=product, **HOT)
    pipeline.price_products(NOW, now=NOW)
    later = NOW + dt.timedelta(minutes=30)
    DemandSignalFactory(product=product, as_of=later, units_last_day=1, units_daily_average=4, stock=100,
                        views_per_hour=3)

    pipeline.price_products(later, now=later)

    assert list(PriceChange.objects.order_by("created_at").values_list("status", "new_price")) == [
        (PriceChange.Status.SUPERSEDED, Decimal("10.50")), (PriceChange.Status.PENDING, Decimal("9.50"))]
    latest = later + dt.timedelta(minutes=30)
    DemandSignalFactory(product=product, as_of=latest, units_last_day=4, units_daily_average=4, stock=100,
                        views_per_hour=3)
    pipeline.price_products(latest, now=latest)
    assert not PriceChange.objects.filter(status=PriceChange.Status.PENDING).exists()


def test_proposals_are_clipped_by_the_change_limit_per_interval():
    product = ProductFactory(base_price=TEN)
    PricingRuleFactory(max_change_percent=Decimal("3"), interval_hours=24, auto_approve_percent=Decimal("100"))
    DemandSignalFactory(product=product, **HOT)

    pipeline.price_products(NOW, now=NOW)

    change = PriceChange.objects.get()
    assert (change.proposed_price, change.new_price) == (Decimal("10.50"), Decimal("10.30"))
    assert "the guardrails allow 9.70–10.30" in change.reason
    assert change.bound_by == BoundBy.WINDOW_MOVE
    later = NOW + dt.timedelta(hours=6)
    DemandSignalFactory(product=product, as_of=later, **HOT)
    pipeline.price_products(later, now=later)  # still within the interval that started at 10.00
    assert price_of(product) == Decimal("10.30")
    tomorrow = NOW + dt.timedelta(hours=24, minutes=30)
    DemandSignalFactory(product=product, as_of=tomorrow, **HOT)
    pipeline.price_products(tomorrow, now=tomorrow)
    assert price_of(product) == Decimal("10.60")  # 10.30 × 1.03 = 10.609, rounded down


def test_proposals_are_clipped_by_the_rules_bounds():
    product = ProductFactory(base_price=TEN, price=Decimal("10.40"))
    PricingRuleFactory(max_price=Decimal("10.45"), max_markup_percent=None, auto_approve_percent=Decimal("100"))
    DemandSignalFactory(product=product, **HOT)

    pipeline.price_products(NOW, now=NOW)

    assert price_of(product) == Decimal("10.45")
    assert PriceChange.objects.get().bound_by == BoundBy.CEILING


def test_a_rule_limits_how_often_a_products_price_changes():
    # given a rule allowing one change per 24 hours, and a product the engine raised at NOW
    product = ProductFactory(base_price=TEN)
    PricingRuleFactory(min_hours_between_changes=24, auto_approve_percent=Decimal("100"))
    DemandSignalFactory(product=product, **HOT)
    pipeline.price_products(NOW, now=NOW)
    assert PriceChange.objects.get().bound_by == BoundBy.NONE
    # when demand stays hot 6 hours later
    later = NOW + dt.timedelta(hours=6)
    DemandSignalFactory(product=product, as_of=later, **HOT)
    summary = pipeline.price_products(later, now=later)
    # then the price holds, the limit counted; a day later it moves again
    assert price_of(product) == Decimal("10.50")
    assert summary["held_by_change_frequency"] == 1
    tomorrow = NOW + dt.timedelta(hours=24, minutes=30)
    DemandSignalFactory(product=product, as_of=tomorrow, **HOT)
    pipeline.price_products(tomorrow, now=tomorrow)
    assert price_of(product) == Decimal("11.02")  # 10.50 × 1.05 = 11.025, inside 10 % of 10.50


def test_a_price_outside_its_rules_bounds_moves_inside_at_once():
    product = ProductFactory(base_price=TEN, price=Decimal("15.00"))
    PricingRuleFactory(max_change_percent=Decimal("5"), auto_approve_percent=Decimal("0"))  # max 12.00
    DemandSignalFactory(product=product, units_last_day=4, units_daily_average=4, stock=100,
                        views_per_hour=3)  # "hold"

    pipeline.price_products(NOW, now=NOW)

    change = PriceChange.objects.get()
    assert (change.status, change.new_price) == (PriceChange.Status.APPLIED, Decimal("12.00"))
    assert change.reason == "outside its rule's bounds 8.00–12.00"


def test_the_engine_decides_nothing_while_the_kill_switch_is_engaged():
    product = ProductFactory(base_price=TEN)
    PricingRuleFactory()
    DemandSignalFactory(product=product, **HOT)
    operator = user_with("change_killswitch")
    review.engage_kill_switch(operator, now=NOW)

    assert pipeline.price_products(NOW, now=NOW) == {"stopped": True}
    assert price_of(product) == TEN and not PriceChange.objects.exists()

    review.release_kill_switch(operator)

    assert pipeline.price_products(NOW, now=NOW)["pending"] == 1  # the engine runs again


def test_a_run_while_another_holds_the_engine_lock_is_skipped():
    ProductFactory()
    other = connection.copy()
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [pipeline.RUN_LOCK_KEY])

        assert pipeline.run_pricing(now=NOW) == {"skipped": "another pricing run is in progress"}
    finally:
        other.close()  # ends its session, and the lock with it

    assert not DemandSignal.objects.exists()
    assert pipeline.run_pricing(now=NOW)["signals"] == 1


# --- the guardrails hold over any sequence of signals ----------------------------------------------------------

signal_steps = st.lists(st.tuples(
    st.integers(min_value=1, max_value=60),  # half-hours until the next run
    st.floats(min_value=0, max_value=40), st.floats(min_value=0, max_value=10),  # units last day, trend
    st.floats(min_value=0, max_value=5), st.integers(min_value=0, max_value=500),  # views/hour, stock
    st.booleans(),  # an editor approves what is pending
), min_size=1, max_size=25)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=signal_steps, max_change=st.sampled_from(["1", "3", "5", "10", "25"]),
       interval_hours=st.sampled_from([1, 6, 24, 72]), auto_approve=st.sampled_from(["0", "2", "100"]),
       start=st.sampled_from(["8.00", "10.00", "13.00"]))
def test_applied_prices_never_leave_the_bounds_or_move_faster_than_allowed(steps, max_change, interval_hours,
                                                                           auto_approve, start):
    editor = user_with("approve_pricechange")
    with transaction.atomic():
        product = ProductFactory(base_price=TEN, price=Decimal(start), stock=0)
        rule = PricingRuleFactory(min_price=Decimal("8.00"), max_price=Decimal("13.00"), max_discount_percent=None,
                                  max_markup_percent=None, max_change_percent=Decimal(max_change),
                                  interval_hours=interval_hours, auto_approve_percent=Decimal(auto_approve))
        now = NOW
        for half_hours, last_day, trend, views, stock, approve in steps:
            now += dt.timedelta(minutes=30 * half_hours)
            DemandSignalFactory(product=product, as_of=now, views_per_hour=views, units_last_day=round(last_day),
                                units_daily_average=trend, stock=stock)
            pipeline.price_products(now, now=now)
            if approve:
                review.approve_changes(PriceChange.objects.filter(status="pending").values_list("pk", flat=True),
                                       editor, now=now)
        timeline = [(NOW - dt.timedelta(days=30), Decimal(start))] + list(
            PriceHistory.objects.order_by("changed_at", "pk").values_list("changed_at", "price"))
        transaction.set_rollback(True)

    limit, interval = rule.max_change_percent / 100, dt.timedelta(hours=rule.interval_hours)
    assert all(Decimal("8.00") <= price <= Decimal("13.00") for _, price in timeline), timeline
    # Price p_j, held until t_{j+1}, and a later price p_i set at t_i: if p_j was still held within one
    # interval before t_i, some span of one interval starts at p_j and ends at p_i.
    for i, (set_at, price) in enumerate(timeline[1:], start=1):
        for j in range(i):
            earlier, ended_at = timeline[j][1], timeline[j + 1][0]
            if ended_at > set_at - interval:
                assert abs(price - earlier) <= earlier * limit, (j, i, timeline)
