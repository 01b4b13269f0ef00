import datetime as dt

import pytest
from django.test import TestCase

from ai.experiments import guardrails, metrics
from ai.experiments.models import Experiment
from tests.ai.test_experiments_metrics import NOW, exposed, orders, returns, simulate
from tests.factories import ExperimentFactory, transition

pytestmark = pytest.mark.django_db


def carousel_test(**fields):
    """A running search test, guarded (by default) by conversion and revenue per exposed shopper."""
    return ExperimentFactory(surface="search", primary_metric="search_conversion", minimum_sample_size=5000,
                             variants=[("a", 1, "hybrid", True), ("b", 1, "keyword", False)], **fields)


def enforce(experiment) -> list[guardrails.Breach]:
    with TestCase.captureOnCommitCallbacks(execute=True):
        return guardrails.enforce(experiment)


def test_a_variant_significantly_worse_on_a_guardrail_pauses_the_experiment_with_the_reason():
    experiment = carousel_test(key="harmful-variant")
    simulate(experiment, {"a": 0.30, "b": 0.15})  # far below its 5000 minimum: harm stops early

    found = enforce(experiment)

    experiment.refresh_from_db()
    assert experiment.status == Experiment.Status.PAUSED
    assert {breach.metric for breach in found} == {"search_conversion", "revenue_per_visitor"}
    assert all(breach.variant == "b" and breach.comparison.high < 0 for breach in found)
    assert "b is significantly below the control on search-to-purchase conversion" in experiment.guardrail_note


def test_a_harmless_variant_keeps_running():
    experiment = carousel_test(key="harmless-variant")
    simulate(experiment, {"a": 0.20, "b": 0.20})

    assert enforce(experiment) == []
    experiment.refresh_from_db()
    assert experiment.status == Experiment.Status.RUNNING and experiment.guardrail_note == ""


def test_a_variant_significantly_better_keeps_running():
    experiment = carousel_test(key="better-variant")
    simulate(experiment, {"a": 0.15, "b": 0.30})

    assert enforce(experiment) == []
    assert Experiment.objects.get(pk=experiment.pk).status == Experiment.Status.RUNNING


def test_only_the_experiments_own_guardrail_metrics_are_checked():
    experiment = carousel_test(key="unguarded-variant", guardrail_metrics=["average_order_value"])
    simulate(experiment, {"a": 0.30, "b": 0.15})  # conversion halved, order values alike

    assert enforce(experiment) == []


def returning(experiment, rates: dict[str, float], *, shoppers: int = 300) -> None:
    """Each variant's shoppers buy once after exposure; the first ``rate`` of their orders are returned."""
    for variant, rate in rates.items():
        placed = orders(*[(visitor, "30.00", NOW - dt.timedelta(days=9))
                          for visitor in exposed(experiment, variant, shoppers, days_ago=10)])
        returns(*[(order, NOW - dt.timedelta(days=5)) for order in placed[:round(rate * shoppers)]])


def returns_test(key: str):
    return ExperimentFactory(key=key, surface="search", primary_metric="search_conversion", minimum_sample_size=300,
                             variants=[("a", 1, "hybrid", True), ("b", 1, "keyword", False)],
                             guardrail_metrics=["return_rate"])


def test_a_variant_returned_significantly_more_often_pauses_the_experiment():
    experiment = returns_test("returned-more")
    returning(experiment, {"a": 0.10, "b": 0.25})

    found = enforce(experiment)

    experiment.refresh_from_db()
    assert experiment.status == Experiment.Status.PAUSED
    assert [(breach.variant, breach.metric) for breach in found] == [("b", "return_rate")]
    assert found[0].comparison.low > 0
    assert "b is significantly above the control on return rate (30 days)" in experiment.guardrail_note


def test_a_variant_returned_significantly_less_often_keeps_running():
    experiment = returns_test("returned-less")
    returning(experiment, {"a": 0.25, "b": 0.10})

    assert enforce(experiment) == []
    assert Experiment.objects.get(pk=experiment.pk).status == Experiment.Status.RUNNING
    fewer = metrics.results(experiment).variants[1].metrics["return_rate"].sequential
    assert fewer.significant and fewer.high < 0  # significant, but the good way


def test_starting_again_clears_the_guardrail_note():
    experiment = carousel_test(key="restarted")
    simulate(experiment, {"a": 0.30, "b": 0.15})
    enforce(experiment)

    transition(experiment, "start")

    experiment.refresh_from_db()
    assert experiment.status == Experiment.Status.RUNNING and experiment.guardrail_note == ""


def test_the_listing_and_the_results_page_warn_of_a_paused_experiment(admin_client):
    experiment = carousel_test(key="noticed", name="Harmful keyword search")
    simulate(experiment, {"a": 0.30, "b": 0.15})
    enforce(experiment)

    listing = admin_client.get("/admin/snippets/experiments/experiment/").content.decode()
    results = admin_client.get(f"/admin/experiments/{experiment.pk}/results/").content.decode()

    assert "“Harmful keyword search” was paused by its guardrail check" in listing
    assert "Paused by guardrail" in listing
    assert "Guardrail breached." in results and "significantly below the control" in results
