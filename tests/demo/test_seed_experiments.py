"""``seed_experiments``: two valid draft experiments, the carousel one chosen in the home carousel."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from ai.experiments.models import Experiment
from tests.factories import BROWSER, ExperimentFactory, transition

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_experiments", stdout=out)
    return out.getvalue()


def test_it_creates_valid_drafts_and_chooses_the_carousel_one_in_the_home_carousel(wagtail_site):
    wagtail_site.body = [("recommendations", {"title": "Picked for you", "strategy": "personalised", "count": 8,
                                              "fallback": "trending"})]
    wagtail_site.save_revision().publish()

    output = seed()

    experiments = {e.surface: e for e in Experiment.objects.all()}
    assert set(experiments) == {"recommendation_block", "pricing"}
    for experiment in experiments.values():
        assert experiment.status == "draft"
        experiment.full_clean()  # a valid experiment: one control, strategies of its surface
    wagtail_site.refresh_from_db()
    assert wagtail_site.body[0].value["experiment"] == experiments["recommendation_block"]
    assert "chosen in the carousel “Picked for you”" in output


def test_started_the_carousel_experiment_runs_in_the_home_page_carousel(wagtail_site):
    # A trending row is the same for everyone; under a running experiment it is fetched per shopper.
    wagtail_site.body = [("recommendations", {"title": "Popular now", "strategy": "trending", "count": 8,
                                              "fallback": "trending"})]
    wagtail_site.save_revision().publish()
    seed()
    experiment = Experiment.objects.get(surface="recommendation_block")
    shopper = Client(HTTP_USER_AGENT=BROWSER)

    as_draft = shopper.get("/").content.decode()
    transition(experiment, "start")
    running = shopper.get("/").content.decode()

    assert 'data-fragment-url="/fragments/' not in as_draft
    assert 'data-fragment-url="/fragments/' in running


def test_existing_experiments_are_kept():
    ExperimentFactory(name="Ours")

    assert "kept them" in seed()
    assert list(Experiment.objects.values_list("name", flat=True)) == ["Ours"]
