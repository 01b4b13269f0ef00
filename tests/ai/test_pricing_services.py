import datetime as dt
import uuid
from decimal import Decimal

import numpy as np
import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ai.pricing import demand_model, services
from ai.pricing.models import DemandModel, DemandSignal, KillSwitch, PriceChange, PriceHistory, Strategy
from ai.pricing.services import Proposal, Signals
from commerce.catalogue.models import Product
from commerce.catalogue.services import product_price
from commerce.events.services import store_events
from tests.factories import (
    CategoryFactory,
    PriceChangeFactory,
    PricingRuleFactory,
    ProductFactory,
    UserFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)  # a 30-minute slot boundary


def seed(event_type, product, hours_ago, *, quantity=1, price=None, now=NOW):
    store_events([{"id": str(uuid.uuid4()), "created_at": (now - dt.timedelta(hours=hours_ago)).isoformat(),
                   "event_type": event_type, "product_id": product.pk, "quantity": quantity,
                   "price": str(price) if price is not None else None}])


def signal(product, *, as_of=NOW, views_per_hour=0.0, add_to_cart_rate=None, units_last_day=0.0,
           units_daily_average=0.0, stock=None, stock_cover_days=None) -> DemandSignal:
    stock = product.stock if stock is None else stock
    expected = max(units_last_day, units_daily_average)
    return DemandSignal.objects.update_or_create(product=product, defaults={
        "as_of": as_of, "views_per_hour": views_per_hour, "add_to_cart_rate": add_to_cart_rate,
        "units_last_day": units_last_day, "units_daily_average": units_daily_average,
        "stock": stock,
        "stock_cover_days": stock / expected if expected else stock_cover_days,
    })[0]


def hot(product, **kwargs) -> DemandSignal:
    """Demand well above trend (12 sold in the last day vs 4/day): the rule-based strategy raises 5 %."""
    return signal(product, units_last_day=12, units_daily_average=4, stock=500, views_per_hour=3, **kwargs)


def approver():
    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="approve_pricechange"))
    return type(user).objects.get(pk=user.pk)  # fresh: permissions are cached per instance


def switch_operator():
    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="change_killswitch"))
    return type(user).objects.get(pk=user.pk)


def reload(product) -> Product:
    return Product.objects.get(pk=product.pk)


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
    services.compute_demand_signals(NOW)
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

    assert services.compute_demand_signals(NOW) == 1

    row = DemandSignal.objects.get(product=quiet)
    assert (row.views_per_hour, row.add_to_cart_rate, row.units_last_day, row.velocity_ratio) == (0, None, 0, None)
    assert (row.stock, row.expected_daily_units, row.stock_cover_days) == (7, 0, None)
    assert not DemandSignal.objects.filter(product=gone).exists()


def test_recomputing_signals_replaces_them_and_drops_products_no_longer_sold():
    mug, lamp = ProductFactory(), ProductFactory()
    services.compute_demand_signals(NOW - dt.timedelta(minutes=30))
    Product.objects.filter(pk=lamp.pk).update(active=False)

    services.compute_demand_signals(NOW)

    assert list(DemandSignal.objects.values_list("product_id", "as_of")) == [(mug.pk, NOW)]


def test_signal_time_is_the_start_of_the_30_minute_slot():
    assert services.signal_time(NOW + dt.timedelta(minutes=29, seconds=59)) == NOW
    assert services.signal_time(NOW + dt.timedelta(minutes=30)) == NOW + dt.timedelta(minutes=30)


# --- rule precedence -----------------------------------------------------------------------------------


def test_the_most_specific_rule_wins():
    home = CategoryFactory(name="Home")
    kitchen = CategoryFactory(name="Kitchen", parent=home)
    mugs = CategoryFactory(name="Mugs", parent=kitchen)
    own_rule_product, mug, pan, elsewhere = (ProductFactory(category=mugs), ProductFactory(category=mugs),
                                             ProductFactory(category=kitchen), ProductFactory())
    everywhere = PricingRuleFactory(name="global")
    home_rule = PricingRuleFactory(name="home", category=home)
    own = PricingRuleFactory(name="own", product=own_rule_product)

    governed = services.resolve_rules([(p.pk, p.category_id) for p in (own_rule_product, mug, pan, elsewhere)])

    assert governed == {own_rule_product.pk: own, mug.pk: home_rule, pan.pk: home_rule, elsewhere.pk: everywhere}
    kitchen_rule = PricingRuleFactory(name="kitchen", category=kitchen)
    assert services.rule_for(mug) == kitchen_rule  # nearer than home
    assert services.rule_for(own_rule_product) == own


