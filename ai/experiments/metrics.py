"""Per-variant business metrics with 95% intervals, tests against the control, and the SRM check.

Only six metrics exist, all of them money or its direct precursors: recommendation click-through,
search-to-purchase conversion, average order value, 30-day repeat purchase, revenue per exposed shopper and
the 30-day return rate (the one where lower is better). Nothing is concluded from proxies (time on site,
pages per visit).

Each difference from the control is tested twice: the fixed-horizon test (z or Welch), valid only when read
once at the planned sample size, and the always-valid mixture SPRT over the daily looks, valid whenever it is
read. Decisions and guardrails use the always-valid one, on CUPED-adjusted values: every value (a shopper's,
an order's, an impression's) has as covariate its shopper's behaviour in the 30 days before exposure
(``COVARIATES`` says which).

A unit is a customer when the exposure event knows one, else the anonymous visitor id. Its variant and
exposure time are those of its first exposure in the experiment's window. Each query is one set-based
pass grouped by (variant, day) and returns additive tallies (n, sum, sum of squares), so totals and the
daily trend come from the same rows. The exposures and recommendation events are ``commerce.events``'
queries, the orders ``commerce.orders``'; this module only groups them.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.utils import timezone
from scipy import stats

from ai.experiments.models import Experiment, Metric
from commerce.events.queries import (
    exposed_per_variant,
    first_exposures_query,
    recommendation_engagement_per_variant,
    visitor_links_query,
)
from commerce.orders.services import first_returns_query, orders_after_exposure_query, orders_before_exposure_query

CONFIDENCE = 0.95
ALPHA = 1 - CONFIDENCE
SRM_ALPHA = 0.001  # strict: an SRM flags broken assignment or logging, and a false alarm stops a test
CONVERSION_DAYS = 7
REPEAT_DAYS = 30
RETURN_DAYS = 30
PROPORTIONS = frozenset({Metric.RECOMMENDATION_CTR, Metric.SEARCH_CONVERSION, Metric.REPEAT_PURCHASE,
                         Metric.RETURN_RATE})
# What a metric's n counts (the results page's column and "no … yet").
UNITS_OF = {Metric.RECOMMENDATION_CTR: "impressions", Metric.SEARCH_CONVERSION: "shoppers",
            Metric.AVERAGE_ORDER_VALUE: "orders", Metric.REPEAT_PURCHASE: "purchasers",
            Metric.REVENUE_PER_VISITOR: "shoppers", Metric.RETURN_RATE: "orders"}
PRE_EXPOSURE_DAYS = 30
# CUPED's covariate of each metric: the shopper's behaviour in the PRE_EXPOSURE_DAYS before their first
# exposure, which the variant cannot have changed (the results page's method notes list these).
COVARIATES = {Metric.RECOMMENDATION_CTR: "recommendation clicks", Metric.SEARCH_CONVERSION: "whether they bought",
              Metric.AVERAGE_ORDER_VALUE: "average order value (0 without an order)",
              Metric.REPEAT_PURCHASE: "orders placed", Metric.REVENUE_PER_VISITOR: "spend",
              Metric.RETURN_RATE: "orders with a return requested before exposure"}
# Values (shoppers, orders, impressions) each group needs before a look of the always-valid test counts: the
# test takes the variances from the data, and an early look on a handful would stay in its p-value for good.
FIRST_LOOK = 100


# --- statistics -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    value: float
    low: float
    high: float


@dataclass(frozen=True)
class Comparison:
    """Treatment minus control."""

    difference: float
    low: float
    high: float
    p_value: float
    significant: bool


@dataclass(frozen=True)
class SequentialComparison(Comparison):
    """The always-valid comparison: p-value and confidence sequence hold at every daily look."""

    variance_reduction: float | None = None  # CUPED's share of the difference's variance removed (None: the
    # covariate did not vary, e.g. nobody bought before exposure, so nothing was adjusted)


def _z(confidence: float = CONFIDENCE) -> float:
    return float(stats.norm.ppf(1 - (1 - confidence) / 2))


def wilson_interval(successes: int, trials: int, confidence: float = CONFIDENCE) -> Interval | None:
    """Wilson score interval: stays inside [0, 1] and keeps its coverage at small counts and rates near 0."""
    if trials <= 0:
        return None
    z, p = _z(confidence), successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half))


def mean_interval(n: int, mean: float, variance: float, confidence: float = CONFIDENCE) -> Interval | None:
    """Student t interval of a mean from its sample variance (one value: no spread, so the point only)."""
    if n <= 0:
        return None
    if n == 1:
        return Interval(mean, mean, mean)
    half = float(stats.t.ppf(1 - (1 - confidence) / 2, n - 1)) * math.sqrt(variance / n)
    return Interval(mean, mean - half, mean + half)


def compare_proportions(control_successes: int, control_trials: int, successes: int, trials: int,
                        alpha: float = ALPHA) -> Comparison | None:
    """Two-proportion z-test (pooled standard error under H0) with the Wald interval of the difference
    (unpooled). None without trials, or when no trial (or every trial) succeeded in both groups: with
    nothing varying there is nothing to test, and "0 – 0, p = 1" would read as a result."""
    if control_trials <= 0 or trials <= 0:
        return None
    p_control, p = control_successes / control_trials, successes / trials
    pooled = (control_successes + successes) / (control_trials + trials)
    if pooled in (0.0, 1.0):
        return None
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / control_trials + 1 / trials))
    difference = p - p_control
    p_value = 2 * float(stats.norm.sf(abs(difference) / se_pooled))
    half = _z(1 - alpha) * math.sqrt(p * (1 - p) / trials + p_control * (1 - p_control) / control_trials)
    return Comparison(difference, difference - half, difference + half, p_value, p_value < alpha)


def compare_means(control: tuple[int, float, float], treatment: tuple[int, float, float],
                  alpha: float = ALPHA) -> Comparison | None:
    """Welch's t-test from (n, mean, sample variance) of each group, with the Welch–Satterthwaite interval."""
    (n_c, mean_c, var_c), (n_t, mean_t, var_t) = control, treatment
    if n_c < 2 or n_t < 2:
        return None
    difference = mean_t - mean_c
    se2 = var_t / n_t + var_c / n_c
    if se2 == 0:
        return Comparison(difference, difference, difference, 1.0 if difference == 0 else 0.0, difference != 0)
    df = se2 ** 2 / ((var_t / n_t) ** 2 / (n_t - 1) + (var_c / n_c) ** 2 / (n_c - 1))
    result = stats.ttest_ind_from_stats(mean_t, math.sqrt(var_t), n_t, mean_c, math.sqrt(var_c), n_c, equal_var=False)
    half = float(stats.t.ppf(1 - alpha / 2, df)) * math.sqrt(se2)
    p_value = float(result.pvalue)
    return Comparison(difference, difference - half, difference + half, p_value, p_value < alpha)


