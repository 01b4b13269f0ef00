"""Guardrails: a running experiment whose variant is significantly worse than the control on one of its
guardrail metrics is paused, with the reason kept on the experiment for the admin to read.

"Significantly worse" is the always-valid test (``metrics.sequential_comparison``): its interval of the
difference lies wholly on the harmful side of 0 at the experiment's α. The check runs every 15 minutes from
beat, and being always valid it may: looking that often does not raise its false alarms above α. Worse is
lower for money and its precursors, higher for the return rate (``Metric.lower_is_better``). The test
judges from its first look (100 values a group), long before the minimum sample a decision waits for: harm
should stop early.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from ai.experiments import metrics, serving
from ai.experiments.models import Experiment, Metric


@dataclass(frozen=True)
class Breach:
    variant: str
    metric: str
    comparison: metrics.SequentialComparison

    def describe(self) -> str:
        c, metric = self.comparison, Metric(self.metric)
        side = "above" if metric.lower_is_better else "below"
        return (f"{self.variant} is significantly {side} the control on {metric.label.lower()}: "
                f"difference {c.difference:.4g} (always-valid interval {c.low:.4g} to {c.high:.4g}, "
                f"p = {c.p_value:.2g}).")


def breaches(result: metrics.Results) -> list[Breach]:
    """Treatments significantly worse than the control on one of the experiment's guardrail metrics."""
    found = []
    for row in result.variants:
        if row.is_control:
            continue
        for metric in result.experiment.guardrail_metrics:
            comparison = row.metrics[metric].sequential
            if comparison is None or not comparison.significant:
                continue
            harmful = comparison.low > 0 if Metric(metric).lower_is_better else comparison.high < 0
            if harmful:
                found.append(Breach(row.key, metric, comparison))
    return found


def enforce(experiment: Experiment) -> list[Breach]:
    """Pause ``experiment`` if it breaches a guardrail, noting why; returns the breaches (none: untouched)."""
    found = breaches(metrics.results(experiment))
    if found:
        with transaction.atomic():
            try:
                experiment = serving.transition(experiment, "pause")
            except serving.TransitionError:  # paused or finished by someone else meanwhile
                return []
            experiment.guardrail_note = "Paused by the guardrail check: " + " ".join(b.describe() for b in found)
            experiment.save(update_fields=["guardrail_note", "updated_at"])
    return found


def enforce_all() -> dict[str, list[Breach]]:
    """Check every running experiment; {key: breaches} of those paused."""
    paused = {}
    for experiment in Experiment.objects.filter(status=Experiment.Status.RUNNING).prefetch_related("variants"):
        if found := enforce(experiment):
            paused[experiment.key] = found
    return paused
