import datetime as dt

import pytest
from django.core.exceptions import ValidationError
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


def messages(error: ValidationError) -> str:
    return " ".join(error.messages)


def test_a_valid_experiment_passes_validation():
    unsaved().full_clean()


def test_exactly_one_control_is_required():
    with pytest.raises(ValidationError) as none:
        unsaved(variants=[("a", 1, "trending", False), ("b", 1, "personalised", False)]).full_clean()
    with pytest.raises(ValidationError) as two:
        unsaved(variants=[("a", 1, "trending", True), ("b", 1, "personalised", True)]).full_clean()

    assert "Exactly one variant must be the control (0 are)" in messages(none.value)
    assert "(2 are)" in messages(two.value)


def test_at_least_two_variants_are_required():
    with pytest.raises(ValidationError) as error:
        unsaved(variants=[("a", 1, "trending", True)]).full_clean()

    assert "at least two variants" in messages(error.value)


def test_strategies_must_belong_to_the_surface():
    with pytest.raises(ValidationError) as error:
        unsaved(surface="search", variants=[("a", 1, "hybrid", True), ("b", 1, "personalised", False)]).full_clean()

    assert "'personalised' does not apply to Search" in messages(error.value)
    unsaved(surface="search", variants=[("a", 1, "hybrid", True), ("b", 1, "keyword", False)]).full_clean()


def test_click_through_is_a_primary_metric_of_recommendation_blocks_only():
    with pytest.raises(ValidationError) as error:
        unsaved(surface="pricing", variants=[("a", 1, "dynamic", True), ("b", 1, "base", False)],
                primary_metric="recommendation_ctr").full_clean()

    assert "Click-through is measured on recommendation blocks only" in messages(error.value)
    unsaved(surface="pricing", variants=[("a", 1, "dynamic", True), ("b", 1, "base", False)],
            primary_metric="average_order_value").full_clean()


def test_weights_must_be_positive():
    with pytest.raises(ValidationError) as error:
        unsaved(variants=[("a", 0, "trending", True), ("b", 1, "personalised", False)]).full_clean()

    assert "weight must be positive" in messages(error.value)


def test_the_end_must_come_after_the_start():
    start = timezone.now()
    with pytest.raises(ValidationError) as error:
        unsaved(starts_at=start, ends_at=start - dt.timedelta(hours=1)).full_clean()

    assert "end after it starts" in messages(error.value)


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


def test_a_customer_has_one_assignment_per_experiment():
    experiment, customer = ExperimentFactory(), CustomerFactory()
    ExperimentAssignment.objects.create(experiment=experiment, customer=customer, variant_key="a")

    with pytest.raises(IntegrityError), transaction.atomic():
        ExperimentAssignment.objects.create(experiment=experiment, customer=customer, variant_key="b")


def test_variants_are_ordered_control_first_then_as_the_editor_placed_them():
    experiment = ExperimentFactory(variants=[("b", 1, "personalised", False), ("c", 1, "recently_viewed", False),
                                             ("a", 1, "trending", True)])

    assert [variant.key for variant in experiment.ordered_variants()] == ["a", "b", "c"]
