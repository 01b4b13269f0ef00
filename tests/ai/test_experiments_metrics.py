import datetime as dt
import itertools
import random
import uuid
from decimal import Decimal

import numpy as np
import pytest
from django.utils import timezone
from scipy import stats

from ai.experiments import metrics, serving
from commerce.events.services import link_visitor, store_events
from commerce.orders.models import LineItem, Order, Return
from tests.factories import CustomerFactory, ExperimentFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)
ORDER_NUMBERS = itertools.count()  # unique across calls: a test may place orders more than once


def event(event_type: str, experiment, variant: str, *, visitor=None, customer=None, at: dt.datetime) -> dict:
    return {"id": str(uuid.uuid4()), "created_at": at.isoformat(), "event_type": event_type,
            "customer_id": customer.pk if customer else None, "anonymous_id": str(visitor) if visitor else None,
            "experiments": {experiment.key: variant}}


def orders(*placed: tuple) -> list[Order]:
    """(visitor or customer, total, at[, status]) each; created_at set as given."""
    made = []
    for who, total, at, *status in placed:
        number = next(ORDER_NUMBERS)
        owner = {"customer": who} if hasattr(who, "user") else {"visitor_id": who}
        made.append(Order(number=f"T{number:07d}", email="shopper@example.com", full_name="S", line1="1 Road",
                          city="Leeds", postcode="LS1", currency="GBP", total=Decimal(total), created_at=at,
                          status=status[0] if status else Order.Status.PLACED, **owner))
    times = [order.created_at for order in made]
    created = Order.objects.bulk_create(made)  # stamps created_at with now (auto_now_add): set it back
    for order, at in zip(created, times, strict=True):
        order.created_at = at
    Order.objects.bulk_update(created, ["created_at"])
    return created


def returns(*requested: tuple) -> None:
    """(order, at[, status]) each: a return of the order's one line (made here), requested at ``at``."""
    lines = LineItem.objects.bulk_create([LineItem(order=order, title="Mug", unit_price=order.total, quantity=1)
                                          for order, *_ in requested])
    made = Return.objects.bulk_create([Return(line=line, quantity=1, reason=Return.Reason.CHANGED_MIND,
                                              status=status[0] if status else Return.Status.REQUESTED)
                                       for line, (_, _, *status) in zip(lines, requested, strict=True)])
    for return_, (_, at, *_) in zip(made, requested, strict=True):
        return_.created_at = at
    Return.objects.bulk_update(made, ["created_at"])


def exposed(experiment, variant: str, count: int, *, days_ago: float = 40) -> list[uuid.UUID]:
    visitors = [uuid.uuid4() for _ in range(count)]
    store_events([event("experiment_exposure", experiment, variant, visitor=v, at=NOW - dt.timedelta(days=days_ago))
                  for v in visitors])
    return visitors


# --- statistics on hand-computed cases ------------------------------------------------------------


def test_the_wilson_interval_of_20_in_100():
    interval = metrics.wilson_interval(20, 100)

    assert interval.value == 0.2
    assert interval.low == pytest.approx(0.13332, abs=1e-4) and interval.high == pytest.approx(0.28883, abs=1e-4)


def test_the_wilson_interval_stays_inside_0_and_1():
    none_in_ten = metrics.wilson_interval(0, 10)
    assert none_in_ten.low == 0.0 and none_in_ten.high == pytest.approx(0.2775, abs=1e-4)
    assert metrics.wilson_interval(10, 10).high == pytest.approx(1.0)
    assert metrics.wilson_interval(0, 0) is None


def test_the_t_interval_of_a_mean():
    # 10, 20, 30: mean 20, s = 10, t(0.975, 2) = 4.3027 → 20 ± 24.841
    interval = metrics.mean_interval(3, 20.0, 100.0)

    assert (interval.low, interval.high) == (pytest.approx(-4.841, abs=1e-3), pytest.approx(44.841, abs=1e-3))