def test_a_disabled_specific_rule_keeps_its_products_out_of_dynamic_pricing():
    kept_out = ProductFactory(base_price=Decimal("10.00"))
    PricingRuleFactory(name="global", auto_approve_percent=Decimal("100"))
    PricingRuleFactory(product=kept_out, enabled=False)
    priced = ProductFactory(base_price=Decimal("10.00"))
    hot(kept_out)
    hot(priced)

    summary = services.price_products(NOW, now=NOW)

    assert summary["not_governed"] == 1 and summary["applied"] == 1
    assert reload(kept_out).price == Decimal("10.00")
    assert reload(priced).price == Decimal("10.50")


def test_without_any_rule_nothing_is_priced():
    product = ProductFactory()
    hot(product)
    assert services.price_products(NOW, now=NOW)["not_governed"] == 1
    assert not PriceChange.objects.exists()


# --- the rule-based strategy ---------------------------------------------------------------------------------

TEN = Decimal("10.00")


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
    proposal = services.rule_based_proposal(signals, TEN)
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
    proposal, = services.model_proposals(elastic_model, [model_item()])
    assert proposal.price < Decimal("9.50")
    assert proposal.reason.startswith("demand model: expected revenue")
    assert proposal.expected_revenue_gain > 0.02


def test_the_model_strategy_raises_an_inelastic_product_to_raise_revenue(inelastic_model):
    proposal, = services.model_proposals(inelastic_model, [model_item()])
    assert proposal.price > Decimal("10.50")


def test_the_model_strategy_holds_where_it_has_never_seen_the_prices_allowed(elastic_model):
    proposal, = services.model_proposals(elastic_model, [model_item(current="20.00", low="19.00", high="21.00")])
    assert proposal == Proposal(Decimal("20.00"), "hold: demand model has not seen prices in the allowed range")


def store(trained: demand_model.TrainedModel) -> DemandModel:
    return services.store_demand_model(trained, training_rows=trained.metrics["rows"])


def test_a_rule_picks_the_model_strategy_and_the_engine_uses_the_stored_model(elastic_model):
    product = ProductFactory(base_price=TEN)
    PricingRuleFactory(strategy=Strategy.MODEL, auto_approve_percent=Decimal("100"))
    signal(product, views_per_hour=5 * 10 / 24, add_to_cart_rate=0.1, units_last_day=5, units_daily_average=5,
           stock=100)
    store(elastic_model)

    services.price_products(NOW, now=NOW)

    change = PriceChange.objects.get()
    assert change.strategy == Strategy.MODEL and change.reason.startswith("demand model")
    assert Decimal("9.00") <= change.new_price < Decimal("9.50")  # lower, within 10 % a day
    assert reload(product).price == change.new_price


def test_the_model_strategy_falls_back_to_rules_until_a_model_is_trained():
    product = ProductFactory(base_price=TEN)
    PricingRuleFactory(strategy=Strategy.MODEL, auto_approve_percent=Decimal("100"))
    hot(product)

    services.price_products(NOW, now=NOW)

    change = PriceChange.objects.get()
    assert change.reason.startswith("no demand model trained yet, rule-based: raise 5%")
    assert change.new_price == Decimal("10.50")