@dataclass(frozen=True)
class SampleRatio:
    counts: tuple[int, ...]
    expected: tuple[float, ...]
    p_value: float
    mismatch: bool


def sample_ratio_mismatch(counts: list[int], weights: list[float], alpha: float = SRM_ALPHA) -> SampleRatio:
    """Chi-square goodness of fit of the exposed units against the configured weights."""
    total, weight_sum = sum(counts), sum(weights)
    expected = tuple(total * weight / weight_sum for weight in weights)
    if total == 0:
        return SampleRatio(tuple(counts), expected, 1.0, False)
    p_value = float(stats.chisquare(counts, expected).pvalue)
    return SampleRatio(tuple(counts), expected, p_value, p_value < alpha)


# --- variance reduction and always-valid inference -------------------------------------------------


@dataclass
class Tally:
    """Additive sufficient statistics: n trials (or values), their sum, and sum of squares; for CUPED also
    the covariate's sum and sum of squares and the sum of value × covariate."""

    n: int = 0
    total: float = 0.0
    squares: float = 0.0
    x_total: float = 0.0
    x_squares: float = 0.0
    products: float = 0.0

    def add(self, n, total, squares, x_total=0, x_squares=0, products=0) -> None:
        self.n += int(n)
        self.total += float(total or 0)
        self.squares += float(squares or 0)
        self.x_total += float(x_total or 0)
        self.x_squares += float(x_squares or 0)
        self.products += float(products or 0)

    def merge(self, other: Tally) -> None:
        self.add(other.n, other.total, other.squares, other.x_total, other.x_squares, other.products)

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else 0.0

    @property
    def x_mean(self) -> float:
        return self.x_total / self.n if self.n else 0.0

    def _co(self, sum_ab: float, sum_a: float, sum_b: float) -> float:
        return (sum_ab - sum_a * sum_b / self.n) / (self.n - 1) if self.n >= 2 else 0.0

    @property
    def variance(self) -> float:
        return max(0.0, self._co(self.squares, self.total, self.total))

    @property
    def x_variance(self) -> float:
        return max(0.0, self._co(self.x_squares, self.x_total, self.x_total))

    @property
    def covariance(self) -> float:
        return self._co(self.products, self.total, self.x_total)