def test_the_two_proportion_z_test_and_the_interval_of_the_difference():
    # 100/1000 vs 130/1000: pooled 0.115, z = 0.03 / 0.014267 = 2.1027; unpooled se 0.014251
    comparison = metrics.compare_proportions(100, 1000, 130, 1000)

    assert comparison.difference == pytest.approx(0.03)
    assert comparison.p_value == pytest.approx(0.03549, abs=1e-4) and comparison.significant
    assert (comparison.low, comparison.high) == (pytest.approx(0.00207, abs=1e-4), pytest.approx(0.05793, abs=1e-4))


def test_welch_t_test_matches_scipy_on_the_raw_values():
    control, treatment = [10.0, 12.0, 9.0, 11.0, 13.0], [14.0, 15.0, 11.0, 18.0, 16.0, 17.0]
    summary = [(len(v), sum(v) / len(v), stats.tvar(v)) for v in (control, treatment)]

    comparison = metrics.compare_means(*summary)

    expected = stats.ttest_ind(treatment, control, equal_var=False)
    interval = expected.confidence_interval(0.95)
    assert comparison.p_value == pytest.approx(expected.pvalue) and comparison.significant
    assert (comparison.low, comparison.high) == (pytest.approx(interval.low), pytest.approx(interval.high))


def test_sample_ratio_mismatch_is_flagged_at_5000_vs_4500_but_not_5000_vs_4980():
    assert metrics.sample_ratio_mismatch([5000, 4500], [50, 50]).mismatch
    assert not metrics.sample_ratio_mismatch([5000, 4980], [50, 50]).mismatch
    assert not metrics.sample_ratio_mismatch([7000, 3010], [70, 30]).mismatch
    assert metrics.sample_ratio_mismatch([5000, 5000], [70, 30]).mismatch


# --- metrics from events and orders ----------------------------------------------------------------


def test_search_to_purchase_conversion_counts_units_buying_within_7_days_of_exposure():
    experiment = ExperimentFactory(primary_metric="search_conversion")
    a, b = exposed(experiment, "a", 10), exposed(experiment, "b", 10)
    at = NOW - dt.timedelta(days=40)
    orders(
        (a[0], "10", at + dt.timedelta(days=1)), (a[1], "10", at + dt.timedelta(days=6)),
        (a[1], "10", at + dt.timedelta(days=6, hours=1)),  # a second order: still one converted unit
        (a[2], "10", at + dt.timedelta(days=8)),  # too late
        (a[3], "10", at - dt.timedelta(days=1)),  # before exposure
        (a[4], "10", at + dt.timedelta(days=1), Order.Status.CANCELLED),
        *[(visitor, "10", at + dt.timedelta(days=2)) for visitor in b[:5]],
    )

    result = metrics.results(experiment, as_of=NOW)

    control, treatment = result.variants
    conversion = "search_conversion"
    assert (control.units, treatment.units) == (10, 10)
    assert control.metrics[conversion].estimate.value == pytest.approx(0.2)
    assert treatment.metrics[conversion].estimate.value == pytest.approx(0.5)
    assert treatment.metrics[conversion].estimate.low == pytest.approx(metrics.wilson_interval(5, 10).low)
    assert treatment.metrics[conversion].comparison.difference == pytest.approx(0.3)


def test_a_customers_exposures_on_several_devices_are_one_unit():
    experiment = ExperimentFactory()
    customer = CustomerFactory()
    at = NOW - dt.timedelta(days=5)
    store_events([event("experiment_exposure", experiment, "b", customer=customer, visitor=uuid.uuid4(),
                        at=at + dt.timedelta(hours=hour)) for hour in range(3)])
    orders((customer, "42.00", at + dt.timedelta(days=1)))

    treatment = metrics.results(experiment, as_of=NOW).variants[1]

    assert treatment.units == 1
    assert treatment.metrics["search_conversion"].tally.total == 1
    assert treatment.metrics["average_order_value"].estimate.value == pytest.approx(42.0)