def test_the_model_is_trained_once_enough_history_with_varied_prices_exists(monkeypatch):
    monkeypatch.setattr(demand_model, "MIN_TRAINING_ROWS", 300)
    now = NOW.replace(hour=0)
    products = [ProductFactory(base_price=TEN) for _ in range(12)]
    rng = np.random.default_rng(3)
    events = []
    for day in range(1, 61):
        for product in products:
            price = TEN if day % 3 else Decimal(f"{rng.choice([8.5, 9.0, 11.0, 11.5]):.2f}")
            when = (now - dt.timedelta(days=day, hours=-12)).isoformat()
            events += [{"id": str(uuid.uuid4()), "created_at": when, "event_type": "view", "product_id": product.pk,
                        "price": str(price)} for _ in range(10)]
            units = int(rng.poisson(4 * float(price / TEN) ** -2))  # elasticity −2
            if units:
                events.append({"id": str(uuid.uuid4()), "created_at": when, "event_type": "purchase",
                               "product_id": product.pk, "quantity": units, "price": str(price)})
    store_events(events)
    assert services.train_demand_model(now=now - dt.timedelta(days=50)) is None  # 10 days: not enough yet

    stored = services.train_demand_model(now=now)

    assert stored is not None and stored.training_rows >= 300
    assert stored.price_ratio_low < 1 < stored.price_ratio_high
    # planted: −2 (monotonic constraints alone only guarantee ≤ 0)
    assert -3.0 < demand_model.arc_elasticity(services.latest_model(), services.shop_panel(now).features) < -1.0


# --- the engine: auto-approve band, pending changes, guardrails, idempotency -----------------------------


def test_a_change_within_the_auto_approve_band_is_applied_and_recorded(django_capture_on_commit_callbacks):
    product = ProductFactory(base_price=TEN)
    PricingRuleFactory(auto_approve_percent=Decimal("5"))
    hot(product)
    assert product_price(product.pk).price == TEN  # cached

    with django_capture_on_commit_callbacks(execute=True):
        summary = services.price_products(NOW, now=NOW)

    assert summary["applied"] == 1
    assert reload(product).price == Decimal("10.50")
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
    hot(product)

    assert services.price_products(NOW, now=NOW)["pending"] == 1

    assert reload(product).price == TEN
    assert PriceChange.objects.get().status == PriceChange.Status.PENDING
    assert not PriceHistory.objects.exists()


def test_running_twice_for_the_same_signals_changes_nothing_more():
    product = ProductFactory(base_price=TEN)
    PricingRuleFactory(auto_approve_percent=Decimal("100"))
    hot(product)
    services.price_products(NOW, now=NOW)

    again = services.price_products(NOW, now=NOW + dt.timedelta(minutes=5))

    assert again["already_decided"] == 1 and again.get("applied", 0) == 0
    assert reload(product).price == Decimal("10.50")
    assert PriceChange.objects.count() == PriceHistory.objects.count() == 1


def test_a_newer_proposal_supersedes_the_pending_one_and_a_hold_withdraws_it():
    product = ProductFactory(base_price=TEN)
    PricingRuleFactory(auto_approve_percent=Decimal("0"))
    hot(product)
    services.price_products(NOW, now=NOW)
    later = NOW + dt.timedelta(minutes=30)
    signal(product, as_of=later, units_last_day=1, units_daily_average=4, stock=100, views_per_hour=3)

    services.price_products(later, now=later)

    assert list(PriceChange.objects.order_by("created_at").values_list("status", "new_price")) == [
        (PriceChange.Status.SUPERSEDED, Decimal("10.50")), (PriceChange.Status.PENDING, Decimal("9.50"))]
    latest = later + dt.timedelta(minutes=30)
    signal(product, as_of=latest, units_last_day=4, units_daily_average=4, stock=100, views_per_hour=3)
    services.price_products(latest, now=latest)
    assert not PriceChange.objects.filter(status=PriceChange.Status.PENDING).exists()


