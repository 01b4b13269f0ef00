import datetime as dt

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from ai.experiments.models import Experiment, ExperimentAssignment, Variant
from tests.factories import CustomerFactory, ExperimentFactory

pytestmark = pytest.mark.django_db


def unsaved(surface="recommendation_block", variants=(("a", 50, "trending", True), ("b", 50, "personalised", False)),
            **fields) -> Experiment:
    fields.setdefault("primary_metric",
                      "recommendation_ctr" if surface == "recommendation_block" else "search_conversion")
    experiment = Experiment(key="home-carousel", name="Home carousel", hypothesis="More clicks", surface=surface,
                            **fields)
    experiment.variants = [Variant(key=key, name=key, weight=weight, strategy=strategy, is_control=control)
                           for key, weight, strategy, control in variants]
    return experiment


def refused(experiment: Experiment) -> dict[str, list[str]]:
    """What ``full_clean`` refuses, per field (``__all__``: the variants); {} when it accepts the experiment."""
    try:
        experiment.full_clean()
    except ValidationError as error:
        return error.message_dict
    return {}


def test_a_valid_experiment_is_accepted_and_saved_as_a_draft_with_its_variants():
    experiment = unsaved()

    problems = refused(experiment)
    experiment.save()

    assert problems == {}
    saved = Experiment.objects.get(key="home-carousel")
    assert saved.status == Experiment.Status.DRAFT
    assert [(v.key, v.strategy, v.is_control) for v in saved.ordered_variants()] == [
        ("a", "trending", True), ("b", "personalised", False)]


def test_exactly_one_control_is_required():
    none = refused(unsaved(variants=[("a", 1, "trending", False), ("b", 1, "personalised", False)]))
    two = refused(unsaved(variants=[("a", 1, "trending", True), ("b", 1, "personalised", True)]))

    assert none == {NON_FIELD_ERRORS: ["Exactly one variant must be the control (0 are)."]}
    assert two == {NON_FIELD_ERRORS: ["Exactly one variant must be the control (2 are)."]}


def test_at_least_two_variants_are_required():
    problems = refused(unsaved(variants=[("a", 1, "trending", True)]))

    assert problems == {NON_FIELD_ERRORS: ["An experiment needs at least two variants."]}


def test_strategies_must_belong_to_the_surface():
    carousel_strategy = refused(unsaved(surface="search", variants=[("a", 1, "hybrid", True),
                                                                    ("b", 1, "personalised", False)]))
    search_strategies = refused(unsaved(surface="search", variants=[("a", 1, "hybrid", True),
                                                                    ("b", 1, "keyword", False)]))

    assert carousel_strategy == {NON_FIELD_ERRORS: ["Variant 'b': strategy 'personalised' does not apply to Search."]}
    assert search_strategies == {}


def test_click_through_is_a_primary_metric_of_recommendation_blocks_only():
    pricing = [("a", 1, "dynamic", True), ("b", 1, "base", False)]

    click_through = refused(unsaved(surface="pricing", variants=pricing, primary_metric="recommendation_ctr"))
    order_value = refused(unsaved(surface="pricing", variants=pricing, primary_metric="average_order_value"))

    assert click_through == {"primary_metric": ["Click-through is measured on recommendation blocks only: choose a "
                                                "purchase metric for this surface."]}
    assert order_value == {}


def test_weights_must_be_positive():
    problems = refused(unsaved(variants=[("a", 0, "trending", True), ("b", 1, "personalised", False)]))

    assert problems == {NON_FIELD_ERRORS: ["Variant 'a': the weight must be positive."]}


def test_the_end_must_come_after_the_start():
    start = timezone.now()

    problems = refused(unsaved(starts_at=start, ends_at=start - dt.timedelta(hours=1)))

    assert problems == {"ends_at": ["The experiment must end after it starts."]}


def test_the_database_refuses_a_second_control_a_zero_weight_and_a_duplicate_key():
    experiment = ExperimentFactory()

    for bad in ({"key": "c", "is_control": True, "weight": 1}, {"key": "c", "weight": 0},
                {"key": "a", "weight": 1}):
        with pytest.raises(IntegrityError), transaction.atomic():
            Variant.objects.create(experiment=experiment, name="C", strategy="trending", **bad)


def test_the_database_refuses_an_end_before_the_start_and_a_running_experiment_without_a_start():
    experiment = ExperimentFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        Experiment.objects.filter(pk=experiment.pk).update(ends_at=experiment.starts_at - dt.timedelta(days=1))
    with pytest.raises(IntegrityError), transaction.atomic():
        Experiment.objects.filter(pk=experiment.pk).update(starts_at=None)


def test_only_one_search_experiment_runs_at_a_time():
    variants = [("a", 1, "hybrid", True), ("b", 1, "keyword", False)]
    ExperimentFactory(surface="search", variants=variants)

    with pytest.raises(IntegrityError), transaction.atomic():
        ExperimentFactory(surface="search", variants=variants)
    ExperimentFactory(surface="search", variants=variants, status="paused")

    assert sorted(Experiment.objects.filter(surface="search").values_list("status", flat=True)) == ["paused", "running"]


def test_a_customer_has_one_assignment_per_experiment():
    experiment, customer = ExperimentFactory(), CustomerFactory()
    ExperimentAssignment.objects.create(experiment=experiment, customer=customer, variant_key="a")

    with pytest.raises(IntegrityError), transaction.atomic():
        ExperimentAssignment.objects.create(experiment=experiment, customer=customer, variant_key="b")


def test_variants_are_ordered_control_first_then_as_the_editor_placed_them():
    experiment = ExperimentFactory(variants=[("b", 1, "personalised", False), ("c", 1, "recently_viewed", False),
                                             ("a", 1, "trending", True)])

    assert [variant.key for variant in experiment.ordered_variants()] == ["a", "b", "c"]