def test_a_guest_order_placed_before_logging_in_counts_for_the_customer_once():
    # Exposed as a visitor, bought as a guest, then logged in: login links the visitor to the customer
    # (events updated, VisitorLink written), so the unit is the customer and the guest order is theirs.
    experiment = ExperimentFactory(primary_metric="average_order_value")
    customer, browser = CustomerFactory(), uuid.uuid4()
    at = NOW - dt.timedelta(days=5)
    store_events([event("experiment_exposure", experiment, "b", visitor=browser, at=at)])
    orders((browser, "30.00", at + dt.timedelta(hours=1)), (customer, "50.00", at + dt.timedelta(days=1)))
    link_visitor(customer.pk, browser)

    treatment = metrics.results(experiment, as_of=NOW).variants[1]

    assert treatment.units == 1
    assert treatment.metrics["average_order_value"].tally.n == 2
    assert treatment.metrics["average_order_value"].estimate.value == pytest.approx(40.0)
    assert treatment.metrics["search_conversion"].tally.total == 1


def test_average_order_value_uses_the_orders_of_exposed_units_after_exposure():
    experiment = ExperimentFactory(primary_metric="average_order_value")
    [shopper] = exposed(experiment, "a", 1)
    at = NOW - dt.timedelta(days=40)
    orders((shopper, "10", at + dt.timedelta(days=1)), (shopper, "20", at + dt.timedelta(days=20)),
           (shopper, "30", at + dt.timedelta(days=30)), (shopper, "500", at - dt.timedelta(days=1)))

    aov = metrics.results(experiment, as_of=NOW).variants[0].metrics["average_order_value"]

    assert aov.tally.n == 3 and aov.estimate.value == pytest.approx(20.0)
    assert (aov.estimate.low, aov.estimate.high) == (pytest.approx(-4.841, abs=1e-3), pytest.approx(44.841, abs=1e-3))


def test_repeat_purchase_counts_purchasers_buying_again_within_30_days_of_their_first_purchase():
    experiment = ExperimentFactory(primary_metric="repeat_purchase", starts_at=NOW - dt.timedelta(days=120))
    again, late, once, recent = exposed(experiment, "a", 4, days_ago=100)
    at = NOW - dt.timedelta(days=100)
    orders((again, "10", at + dt.timedelta(days=1)), (again, "10", at + dt.timedelta(days=25)),
           (late, "10", at + dt.timedelta(days=1)), (late, "10", at + dt.timedelta(days=40)),
           (once, "10", at + dt.timedelta(days=2)),
           (recent, "10", NOW - dt.timedelta(days=10)))  # its 30 days have not passed: not counted yet

    repeat = metrics.results(experiment, as_of=NOW).variants[0].metrics["repeat_purchase"]

    assert (repeat.tally.n, repeat.tally.total) == (3, 1)
    assert repeat.estimate.low == pytest.approx(metrics.wilson_interval(1, 3).low)


def test_the_return_rate_counts_orders_with_a_return_requested_within_30_days():
    experiment = ExperimentFactory(primary_metric="return_rate")
    [shopper] = exposed(experiment, "a", 1)
    at = NOW - dt.timedelta(days=40)
    _, returned, late, rejected, recent = orders(
        *[(shopper, "10", at + dt.timedelta(days=day)) for day in (1, 2, 3, 4)],
        (shopper, "10", NOW - dt.timedelta(days=2)))
    returns((returned, returned.created_at + dt.timedelta(days=29)),
            (late, late.created_at + dt.timedelta(days=31)),  # after its 30 days
            (rejected, rejected.created_at + dt.timedelta(days=5), Return.Status.REJECTED),
            (recent, NOW + dt.timedelta(hours=1)))  # after as_of

    rate = metrics.results(experiment, as_of=NOW).variants[0].metrics["return_rate"]

    assert (rate.tally.n, rate.tally.total) == (5, 1)
    assert rate.estimate == metrics.wilson_interval(1, 5)