def test_proposals_are_clipped_by_the_change_limit_per_interval():
    product = ProductFactory(base_price=TEN)
    PricingRuleFactory(max_change_percent=Decimal("3"), interval_hours=24, auto_approve_percent=Decimal("100"))
    hot(product)

    services.price_products(NOW, now=NOW)

    change = PriceChange.objects.get()
    assert (change.proposed_price, change.new_price) == (Decimal("10.50"), Decimal("10.30"))
    assert "the guardrails allow 9.70–10.30" in change.reason
    later = NOW + dt.timedelta(hours=6)
    hot(product, as_of=later)
    services.price_products(later, now=later)  # still within the interval that started at 10.00
    assert reload(product).price == Decimal("10.30")
    tomorrow = NOW + dt.timedelta(hours=24, minutes=30)
    hot(product, as_of=tomorrow)
    services.price_products(tomorrow, now=tomorrow)
    assert reload(product).price == Decimal("10.60")  # 10.30 × 1.03 = 10.609, rounded down


def test_proposals_are_clipped_by_the_rules_bounds():
    product = ProductFactory(base_price=TEN, price=Decimal("10.40"))
    PricingRuleFactory(max_price=Decimal("10.45"), max_markup_percent=None, auto_approve_percent=Decimal("100"))
    hot(product)

    services.price_products(NOW, now=NOW)

    assert reload(product).price == Decimal("10.45")


def test_a_price_outside_its_rules_bounds_moves_inside_at_once():
    product = ProductFactory(base_price=TEN, price=Decimal("15.00"))
    PricingRuleFactory(max_change_percent=Decimal("5"), auto_approve_percent=Decimal("0"))  # max 12.00
    signal(product, units_last_day=4, units_daily_average=4, stock=100, views_per_hour=3)  # "hold"

    services.price_products(NOW, now=NOW)

    change = PriceChange.objects.get()
    assert (change.status, change.new_price) == (PriceChange.Status.APPLIED, Decimal("12.00"))
    assert change.reason == "outside its rule's bounds 8.00–12.00"


def test_enforcing_a_rules_bounds_moves_only_the_products_it_governs():
    shelf = CategoryFactory()
    dear, cheap, own_rule = (ProductFactory(category=shelf, base_price=TEN, price=Decimal("13.00")),
                             ProductFactory(category=shelf, base_price=TEN, price=Decimal("7.00")),
                             ProductFactory(category=shelf, base_price=TEN, price=Decimal("13.00")))
    PricingRuleFactory(product=own_rule, max_markup_percent=Decimal("50"))
    rule = PricingRuleFactory(category=shelf)  # 8.00–12.00

    assert services.enforce_rule_bounds(rule, now=NOW) == 2

    assert [reload(p).price for p in (dear, cheap, own_rule)] == [Decimal("12.00"), Decimal("8.00"), Decimal("13.00")]
    assert set(PriceHistory.objects.values_list("source", "reason")) == {
        (PriceHistory.Source.RULE_BOUNDS, f"rule “{rule.name}” allows 12.00 at most"),
        (PriceHistory.Source.RULE_BOUNDS, f"rule “{rule.name}” allows 8.00 at least"),
    }


# --- approvals and permissions -------------------------------------------------------------------------------


@pytest.fixture
def pending():
    """A pending 10.00 → 10.80 change under the default rule (±20 %, 10 % a day)."""
    PricingRuleFactory()
    return PriceChangeFactory(product=ProductFactory(base_price=TEN))


def test_an_approver_applies_pending_changes_and_who_and_when_are_recorded(pending):
    editor = approver()
    second = PriceChangeFactory(product=ProductFactory(base_price=Decimal("20.00")), new_price=Decimal("21.00"))

    outcome = services.approve_changes([pending.pk, second.pk], editor, now=NOW)

    assert outcome == services.ApprovalOutcome(applied=2, expired=0)
    assert reload(pending.product).price == Decimal("10.80")
    assert reload(second.product).price == Decimal("21.00")
    pending.refresh_from_db()
    assert (pending.status, pending.decided_by, pending.decided_at) == (PriceChange.Status.APPLIED, editor, NOW)
    assert set(PriceHistory.objects.values_list("source", "changed_by")) == {(PriceHistory.Source.APPROVED, editor.pk)}


def test_only_editors_with_the_pricing_permission_approve_or_reject(pending):
    merchandiser = UserFactory()
    merchandiser.user_permissions.add(Permission.objects.get(codename="view_pricechange"),
                                      Permission.objects.get(codename="change_product"))

    with pytest.raises(PermissionDenied):
        services.approve_changes([pending.pk], merchandiser)
    with pytest.raises(PermissionDenied):
        services.reject_changes([pending.pk], merchandiser)

    pending.refresh_from_db()
    assert pending.status == PriceChange.Status.PENDING and reload(pending.product).price == TEN