@dataclass(frozen=True)
class Summary:
    """A group's size, mean and sample variance (of its values, or of its CUPED-adjusted values)."""

    n: int
    mean: float
    variance: float


def cuped(control: Tally, treatment: Tally) -> tuple[Summary, Summary, float] | None:
    """CUPED (Deng, Xu, Kohavi & Walker 2013): each value Y becomes Y − θ(X − mean X), X the shopper's
    pre-exposure value, θ = cov(Y, X) ÷ var(X) over both groups pooled (X does not depend on the variant, so
    the difference of means stays unbiased). Returns both groups adjusted and the share of the variance of
    the difference removed (ρ² for one shared θ); None when the covariate does not vary or a group has
    fewer than two values."""
    pooled = Tally()
    pooled.merge(control)
    pooled.merge(treatment)
    if control.n < 2 or treatment.n < 2 or pooled.x_variance == 0:
        return None
    theta = pooled.covariance / pooled.x_variance

    def adjusted(group: Tally) -> Summary:
        return Summary(group.n, group.mean - theta * (group.x_mean - pooled.x_mean),
                       max(0.0, group.variance - 2 * theta * group.covariance + theta * theta * group.x_variance))

    control_adjusted, treatment_adjusted = adjusted(control), adjusted(treatment)
    before = control.variance / control.n + treatment.variance / treatment.n
    after = control_adjusted.variance / control.n + treatment_adjusted.variance / treatment.n
    return control_adjusted, treatment_adjusted, (1 - after / before) if before > 0 else 0.0


def msprt(difference: float, variance: float, mixing_variance: float, alpha: float) -> tuple[float, float]:
    """One look of the mixture SPRT (Johari, Koomen, Pekelis & Walsh 2017, "Peeking at A/B tests"), with a
    normal N(0, τ²) mixture over the true difference: the likelihood ratio of the estimated difference Δ
    (variance V) is Λ = √(V ÷ (V + τ²)) · exp(Δ² τ² ÷ (2 V (V + τ²))). Returns (1 ÷ Λ capped at 1, the
    half-width of the 1 − α confidence sequence √(V (V + τ²) ÷ τ² · (ln((V + τ²) ÷ V) − 2 ln α)))."""
    v, tau2 = variance, mixing_variance
    log_ratio = 0.5 * math.log(v / (v + tau2)) + difference * difference * tau2 / (2 * v * (v + tau2))
    half_width = math.sqrt(v * (v + tau2) / tau2 * (math.log((v + tau2) / v) - 2 * math.log(alpha)))
    return min(1.0, math.exp(-log_ratio)), half_width


def _look(control: Tally, treatment: Tally) -> tuple[float, float, float | None] | None:
    """(difference, its variance, CUPED's variance reduction) of the cumulative tallies at one look; the
    reduction is None when the covariate does not vary (nobody did anything before), so nothing is adjusted."""
    adjusted = cuped(control, treatment)
    if adjusted is not None:
        control_summary, treatment_summary, reduction = adjusted
    else:
        if control.n < 2 or treatment.n < 2:
            return None
        control_summary, treatment_summary, reduction = (Summary(control.n, control.mean, control.variance),
                                                         Summary(treatment.n, treatment.mean, treatment.variance),
                                                         None)
    variance = control_summary.variance / control.n + treatment_summary.variance / treatment.n
    if variance <= 0:
        return None
    return treatment_summary.mean - control_summary.mean, variance, reduction