def test_click_through_is_clicks_over_impressions_of_tagged_beacon_events():
    experiment = ExperimentFactory()
    at, visitor = NOW - dt.timedelta(days=1), uuid.uuid4()
    store_events(
        [event("recommendation_impression", experiment, "a", visitor=visitor, at=at) for _ in range(100)]
        + [event("recommendation_click", experiment, "a", visitor=visitor, at=at) for _ in range(20)]
        + [event("recommendation_impression", experiment, "b", visitor=visitor, at=at) for _ in range(50)]
        + [event("recommendation_click", experiment, "b", visitor=visitor, at=at) for _ in range(15)]
        + [{**event("recommendation_click", experiment, "a", visitor=visitor, at=at), "experiments": {}}]
    )

    control, treatment = metrics.results(experiment, as_of=NOW).variants

    ctr = "recommendation_ctr"
    assert control.metrics[ctr].estimate == metrics.wilson_interval(20, 100)
    assert treatment.metrics[ctr].estimate.value == pytest.approx(0.3)
    assert treatment.metrics[ctr].comparison == metrics.compare_proportions(20, 100, 15, 50, alpha=0.05)


def test_rates_without_any_success_in_either_group_are_not_compared():
    assert metrics.compare_proportions(0, 500, 0, 400) is None
    assert metrics.compare_proportions(0, 500, 1, 400) is not None


def test_a_variant_is_labelled_once_as_the_control():
    def row(name, is_control):
        return metrics.VariantResult("trending", name, "Trending", 50, is_control, 0)

    assert row("Trending (control)", True).label == "Trending — control"
    assert row("Trending", True).label == "Trending — control"
    assert row("Personalised", False).label == "Personalised"


def test_results_compare_only_variants_that_reached_the_minimum_sample_like_their_control():
    experiment = ExperimentFactory(minimum_sample_size=50,
                                   variants=[("a", 40, "trending", True), ("b", 40, "personalised", False),
                                             ("c", 20, "personalised", False)])
    exposed(experiment, "a", 60)
    exposed(experiment, "b", 55)
    exposed(experiment, "c", 30)

    control, reached, short = metrics.results(experiment, as_of=NOW).variants

    assert control.sample_reached and not control.comparable
    assert reached.sample_reached and reached.comparable
    assert not short.sample_reached and not short.comparable


def test_no_treatment_is_comparable_while_the_control_is_below_its_minimum_sample():
    experiment = ExperimentFactory(minimum_sample_size=50)
    exposed(experiment, "a", 20)
    exposed(experiment, "b", 60)

    control, treatment = metrics.results(experiment, as_of=NOW).variants

    assert not control.sample_reached
    assert treatment.sample_reached and not treatment.comparable


def test_results_report_a_sample_ratio_mismatch_and_are_never_ready_then():
    experiment = ExperimentFactory(minimum_sample_size=10)
    exposed(experiment, "a", 300)
    exposed(experiment, "b", 200)

    result = metrics.results(experiment, as_of=NOW)

    assert result.sample_ratio.mismatch and not result.ready_to_decide
    assert "Sample ratio mismatch" in result.verdict


def test_the_daily_trend_is_the_cumulative_primary_metric():
    experiment = ExperimentFactory(primary_metric="search_conversion")
    day1, day2 = exposed(experiment, "a", 4, days_ago=3), exposed(experiment, "a", 4, days_ago=2)
    orders((day1[0], "10", NOW - dt.timedelta(days=2, hours=12)), (day2[0], "10", NOW - dt.timedelta(days=1)),
           (day2[1], "10", NOW - dt.timedelta(days=1)))

    trend = metrics.results(experiment, as_of=NOW).trend

    assert [value for _, value in trend["a"]] == [pytest.approx(0.25), pytest.approx(3 / 8)]
    assert [value for _, value in trend["b"]] == [None, None]


# --- end to end on simulated shoppers ----------------------------------------------------------------