def test_rejecting_keeps_the_price_and_records_the_decision(pending):
    editor = approver()
    assert services.reject_changes([pending.pk], editor, now=NOW) == 1
    pending.refresh_from_db()
    assert (pending.status, pending.decided_by) == (PriceChange.Status.REJECTED, editor)
    assert reload(pending.product).price == TEN
    assert services.approve_changes([pending.pk], editor).applied == 0  # decided: nothing left to approve


def test_a_change_that_no_longer_fits_expires_instead_of_applying(pending):
    moved_meanwhile = PriceChangeFactory(product=ProductFactory(base_price=TEN))
    Product.objects.filter(pk=moved_meanwhile.product_id).update(price=Decimal("9.50"))
    # A change was applied an hour ago: 10.80 would now be 12.6 % above the 9.59 of an hour ago.
    PriceHistory.objects.create(product=pending.product, previous_price=Decimal("9.59"), price=TEN,
                                changed_at=NOW - dt.timedelta(hours=1), source=PriceHistory.Source.AUTOMATIC)

    outcome = services.approve_changes([pending.pk, moved_meanwhile.pk], approver(), now=NOW)

    assert outcome == services.ApprovalOutcome(applied=0, expired=2)
    assert set(PriceChange.objects.values_list("status", flat=True)) == {PriceChange.Status.EXPIRED}
    assert reload(pending.product).price == TEN


# --- the kill switch ---------------------------------------------------------------------------------------------


def test_the_kill_switch_returns_every_product_to_base_and_stops_the_engine(pending,
                                                                          django_capture_on_commit_callbacks):
    moved = ProductFactory(base_price=TEN, price=Decimal("11.50"))
    untouched = ProductFactory(base_price=TEN)
    assert product_price(moved.pk).price == Decimal("11.50")
    operator = switch_operator()

    with django_capture_on_commit_callbacks(execute=True):
        assert services.engage_kill_switch(operator, now=NOW) == 1

    assert reload(moved).price == TEN and reload(untouched).price == TEN
    assert product_price(moved.pk).price == TEN
    history = PriceHistory.objects.get()
    assert (history.source, history.previous_price, history.changed_by) == (
        PriceHistory.Source.KILL_SWITCH, Decimal("11.50"), operator)
    pending.refresh_from_db()
    assert pending.status == PriceChange.Status.CANCELLED
    hot(untouched)
    assert services.price_products(NOW, now=NOW) == {"stopped": True}
    assert reload(untouched).price == TEN
    with pytest.raises(services.PricingStopped):
        services.approve_changes([], approver())

    services.release_kill_switch(operator)

    assert services.price_products(NOW, now=NOW)["pending"] == 1  # the engine runs again


def test_only_the_kill_switch_permission_operates_it():
    with pytest.raises(PermissionDenied):
        services.engage_kill_switch(approver())
    assert not services.kill_switch_engaged()
    assert not KillSwitch.objects.filter(engaged=True).exists()


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
    editor = approver()
    with transaction.atomic():
        product = ProductFactory(base_price=TEN, price=Decimal(start), stock=0)
        rule = PricingRuleFactory(min_price=Decimal("8.00"), max_price=Decimal("13.00"), max_discount_percent=None,
                                  max_markup_percent=None, max_change_percent=Decimal(max_change),
                                  interval_hours=interval_hours, auto_approve_percent=Decimal(auto_approve))
        now = NOW
        for half_hours, last_day, trend, views, stock, approve in steps:
            now += dt.timedelta(minutes=30 * half_hours)
            signal(product, as_of=now, views_per_hour=views, units_last_day=round(last_day),
                   units_daily_average=trend, stock=stock)
            services.price_products(now, now=now)
            if approve:
                services.approve_changes(PriceChange.objects.filter(status="pending").values_list("pk", flat=True),
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