def sequential_comparison(control_days: dict[dt.date, Tally], treatment_days: dict[dt.date, Tally],
                          *, alpha: float, minimum_sample: int) -> SequentialComparison | None:
    """Treatment minus control by the mixture SPRT, looked at after every day: the p-value is the smallest
    1 ÷ Λ of all looks and the interval the intersection of the looks' confidence sequences, so both stay
    valid however often the page is read (always valid; the chance of ever declaring a difference that is
    not there stays below α). The mixing variance τ² is the difference's variance at the minimum sample,
    where the test is then most sensitive. Looks start once each group has ``FIRST_LOOK`` values.
    CUPED-adjusted by the tallies' covariate."""
    control, treatment = Tally(), Tally()
    p_value, low, high, last = 1.0, -math.inf, math.inf, None
    for day in sorted(set(control_days) | set(treatment_days)):
        control.merge(control_days.get(day, Tally()))
        treatment.merge(treatment_days.get(day, Tally()))
        look = _look(control, treatment) if min(control.n, treatment.n) >= FIRST_LOOK else None
        if look is None:
            continue
        difference, variance, reduction = look
        mixing_variance = variance * min(control.n, treatment.n) / minimum_sample
        look_p, half_width = msprt(difference, variance, mixing_variance, alpha)
        p_value = min(p_value, look_p)
        low, high = max(low, difference - half_width), min(high, difference + half_width)
        last = (difference, half_width, reduction)
    if last is None:
        return None
    difference, half_width, reduction = last
    if low > high:  # looks that disagree (plug-in variances): the latest look's own sequence
        low, high = difference - half_width, difference + half_width
    return SequentialComparison(difference, low, high, p_value, p_value < alpha, reduction)


# --- tallies from events and orders ---------------------------------------------------------------


def _outcomes(window: dict) -> tuple[str, list]:
    """The CTEs the metrics read: ``exposed`` (each unit's first exposure), ``unit_orders`` (its orders
    after it), ``unit_history`` (its orders in the ``PRE_EXPOSURE_DAYS`` before it) and the first return of
    each (``returns_after``, ``returns_before``), from the events and orders apps' queries; and
    ``unit_before``, the unit's orders, spend and average order value before exposure (the covariates; no
    row for a unit that placed no order then). A query evaluates only the CTEs it names."""
    exposed_sql, exposed_params = first_exposures_query(window["key"], window["since"], window["until"])
    links_sql, links_params = visitor_links_query()
    orders_sql, orders_params = orders_after_exposure_query(exposed="exposed", visitor_links="visitor_links",
                                                            as_of=window["as_of"])
    history_sql, history_params = orders_before_exposure_query(exposed="exposed", visitor_links="visitor_links",
                                                               days=PRE_EXPOSURE_DAYS)
    returns_after_sql, returns_after_params = first_returns_query(orders="unit_orders")
    returns_before_sql, returns_before_params = first_returns_query(orders="unit_history")
    before_sql = """SELECT unit, count(*)::float AS orders, sum(total)::float AS spend,
                           avg(total)::float AS order_value
                    FROM unit_history GROUP BY unit"""
    return (f"exposed AS ({exposed_sql}), visitor_links AS ({links_sql}), unit_orders AS ({orders_sql}), "
            f"unit_history AS ({history_sql}), returns_after AS ({returns_after_sql}), "
            f"returns_before AS ({returns_before_sql}), unit_before AS ({before_sql})",
            [*exposed_params, *links_params, *orders_params, *history_params, *returns_after_params,
             *returns_before_params])