def simulate(experiment, conversion: dict[str, float], *, shoppers: int = 4000, seed: int = 20261124) -> None:
    """Shoppers split by the real assignment function, each buying within 7 days with their variant's rate."""
    rng = random.Random(seed)
    definition = serving.definition(experiment.key)
    start = NOW - dt.timedelta(days=20)
    exposures, purchases = [], []
    for _ in range(shoppers):
        visitor = uuid.UUID(int=rng.getrandbits(128), version=4)
        variant = serving.hashed_variant(definition, visitor).key
        seen = start + dt.timedelta(minutes=rng.randrange(10 * 24 * 60))
        exposures.append(event("experiment_exposure", experiment, variant, visitor=visitor, at=seen))
        if rng.random() < conversion[variant]:
            purchases.append((visitor, f"{rng.uniform(20, 80):.2f}", seen + dt.timedelta(hours=rng.uniform(1, 150))))
    store_events(exposures)
    orders(*purchases)


def test_a_planted_30_percent_lift_in_conversion_is_detected():
    # A fixed key and seed: the split and the purchases are the same on every run.
    experiment = ExperimentFactory(key="planted-lift", surface="search", primary_metric="search_conversion",
                                   minimum_sample_size=1000,
                                   variants=[("a", 1, "hybrid", True), ("b", 1, "keyword", False)])
    simulate(experiment, {"a": 0.20, "b": 0.26})

    result = metrics.results(experiment, as_of=NOW)

    control, treatment = result.variants
    lift = treatment.metrics["search_conversion"].comparison
    assert not result.sample_ratio.mismatch
    assert lift.significant and 0 < lift.low < 0.06 < lift.high  # the planted +6 points lies in the interval
    assert result.ready_to_decide and "b (+)" in result.verdict


def test_two_identical_variants_show_no_significant_difference():
    experiment = ExperimentFactory(key="a-a-test", surface="search", primary_metric="search_conversion",
                                   minimum_sample_size=1000,
                                   variants=[("a", 1, "hybrid", True), ("b", 1, "hybrid", False)])
    simulate(experiment, {"a": 0.20, "b": 0.20})

    result = metrics.results(experiment, as_of=NOW)

    treatment = result.variants[1]
    assert not result.sample_ratio.mismatch
    assert not treatment.metrics["search_conversion"].comparison.significant
    assert not treatment.metrics["average_order_value"].comparison.significant
    assert not result.ready_to_decide and "no significant difference" in result.verdict


# --- CUPED ------------------------------------------------------------------------------------------


def tally_of(pairs: list[tuple[float, float]]) -> metrics.Tally:
    """A group's tally from its shoppers' (value, pre-exposure value)."""
    tally = metrics.Tally()
    for y, x in pairs:
        tally.add(1, y, y * y, x, x * x, x * y)
    return tally


def test_cuped_removes_what_the_pre_exposure_value_explains():
    # Y = 2X in both groups, +1 in the treatment: pooled var(X) = 0.8, cov(Y, X) = 1.6, so θ = 2; the adjusted
    # values are constant within each group (4 and 5): all variance removed, the difference of 1 kept.
    control, treatment = tally_of([(2, 1), (4, 2), (6, 3)]), tally_of([(3, 1), (5, 2), (7, 3)])

    adjusted_control, adjusted_treatment, reduction = metrics.cuped(control, treatment)

    assert (adjusted_control.mean, adjusted_treatment.mean) == (pytest.approx(4.0), pytest.approx(5.0))
    assert adjusted_control.variance == pytest.approx(0.0) and adjusted_treatment.variance == pytest.approx(0.0)
    assert reduction == pytest.approx(1.0)


def test_cuped_matches_adjusting_every_value_by_theta():
    rng = random.Random(7)
    control = [(x + rng.gauss(0, 1), x) for x in (rng.expovariate(1) for _ in range(200))]
    treatment = [(x + 0.3 + rng.gauss(0, 1), x) for x in (rng.expovariate(1) for _ in range(200))]
    ys, xs = zip(*(control + treatment), strict=True)
    theta = float(np.cov(ys, xs)[0, 1] / np.var(xs, ddof=1))

    def adjusted(group):
        return [y - theta * (x - np.mean(xs)) for y, x in group]

    summary_c, summary_t, reduction = metrics.cuped(tally_of(control), tally_of(treatment))

    assert summary_c.mean == pytest.approx(np.mean(adjusted(control)))
    assert summary_t.variance == pytest.approx(np.var(adjusted(treatment), ddof=1))
    raw = np.var([y for y, _ in control], ddof=1) / 200 + np.var([y for y, _ in treatment], ddof=1) / 200
    after = np.var(adjusted(control), ddof=1) / 200 + np.var(adjusted(treatment), ddof=1) / 200
    assert reduction == pytest.approx(1 - after / raw) and reduction > 0.3


