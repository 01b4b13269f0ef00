"""Planted-effect simulation of the results page's decision: how often it declares a winner when a variant
truly converts better, and when the two variants are the same (A/A).

Simulated at the outcome level, through the same statistics the page uses: each run draws shoppers
day by day for a control and a treatment, sums them into the daily ``metrics.Tally`` rows the database
queries return (conversion within 7 days, with last 30 days' purchase as the covariate), and asks
``metrics.sequential_comparison`` — the page's always-valid, CUPED-adjusted decision — and, for contrast,
``metrics.compare_proportions`` read every day once the minimum sample is reached (the peeking the
fixed-horizon test forbids). Shoppers differ in how much they buy (an appetite k, 4 × Beta(¼, ¾): mean 1,
most near 0, a few near 4), and a shopper's appetite drives both their purchase in the 30 days before
exposure (rate baseline × k) and after it (baseline × (1 + effect) × k, never above 1 for the defaults, so
the planted lift is exact): the correlation CUPED uses.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from ai.experiments import metrics

APPETITE_CEILING, APPETITE_A, APPETITE_B = 4.0, 0.25, 0.75  # k = 4 × Beta(a, b): mean 1, variance 1.5


@dataclass(frozen=True)
class Scenario:
    baseline: float = 0.20  # conversion of the control
    effect: float = 0.10  # relative lift planted in the treatment (0: an A/A test)
    shoppers: int = 12_800  # per variant, over the whole run
    minimum_sample: int = 6_400  # per variant: the page decides from here on
    days: int = 28
    alpha: float = metrics.ALPHA


@dataclass(frozen=True)
class Outcome:
    sequential_winner: bool  # the page's decision: always-valid p < α (CUPED-adjusted) once the minimum is reached
    sequential_winner_without_cuped: bool
    fixed_horizon_winner_at_the_end: bool  # the z-test read once, at the end
    fixed_horizon_winner_peeking: bool  # the z-test read every day from the minimum sample on
    variance_reduction: float | None  # CUPED's, at the end


def daily_tallies(scenario: Scenario, lift: float, rng: np.random.Generator) -> dict[dt.date, metrics.Tally]:
    """One variant's conversion tallies per day, with the pre-exposure purchase as covariate."""
    first = dt.date(2026, 1, 1)
    per_day = np.full(scenario.days, scenario.shoppers // scenario.days)
    per_day[: scenario.shoppers % scenario.days] += 1
    days = {}
    for offset, count in enumerate(per_day):
        appetite = APPETITE_CEILING * rng.beta(APPETITE_A, APPETITE_B, size=count)
        before = rng.random(count) < np.minimum(1.0, scenario.baseline * appetite)
        after = rng.random(count) < np.minimum(1.0, scenario.baseline * (1 + lift) * appetite)
        tally = metrics.Tally()
        tally.add(count, after.sum(), after.sum(), before.sum(), before.sum(), (after & before).sum())
        days[first + dt.timedelta(days=offset)] = tally
    return days


def run_once(scenario: Scenario, rng: np.random.Generator) -> Outcome:
    control, treatment = daily_tallies(scenario, 0.0, rng), daily_tallies(scenario, scenario.effect, rng)
    decide = {"alpha": scenario.alpha, "minimum_sample": scenario.minimum_sample}
    with_cuped = metrics.sequential_comparison(control, treatment, **decide)
    without = metrics.sequential_comparison(_without_covariate(control), _without_covariate(treatment), **decide)
    peeks, running_control, running_treatment = [], metrics.Tally(), metrics.Tally()
    for day in sorted(control):
        running_control.merge(control[day])
        running_treatment.merge(treatment[day])
        if min(running_control.n, running_treatment.n) >= scenario.minimum_sample:
            comparison = metrics.compare_proportions(int(running_control.total), running_control.n,
                                                     int(running_treatment.total), running_treatment.n, scenario.alpha)
            peeks.append(comparison is not None and comparison.significant)
    # The always-valid p-value is the minimum over every look, so "significant at the end" is "significant
    # on some day the page could be read, once the minimum was reached".
    return Outcome(bool(with_cuped and with_cuped.significant), bool(without and without.significant),
                   bool(peeks and peeks[-1]), any(peeks), with_cuped.variance_reduction if with_cuped else None)


def _without_covariate(days: dict[dt.date, metrics.Tally]) -> dict[dt.date, metrics.Tally]:
    return {day: metrics.Tally(t.n, t.total, t.squares) for day, t in days.items()}


@dataclass(frozen=True)
class Summary:
    runs: int
    sequential: float  # share of runs the page declared a winner
    sequential_without_cuped: float
    fixed_horizon_at_the_end: float
    fixed_horizon_peeking: float
    variance_reduction: float  # CUPED's, averaged over runs


def simulate(scenario: Scenario, runs: int, *, seed: int = 2026) -> Summary:
    rng = np.random.default_rng(seed)
    outcomes = [run_once(scenario, rng) for _ in range(runs)]

    def share(attribute: str) -> float:
        return sum(getattr(outcome, attribute) for outcome in outcomes) / runs

    reductions = [o.variance_reduction for o in outcomes if o.variance_reduction is not None]
    return Summary(runs, share("sequential_winner"), share("sequential_winner_without_cuped"),
                   share("fixed_horizon_winner_at_the_end"), share("fixed_horizon_winner_peeking"),
                   float(np.mean(reductions)) if reductions else 0.0)
