"""Per-variant business metrics with 95% intervals, tests against the control, and the SRM check.

Only four metrics exist, all of them money or its direct precursors: recommendation click-through,
search-to-purchase conversion, average order value and 30-day repeat purchase. Nothing is concluded from
proxies (time on site, pages per visit).

A unit is a customer when the exposure event knows one, else the anonymous visitor id. Its variant and
exposure time are those of its first exposure in the experiment's window. Each query is one set-based
pass grouped by (variant, day) and returns additive tallies (n, sum, sum of squares), so totals and the
daily trend come from the same rows. The exposures and recommendation events are ``commerce.events``'
queries, the orders ``commerce.orders``'; this module only groups them.
"""

from __future__ import annotations

import datetime as dt
import math
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
from commerce.orders.services import orders_after_exposure_query

CONFIDENCE = 0.95
ALPHA = 1 - CONFIDENCE
SRM_ALPHA = 0.001  # strict: an SRM flags broken assignment or logging, and a false alarm stops a test
CONVERSION_DAYS = 7
REPEAT_DAYS = 30
PROPORTIONS = frozenset({Metric.RECOMMENDATION_CTR, Metric.SEARCH_CONVERSION, Metric.REPEAT_PURCHASE})


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
    (unpooled)."""
    if control_trials <= 0 or trials <= 0:
        return None
    p_control, p = control_successes / control_trials, successes / trials
    pooled = (control_successes + successes) / (control_trials + trials)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / control_trials + 1 / trials))
    difference = p - p_control
    p_value = 2 * float(stats.norm.sf(abs(difference) / se_pooled)) if se_pooled > 0 else 1.0
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


# --- tallies from events and orders ---------------------------------------------------------------


@dataclass
class Tally:
    """Additive sufficient statistics: n trials (or values), their sum, and sum of squares."""

    n: int = 0
    total: float = 0.0
    squares: float = 0.0

    def add(self, n, total, squares) -> None:
        self.n += int(n)
        self.total += float(total or 0)
        self.squares += float(squares or 0)

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        if self.n < 2:
            return 0.0
        return max(0.0, (self.squares - self.total * self.total / self.n) / (self.n - 1))


def _outcomes(window: dict) -> tuple[str, list]:
    """The CTEs every metric reads: ``exposed`` (each unit's first exposure) and ``unit_orders`` (its orders
    after it), from the events and orders apps' queries."""
    exposed_sql, exposed_params = first_exposures_query(window["key"], window["since"], window["until"])
    links_sql, links_params = visitor_links_query()
    orders_sql, orders_params = orders_after_exposure_query(exposed="exposed", visitor_links="visitor_links",
                                                            as_of=window["as_of"])
    return (f"exposed AS ({exposed_sql}), visitor_links AS ({links_sql}), unit_orders AS ({orders_sql})",
            [*exposed_params, *links_params, *orders_params])


# Each returns rows of (variant, day, n, sum, sum of squares), with the window's values it takes, in order.
METRIC_SQL = {
    "units": ("""SELECT variant, (exposed_at AT TIME ZONE %s)::date, count(*), count(*), count(*)
                 FROM exposed GROUP BY 1, 2""", ("tz",)),
    Metric.SEARCH_CONVERSION: (f"""
        SELECT x.variant, (x.exposed_at AT TIME ZONE %s)::date, count(*),
               count(c.unit), count(c.unit)
        FROM exposed x
        LEFT JOIN (SELECT DISTINCT unit FROM unit_orders
                   WHERE ordered_at < exposed_at + interval '{CONVERSION_DAYS} days') AS c ON c.unit = x.unit
        GROUP BY 1, 2""", ("tz",)),
    Metric.AVERAGE_ORDER_VALUE: ("""
        SELECT variant, (ordered_at AT TIME ZONE %s)::date, count(*), sum(total), sum(total * total)
        FROM unit_orders GROUP BY 1, 2""", ("tz",)),
    Metric.REPEAT_PURCHASE: (f"""
        SELECT f.variant, (f.first_at AT TIME ZONE %s)::date, count(*),
               count(*) FILTER (WHERE f.again), count(*) FILTER (WHERE f.again)
        FROM (SELECT unit, variant, first_at,
                     bool_or(ordered_at > first_at AND ordered_at <= first_at + interval '{REPEAT_DAYS} days') AS again
              FROM (SELECT unit, variant, ordered_at, min(ordered_at) OVER (PARTITION BY unit) AS first_at
                    FROM unit_orders) AS o
              GROUP BY unit, variant, first_at) AS f
        -- only purchasers whose 30 days have fully passed: younger ones could still buy again
        WHERE f.first_at <= %s - interval '{REPEAT_DAYS} days'
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
    # Click-through: impressions are the trials, clicks the successes (and, being 0 or 1, their squares).
    engagement = recommendation_engagement_per_variant(experiment.key, since=window["since"], until=window["until"],
                                                       time_zone=window["tz"])
    found[str(Metric.RECOMMENDATION_CTR)] = _per_variant(
        (variant, day, impressions, clicks, clicks) for variant, day, impressions, clicks in engagement)
    return found


def _per_variant(rows) -> dict[str, dict[dt.date, Tally]]:
    per_variant: dict[str, dict[dt.date, Tally]] = defaultdict(lambda: defaultdict(Tally))
    for variant, day, n, total, squares in rows:
        per_variant[variant][day].add(n, total, squares)
    return per_variant


# --- results --------------------------------------------------------------------------------------


@dataclass
class MetricResult:
    metric: str
    tally: Tally
    estimate: Interval | None
    comparison: Comparison | None = None  # None for the control, or without data

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
    return mean_interval(tally.n, tally.mean, tally.variance)


def _compare(metric: str, control: Tally, treatment: Tally, alpha: float) -> Comparison | None:
    if metric in PROPORTIONS:
        return compare_proportions(int(control.total), control.n, int(treatment.total), treatment.n, alpha)
    return compare_means((control.n, control.mean, control.variance), (treatment.n, treatment.mean, treatment.variance),
                         alpha)


def _totals(days: dict[dt.date, Tally]) -> Tally:
    total = Tally()
    for tally in days.values():
        total.add(tally.n, tally.total, tally.squares)
    return total


def _cumulative(days: dict[dt.date, Tally], all_days: list[dt.date]) -> list[tuple[dt.date, float | None]]:
    running, series = Tally(), []
    for day in all_days:
        if day in days:
            running.add(days[day].n, days[day].total, days[day].squares)
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
    rows = []
    for variant in variants:
        units = _totals(tallies["units"].get(variant.key, {})).n
        row = VariantResult(variant.key, variant.name, variant.get_strategy_display(), variant.weight,
                            variant.is_control, units)
        for metric in Metric.values:
            tally = _totals(tallies[metric].get(variant.key, {}))
            comparison = None
            if not variant.is_control and control is not None:
                comparison = _compare(metric, _totals(tallies[metric].get(control.key, {})), tally, alpha)
            row.metrics[metric] = MetricResult(metric, tally, _estimate(metric, tally), comparison)
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
    winners = [row for row in rows if not row.is_control and (c := row.metrics[primary].comparison) and c.significant]
    if not winners:
        return False, f"Sample size reached; no significant difference in {primary.label.lower()} from the control."
    described = ", ".join(f"{row.key} ({'+' if row.metrics[primary].comparison.difference > 0 else '−'})"
                          for row in winners)
    ready = experiment.status == Experiment.Status.RUNNING
    return ready, f"Significant difference in {primary.label.lower()}: {described}."