def test_cuped_with_an_uninformative_covariate_changes_nothing():
    # X is orthogonal to Y over the pooled shoppers: θ = 0, so means and variances stay as they were.
    control, treatment = tally_of([(1, 1), (2, -1)]), tally_of([(3, -1), (4, 1)])

    adjusted_control, adjusted_treatment, reduction = metrics.cuped(control, treatment)

    assert (adjusted_control.mean, adjusted_control.variance) == (pytest.approx(1.5), pytest.approx(0.5))
    assert (adjusted_treatment.mean, adjusted_treatment.variance) == (pytest.approx(3.5), pytest.approx(0.5))
    assert reduction == pytest.approx(0.0)
    assert metrics.cuped(tally_of([(1, 5), (2, 5)]), tally_of([(3, 5), (4, 5)])) is None  # a constant covariate


def test_the_covariate_is_the_shoppers_orders_in_the_30_days_before_exposure():
    experiment = ExperimentFactory(primary_metric="search_conversion")
    a = exposed(experiment, "a", 3, days_ago=40)
    orders((a[0], "20", NOW - dt.timedelta(days=50)), (a[0], "5", NOW - dt.timedelta(days=45)),
           (a[1], "30", NOW - dt.timedelta(days=80)),  # 40 days before exposure: too early
           (a[2], "40", NOW - dt.timedelta(days=41), Order.Status.CANCELLED),
           (a[0], "10", NOW - dt.timedelta(days=39)))  # after exposure: the outcome

    tallies = metrics.daily_tallies(experiment, as_of=NOW)

    conversion, revenue = (metrics.Tally(), metrics.Tally())
    for day in tallies["search_conversion"]["a"].values():
        conversion.merge(day)
    for day in tallies["revenue_per_visitor"]["a"].values():
        revenue.merge(day)
    assert (conversion.n, conversion.total, conversion.x_total, conversion.products) == (3, 1, 1, 1)
    assert (revenue.total, revenue.x_total, revenue.x_squares, revenue.products) == (10, 25, 625, 250)


def totals(tallies: dict, metric: str, variant: str) -> metrics.Tally:
    total = metrics.Tally()
    for day in tallies[metric][variant].values():
        total.merge(day)
    return total


def test_the_order_metrics_covariates_are_the_shoppers_order_value_orders_and_returns_before_exposure():
    experiment = ExperimentFactory(primary_metric="average_order_value", starts_at=NOW - dt.timedelta(days=120))
    [shopper] = exposed(experiment, "a", 1, days_ago=80)
    exposure = NOW - dt.timedelta(days=80)
    before = orders((shopper, "20", exposure - dt.timedelta(days=20)),
                    (shopper, "40", exposure - dt.timedelta(days=10)),
                    (shopper, "90", exposure - dt.timedelta(days=31)))  # too early
    after = orders((shopper, "10", exposure + dt.timedelta(days=1)), (shopper, "50", exposure + dt.timedelta(days=5)))
    returns((before[0], exposure - dt.timedelta(days=5)),
            (before[1], exposure + dt.timedelta(days=1)),  # requested after exposure: the variant may have caused it
            (after[1], after[1].created_at + dt.timedelta(days=2)))

    tallies = metrics.daily_tallies(experiment, as_of=NOW)

    # average order value: each order's covariate is the shopper's earlier average order value, (20 + 40) / 2
    order_value = totals(tallies, "average_order_value", "a")
    assert (order_value.n, order_value.x_total, order_value.x_squares, order_value.products) == (2, 60, 1800, 1800)
    # repeat purchase: one purchaser, buying again, with 2 orders before exposure
    repeat = totals(tallies, "repeat_purchase", "a")
    assert (repeat.n, repeat.total, repeat.x_total, repeat.x_squares, repeat.products) == (1, 1, 2, 4, 2)
    # return rate: two orders, one returned; one order returned before exposure
    returned = totals(tallies, "return_rate", "a")
    assert (returned.n, returned.total, returned.x_total, returned.x_squares, returned.products) == (2, 1, 2, 2, 1)


