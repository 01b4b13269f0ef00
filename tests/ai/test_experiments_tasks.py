import pytest
from django.test import TestCase

from ai.experiments import tasks
from ai.experiments.models import Experiment
from tests.ai.test_experiments_metrics import simulate
from tests.factories import ExperimentFactory

pytestmark = pytest.mark.django_db


def test_the_guardrail_task_pauses_a_harmful_experiment_and_leaves_a_harmless_one_running():
    harmful, harmless = (ExperimentFactory(key=key, surface=surface, primary_metric="search_conversion",
                                           minimum_sample_size=5000,
                                           variants=[("a", 1, strategy, True), ("b", 1, other, False)])
                         for key, surface, strategy, other in (("harmful", "search", "hybrid", "keyword"),
                                                               ("harmless", "pricing", "dynamic", "base")))
    simulate(harmful, {"a": 0.30, "b": 0.15})
    simulate(harmless, {"a": 0.20, "b": 0.20}, seed=7)

    with TestCase.captureOnCommitCallbacks(execute=True):
        tasks.enforce_guardrails.apply()
        tasks.enforce_guardrails.apply()  # a repeat changes nothing

    assert Experiment.objects.get(pk=harmful.pk).status == Experiment.Status.PAUSED
    assert Experiment.objects.get(pk=harmless.pk).status == Experiment.Status.RUNNING