# Each returns rows of (variant, day, n, sum, sum of squares, then the covariate's sum and sum of squares and
# the sum of value × covariate), with the window's values it takes, in order. The covariate (``COVARIATES``)
# comes from ``unit_before``, the return rate's from ``returns_before``; a unit without a row there had 0.
METRIC_SQL = {
    "units": ("""SELECT variant, (exposed_at AT TIME ZONE %s)::date, count(*), count(*), count(*)
                 FROM exposed GROUP BY 1, 2""", ("tz",)),
    Metric.SEARCH_CONVERSION: (f"""
        SELECT x.variant, (x.exposed_at AT TIME ZONE %s)::date, count(*),
               count(c.unit), count(c.unit),
               count(b.unit), count(b.unit), count(b.unit) FILTER (WHERE c.unit IS NOT NULL)
        FROM exposed x
        LEFT JOIN (SELECT DISTINCT unit FROM unit_orders
                   WHERE ordered_at < exposed_at + interval '{CONVERSION_DAYS} days') AS c ON c.unit = x.unit
        LEFT JOIN unit_before b ON b.unit = x.unit
        GROUP BY 1, 2""", ("tz",)),
    Metric.REVENUE_PER_VISITOR: (f"""
        SELECT x.variant, (x.exposed_at AT TIME ZONE %s)::date, count(*),
               sum(coalesce(r.spend, 0)), sum(coalesce(r.spend, 0) ^ 2),
               sum(coalesce(b.spend, 0)), sum(coalesce(b.spend, 0) ^ 2),
               sum(coalesce(r.spend, 0) * coalesce(b.spend, 0))
        FROM exposed x
        LEFT JOIN (SELECT unit, sum(total)::float AS spend FROM unit_orders
                   WHERE ordered_at < exposed_at + interval '{CONVERSION_DAYS} days' GROUP BY unit) AS r
               ON r.unit = x.unit
        LEFT JOIN unit_before b ON b.unit = x.unit
        GROUP BY 1, 2""", ("tz",)),
    Metric.AVERAGE_ORDER_VALUE: ("""
        SELECT o.variant, (o.ordered_at AT TIME ZONE %s)::date, count(*), sum(o.total), sum(o.total * o.total),
               sum(coalesce(b.order_value, 0)), sum(coalesce(b.order_value, 0) ^ 2),
               sum(o.total * coalesce(b.order_value, 0))
        FROM unit_orders o LEFT JOIN unit_before b ON b.unit = o.unit
        GROUP BY 1, 2""", ("tz",)),
    Metric.REPEAT_PURCHASE: (f"""
        SELECT f.variant, (f.first_at AT TIME ZONE %s)::date, count(*),
               count(*) FILTER (WHERE f.again), count(*) FILTER (WHERE f.again),
               sum(coalesce(b.orders, 0)), sum(coalesce(b.orders, 0) ^ 2),
               coalesce(sum(b.orders) FILTER (WHERE f.again), 0)
        FROM (SELECT unit, variant, first_at,
                     bool_or(ordered_at > first_at AND ordered_at <= first_at + interval '{REPEAT_DAYS} days') AS again
              FROM (SELECT unit, variant, ordered_at, min(ordered_at) OVER (PARTITION BY unit) AS first_at
                    FROM unit_orders) AS o
              GROUP BY unit, variant, first_at) AS f
        LEFT JOIN unit_before b ON b.unit = f.unit
        -- only purchasers whose 30 days have fully passed: younger ones could still buy again
        WHERE f.first_at <= %s - interval '{REPEAT_DAYS} days'
        GROUP BY 1, 2""", ("tz", "as_of")),
    # An order counts as returned once a return of one of its items is requested within its first
    # RETURN_DAYS (and before as_of). Orders younger than that count the returns so far: both variants'
    # orders age alike, so the comparison stays fair while harm shows early enough to stop a test.
    Metric.RETURN_RATE: (f"""
        SELECT variant, (ordered_at AT TIME ZONE %s)::date, count(*),
               count(*) FILTER (WHERE returned), count(*) FILTER (WHERE returned),
               sum(before), sum(before ^ 2), coalesce(sum(before) FILTER (WHERE returned), 0)
        FROM (SELECT o.variant, o.ordered_at, coalesce(b.returned, 0) AS before,
                     coalesce(a.returned_at < least(o.ordered_at + interval '{RETURN_DAYS} days', %s), false)
                         AS returned
              FROM unit_orders o LEFT JOIN returns_after a ON a.id = o.id
              -- covariate: its orders of the {PRE_EXPOSURE_DAYS} days before exposure, returned before it
              LEFT JOIN (SELECT h.unit, count(*)::float AS returned
                         FROM unit_history h JOIN returns_before r ON r.id = h.id AND r.returned_at < h.exposed_at
                         GROUP BY h.unit) AS b ON b.unit = o.unit) AS r
        GROUP BY 1, 2""", ("tz", "as_of")),
}