def test_click_through_takes_each_impressions_shopper_clicks_before_exposure_as_covariate():
    experiment = ExperimentFactory()
    clicker, newcomer = exposed(experiment, "a", 2, days_ago=10)
    met = NOW - dt.timedelta(days=10)
    store_events(
        [{**event("recommendation_click", experiment, "a", visitor=clicker, at=met - dt.timedelta(days=d)),
          "experiments": {}} for d in (1, 2, 3, 31)]  # the last before the 30 days
        + [event("recommendation_impression", experiment, "a", visitor=who, at=met + dt.timedelta(hours=1))
           for who in (clicker, clicker, newcomer)]
        + [event("recommendation_click", experiment, "a", visitor=clicker, at=met + dt.timedelta(hours=1))])

    ctr = totals(metrics.daily_tallies(experiment, as_of=NOW), "recommendation_ctr", "a")

    assert (ctr.n, ctr.total, ctr.x_total, ctr.x_squares, ctr.products) == (3, 1, 6, 18, 3)


def planted_shoppers(experiment, *, per_variant: int = 120, seed: int = 5) -> None:
    """Shoppers whose past predicts their outcomes, alike in both variants: an appetite k (0–3) sets how many
    orders (of value 20 + 30k), recommendation clicks and returns they had in the 30 days before exposure,
    and, after it, their order values, their chance of buying again, of clicking an impression and of
    returning an order."""
    rng = random.Random(seed)
    exposure = NOW - dt.timedelta(days=40)
    placed, appetites, events = [], [], []
    for variant in ("a", "b"):
        for visitor in exposed(experiment, variant, per_variant, days_ago=40):
            k = rng.randrange(4)
            days = [-5 - day for day in range(k)] + [1] + ([10] if rng.random() < 0.2 + 0.25 * k else [])
            placed += [(visitor, f"{20 + 30 * k + rng.uniform(-5, 5):.2f}", exposure + dt.timedelta(days=day))
                       for day in days]
            appetites += [k] * len(days)
            events += [{**event("recommendation_click", experiment, variant, visitor=visitor,
                                at=exposure - dt.timedelta(days=2, hours=click)), "experiments": {}}
                       for click in range(k)]
            seen = exposure + dt.timedelta(hours=1)
            events += [event("recommendation_impression", experiment, variant, visitor=visitor, at=seen)] * 10
            events += [event("recommendation_click", experiment, variant, visitor=visitor, at=seen)
                       for _ in range(10) if rng.random() < 0.05 + 0.2 * k]
    store_events([{**e, "id": str(uuid.uuid4())} for e in events])
    returns(*[(order, order.created_at + dt.timedelta(days=2)) for order, k in zip(orders(*placed), appetites,
                                                                                   strict=True)
              if rng.random() < 0.1 + 0.25 * k])


def test_cuped_reduces_the_variance_of_each_metric_when_the_shoppers_past_predicts_it():
    experiment = ExperimentFactory(primary_metric="recommendation_ctr")
    planted_shoppers(experiment)

    treatment = metrics.results(experiment, as_of=NOW).variants[1]

    for metric in ("recommendation_ctr", "average_order_value", "repeat_purchase", "return_rate"):
        reduction = treatment.metrics[metric].sequential.variance_reduction
        assert reduction is not None and reduction > 0.05, metric


# --- always-valid inference ---------------------------------------------------------------------------


def test_msprt_matches_the_mixture_likelihood_ratio_of_johari_et_al():
    # Δ = 0.03, V = τ² = 0.0002: Λ = √½ · exp(0.03² · 0.0002 / (2 · 0.0002 · 0.0004)) = 0.70711 · e^1.125 = 2.17804;
    # half-width √(0.0004 · (ln 2 − 2 ln 0.05)) = 0.051709.
    p_value, half_width = metrics.msprt(0.03, 0.0002, 0.0002, 0.05)

    assert p_value == pytest.approx(1 / 2.17804, rel=1e-4)
    assert half_width == pytest.approx(0.051709, rel=1e-4)


def test_msprt_rejects_exactly_when_the_confidence_sequence_excludes_zero():
    for difference in (0.02, 0.0517, 0.0518, 0.08):
        p_value, half_width = metrics.msprt(difference, 0.0002, 0.0002, 0.05)
        assert (p_value < 0.05) == (abs(difference) > half_width)


def daily_means(rng: np.random.Generator, mean: float, days: int = 30, per_day: int = 50) -> dict:
    found = {}
    for day in range(days):
        values = rng.normal(mean, 10.0, per_day)
        found[NOW.date() + dt.timedelta(days=day)] = metrics.Tally(per_day, values.sum(), (values ** 2).sum())
    return found


def test_the_always_valid_test_keeps_its_false_positives_below_alpha_over_30_daily_looks():
    rng = np.random.default_rng(11)
    runs, sequential, peeking = 300, 0, 0
    for _ in range(runs):
        control, treatment = daily_means(rng, 50.0), daily_means(rng, 50.0)
        sequential += metrics.sequential_comparison(control, treatment, alpha=0.05, minimum_sample=750).significant
        running_c, running_t, looks = metrics.Tally(), metrics.Tally(), []
        for day in sorted(control):
            running_c.merge(control[day])
            running_t.merge(treatment[day])
            looks.append(metrics.compare_means((running_c.n, running_c.mean, running_c.variance),
                                               (running_t.n, running_t.mean, running_t.variance)).significant)
        peeking += any(looks)

    assert sequential / runs <= 0.05
    assert peeking / runs > 0.10  # the fixed-horizon test read daily: the inflation the sequential test avoids


def test_the_always_valid_test_finds_a_real_difference_and_covers_it():
    rng = np.random.default_rng(12)
    control, treatment = daily_means(rng, 50.0), daily_means(rng, 53.0)

    comparison = metrics.sequential_comparison(control, treatment, alpha=0.05, minimum_sample=750)

    assert comparison.significant and comparison.low < 3.0 < comparison.high
    assert comparison.variance_reduction is None  # no pre-exposure values: nothing adjusted


def test_the_always_valid_test_looks_only_once_each_group_has_a_hundred_values():
    def day(n: int, mean: float) -> dict:
        values = np.resize([mean - 1.0, mean + 1.0], n)
        return {NOW.date(): metrics.Tally(n, values.sum(), (values ** 2).sum())}

    assert metrics.sequential_comparison(day(99, 0.0), day(99, 5.0), alpha=0.05, minimum_sample=1000) is None
    assert metrics.sequential_comparison(day(100, 0.0), day(100, 5.0), alpha=0.05, minimum_sample=1000).significant


def test_the_decision_waits_for_the_always_valid_test_not_the_fixed_horizon_one():
    experiment = ExperimentFactory(key="fixed-only-lift", surface="search", primary_metric="search_conversion",
                                   minimum_sample_size=1000,
                                   variants=[("a", 1, "hybrid", True), ("b", 1, "keyword", False)])
    simulate(experiment, {"a": 0.20, "b": 0.235})

    result = metrics.results(experiment, as_of=NOW)

    lift = result.variants[1].metrics["search_conversion"]
    assert lift.comparison.significant and not lift.sequential.significant
    assert lift.sequential.p_value > lift.comparison.p_value
    assert not result.ready_to_decide and "no significant difference" in result.verdict