def _window(experiment: Experiment, as_of: dt.datetime) -> dict:
    since = experiment.starts_at or as_of
    until = min(experiment.ends_at, as_of) if experiment.ends_at else as_of
    return {"key": experiment.key, "since": since, "until": until, "as_of": as_of,
            "tz": settings.TIME_ZONE}


def exposed_units(experiment: Experiment, *, as_of: dt.datetime | None = None) -> dict[str, int]:
    """{variant: exposed shoppers}: the units every metric counts, in one query."""
    window = _window(experiment, as_of or timezone.now())
    return exposed_per_variant(experiment.key, since=window["since"], until=window["until"])


def daily_tallies(experiment: Experiment, *, as_of: dt.datetime | None = None
                  ) -> dict[str, dict[str, dict[dt.date, Tally]]]:
    """{metric (or "units"): {variant: {day: Tally}}} for every metric, one query each."""
    window = _window(experiment, as_of or timezone.now())
    ctes, cte_params = _outcomes(window)
    found: dict[str, dict[str, dict[dt.date, Tally]]] = {}
    with connection.cursor() as cursor:
        for metric, (sql, takes) in METRIC_SQL.items():
            cursor.execute(f"WITH {ctes} {sql}", [*cte_params, *(window[name] for name in takes)])
            found[str(metric)] = _per_variant(cursor.fetchall())
    # Click-through: impressions are the trials, clicks the successes (and, being 0 or 1, their squares);
    # each impression's covariate is its shopper's recommendation clicks before exposure.
    engagement = recommendation_engagement_per_variant(experiment.key, since=window["since"], until=window["until"],
                                                       time_zone=window["tz"], before_days=PRE_EXPOSURE_DAYS)
    found[str(Metric.RECOMMENDATION_CTR)] = _per_variant(
        (variant, day, impressions, clicks, clicks, *covariate)
        for variant, day, impressions, clicks, *covariate in engagement)
    return found


def _per_variant(rows) -> dict[str, dict[dt.date, Tally]]:
    per_variant: dict[str, dict[dt.date, Tally]] = defaultdict(lambda: defaultdict(Tally))
    for variant, day, *sums in rows:
        per_variant[variant][day].add(*sums)
    return per_variant


# --- results --------------------------------------------------------------------------------------


@dataclass
class MetricResult:
    metric: str
    tally: Tally
    estimate: Interval | None
    comparison: Comparison | None = None  # fixed horizon; None for the control, or without data
    sequential: SequentialComparison | None = None  # always valid (decides); None for the control, or without data

    @property
    def label(self) -> str:
        return Metric(self.metric).label


@dataclass
class VariantResult:
    key: str
    name: str
    strategy: str
    weight: int
    is_control: bool
    units: int
    metrics: dict[str, MetricResult] = field(default_factory=dict)
    sample_reached: bool = False  # at least the experiment's minimum sample of exposed shoppers
    comparable: bool = False  # a treatment that, like its control, has reached the minimum sample

    @property
    def label(self) -> str:
        """The name, marked once as the control (editors often write "(control)" into the name too)."""
        name = re.sub(r"\s*\(control\)\s*$", "", self.name, flags=re.IGNORECASE)
        return f"{name} — control" if self.is_control else name


@dataclass
class Results:
    experiment: Experiment
    as_of: dt.datetime
    variants: list[VariantResult]
    sample_ratio: SampleRatio
    alpha: float  # per comparison: 0.05 split over the treatments (Bonferroni)
    ready_to_decide: bool
    verdict: str
    trend: dict[str, list[tuple[dt.date, float | None]]]  # primary metric, cumulative, per variant


def _estimate(metric: str, tally: Tally) -> Interval | None:
    if metric in PROPORTIONS:
        return wilson_interval(min(int(tally.total), tally.n), tally.n)
    if metric == Metric.REVENUE_PER_VISITOR and tally.total == 0:
        return None  # nobody has bought: "0 (0 – 0)" would read as a measured result
    return mean_interval(tally.n, tally.mean, tally.variance)


def _compare(metric: str, control: Tally, treatment: Tally, alpha: float) -> Comparison | None:
    if metric in PROPORTIONS:
        return compare_proportions(int(control.total), control.n, int(treatment.total), treatment.n, alpha)
    return compare_means((control.n, control.mean, control.variance), (treatment.n, treatment.mean, treatment.variance),
                         alpha)


def _totals(days: dict[dt.date, Tally]) -> Tally:
    total = Tally()
    for tally in days.values():
        total.merge(tally)
    return total


def _cumulative(days: dict[dt.date, Tally], all_days: list[dt.date]) -> list[tuple[dt.date, float | None]]:
    running, series = Tally(), []
    for day in all_days:
        if day in days:
            running.merge(days[day])
        series.append((day, running.mean if running.n else None))
    return series


def results(experiment: Experiment, *, as_of: dt.datetime | None = None) -> Results:
    """Everything the results page shows: per-variant metrics with intervals, differences from the
    control, the SRM check and whether the experiment is ready to decide."""
    as_of = as_of or timezone.now()
    tallies = daily_tallies(experiment, as_of=as_of)
    variants = experiment.ordered_variants()
    treatments = max(len(variants) - 1, 1)
    alpha = ALPHA / treatments
    control = next((v for v in variants if v.is_control), variants[0] if variants else None)
    minimum = experiment.minimum_sample_size
    control_reached = control is not None and _totals(tallies["units"].get(control.key, {})).n >= minimum
    rows = []
    for variant in variants:
        units = _totals(tallies["units"].get(variant.key, {})).n
        row = VariantResult(variant.key, variant.name, variant.get_strategy_display(), variant.weight,
                            variant.is_control, units, sample_reached=units >= minimum)
        row.comparable = row.sample_reached and control_reached and not variant.is_control
        for metric in Metric.values:
            days = tallies[metric].get(variant.key, {})
            tally = _totals(days)
            comparison = sequential = None
            if not variant.is_control and control is not None:
                control_days = tallies[metric].get(control.key, {})
                comparison = _compare(metric, _totals(control_days), tally, alpha)
                sequential = sequential_comparison(control_days, days, alpha=alpha, minimum_sample=minimum)
            row.metrics[metric] = MetricResult(metric, tally, _estimate(metric, tally), comparison, sequential)
        rows.append(row)
    sample_ratio = sample_ratio_mismatch([row.units for row in rows], [row.weight for row in rows])
    ready, verdict = _verdict(experiment, rows, sample_ratio)
    primary = tallies[experiment.primary_metric]
    all_days = sorted({day for days in primary.values() for day in days})
    trend = {row.key: _cumulative(primary.get(row.key, {}), all_days) for row in rows}
    return Results(experiment, as_of, rows, sample_ratio, alpha, ready, verdict, trend)


def _verdict(experiment: Experiment, rows: list[VariantResult], sample_ratio: SampleRatio) -> tuple[bool, str]:
    primary = Metric(experiment.primary_metric)
    if sample_ratio.mismatch:
        return False, ("Sample ratio mismatch: the variants' shares differ from their weights (p = "
                       f"{sample_ratio.p_value:.2g}). Assignment or logging is broken; do not read the results.")
    short = [row.key for row in rows if row.units < experiment.minimum_sample_size]
    if short:
        return False, (f"Collecting: {', '.join(short)} below the minimum of {experiment.minimum_sample_size} "
                       "exposed shoppers per variant. Do not stop early on a significant result.")
    winners = [row for row in rows if not row.is_control and (c := row.metrics[primary].sequential) and c.significant]
    if not winners:
        return False, f"Sample size reached; no significant difference in {primary.label.lower()} from the control."
    described = ", ".join(f"{row.key} ({'+' if row.metrics[primary].sequential.difference > 0 else '−'})"
                          for row in winners)
    ready = experiment.status == Experiment.Status.RUNNING
    return ready, f"Significant difference in {primary.label.lower()}: {described}."
