import datetime as dt
import re
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from ai.experiments.models import Experiment
from commerce.events.services import store_events
from demo.accounts import ensure_merchandiser
from tests.factories import ExperimentFactory, editor

pytestmark = pytest.mark.django_db

SNIPPETS = "/admin/snippets/experiments/experiment/"


def results_url(experiment) -> str:
    return f"/admin/experiments/{experiment.pk}/results/"


def exposures(experiment, variant: str, count: int, days_ago: float = 2) -> None:
    at = (timezone.now() - dt.timedelta(days=days_ago)).isoformat()
    store_events([{"id": str(uuid.uuid4()), "created_at": at, "event_type": "experiment_exposure",
                   "anonymous_id": str(uuid.uuid4()), "experiments": {experiment.key: variant}} for _ in range(count)])


def form_data(**overrides) -> dict:
    data = {"name": "Home carousel", "key": "home-carousel", "hypothesis": "Personalised earns more clicks",
            "surface": "recommendation_block", "primary_metric": "recommendation_ctr", "minimum_sample_size": "500",
            "variants-TOTAL_FORMS": "2", "variants-INITIAL_FORMS": "0", "variants-MIN_NUM_FORMS": "0",
            "variants-MAX_NUM_FORMS": "1000"}
    for index, (key, strategy, control) in enumerate([("a", "trending", True), ("b", "personalised", False)]):
        data |= {f"variants-{index}-key": key, f"variants-{index}-name": key.upper(), f"variants-{index}-weight": "50",
                 f"variants-{index}-strategy": strategy, f"variants-{index}-ORDER": str(index + 1),
                 f"variants-{index}-id": "", f"variants-{index}-DELETE": ""}
        if control:
            data[f"variants-{index}-is_control"] = "on"
    return data | overrides


def test_experiments_are_listed_filterable_and_searchable(admin_client):
    ExperimentFactory(name="Carousel test")
    ExperimentFactory(name="Search test", surface="search", status="draft", starts_at=None,
                      variants=[("a", 1, "hybrid", True), ("b", 1, "keyword", False)])

    assert "Carousel test" in admin_client.get(SNIPPETS).content.decode()
    drafts = admin_client.get(SNIPPETS, {"status": "draft"}).content.decode()
    assert "Search test" in drafts and "Carousel test" not in drafts
    search = admin_client.get(SNIPPETS, {"surface": "search"}).content.decode()
    assert "Search test" in search and "Carousel test" not in search
    assert "Carousel test" not in admin_client.get(SNIPPETS, {"q": "Search"}).content.decode()


def test_an_experiment_with_its_variants_is_created_as_a_draft(admin_client):
    response = admin_client.post(f"{SNIPPETS}add/", form_data())

    assert response.status_code == 302, response.content.decode()[-3000:]
    experiment = Experiment.objects.get(key="home-carousel")
    assert experiment.status == "draft"
    assert [(v.key, v.is_control) for v in experiment.variants.order_by("sort_order")] == [("a", True), ("b", False)]


def test_guardrail_metrics_are_ticked_in_the_form_conversion_revenue_and_returns_by_default(admin_client):
    form = admin_client.get(f"{SNIPPETS}add/").content.decode()
    response = admin_client.post(f"{SNIPPETS}add/", form_data(guardrail_metrics=["average_order_value",
                                                                                 "search_conversion"]))

    ticked = re.findall(r'<input type="checkbox" name="guardrail_metrics" value="(\w+)"[^>]*checked', form)
    assert ticked == ["search_conversion", "revenue_per_visitor", "return_rate"]
    assert response.status_code == 302
    assert Experiment.objects.get(key="home-carousel").guardrail_metrics == ["search_conversion",
                                                                             "average_order_value"]


def test_a_pricing_experiment_is_created_and_refuses_click_through_as_its_metric(admin_client):
    pricing = form_data(key="base-vs-dynamic", surface="pricing", primary_metric="average_order_value",
                        **{"variants-0-strategy": "dynamic", "variants-1-strategy": "base"})

    refused = admin_client.post(f"{SNIPPETS}add/", pricing | {"primary_metric": "recommendation_ctr"})
    created = admin_client.post(f"{SNIPPETS}add/", pricing)

    assert "Click-through is measured on recommendation blocks only" in refused.content.decode()
    assert created.status_code == 302, created.content.decode()[-3000:]
    experiment = Experiment.objects.get(key="base-vs-dynamic")
    assert [v.strategy for v in experiment.variants.order_by("sort_order")] == ["dynamic", "base"]


def test_the_form_refuses_variants_without_a_control_or_with_another_surfaces_strategy(admin_client):
    no_control = form_data()
    del no_control["variants-0-is_control"]
    wrong_strategy = form_data(surface="search")

    first = admin_client.post(f"{SNIPPETS}add/", no_control).content.decode()
    second = admin_client.post(f"{SNIPPETS}add/", wrong_strategy).content.decode()

    assert "Exactly one variant must be the control" in first
    assert "does not apply to Search" in second
    assert not Experiment.objects.exists()


def test_results_show_the_variants_the_srm_warning_and_the_trend(admin_client):
    experiment = ExperimentFactory(minimum_sample_size=10, primary_metric="search_conversion")
    exposures(experiment, "a", 300, days_ago=3)
    exposures(experiment, "b", 200, days_ago=2)

    page = admin_client.get(results_url(experiment)).content.decode()

    assert "Sample ratio mismatch" in page and "300 / 200" in page
    assert "Search-to-purchase conversion (7 days) (primary)" in page and "Average order value" in page
    assert "<svg" in page and "<polyline" in page
    assert "Results" in admin_client.get(SNIPPETS).content.decode()


def test_the_listing_has_a_results_button_beside_each_experiment_not_in_its_menu(admin_client):
    experiments = [ExperimentFactory(name="Carousel test"), ExperimentFactory(name="Holdout")]

    page = admin_client.get(SNIPPETS).content.decode()

    for experiment in experiments:
        button = re.search(rf'<a [^>]*href="{results_url(experiment)}"[^>]*>', page)
        assert button and "button-secondary" in button.group(0)  # a listing button, not a "…" menu item
        assert f'aria-label="Results of “{experiment.name}”"' in button.group(0)


def test_a_variant_below_its_minimum_sample_reads_not_enough_data_yet(admin_client):
    experiment = ExperimentFactory(minimum_sample_size=50)
    exposures(experiment, "a", 60)
    exposures(experiment, "b", 20)

    page = admin_client.get(results_url(experiment)).content.decode()

    assert page.count("Not enough data yet: 20 of 50 exposed shoppers.") == 6  # each metric's row of b
    assert "20 of 50" in page and "60 of 50" in page
    assert "0.0000 – 0.0000" not in page


def test_the_sample_ratio_check_is_shown_with_its_p_value_when_the_split_is_balanced(admin_client):
    experiment = ExperimentFactory(minimum_sample_size=10)
    exposures(experiment, "a", 100)
    exposures(experiment, "b", 100)

    page = admin_client.get(results_url(experiment)).content.decode()

    assert "Sample ratio check passed." in page
    assert "(100 / 100)" in page and "(50 / 50)" in page and "p = 1 ≥ 0.001" in page


def test_the_sample_ratio_check_says_it_has_not_run_before_any_exposure(admin_client):
    page = admin_client.get(results_url(ExperimentFactory())).content.decode()

    assert "Sample ratio check: not run yet." in page


def test_variants_are_named_once_with_control_marked_once(admin_client):
    experiment = ExperimentFactory()
    experiment.variants.filter(key="a").update(name="Trending (control)")

    page = admin_client.get(results_url(experiment)).content.decode()

    assert "Trending — control" in page
    assert "Trending (control)" not in page and "· control" not in page


def test_the_results_page_explains_its_figures_itself(admin_client):
    page = admin_client.get(results_url(ExperimentFactory())).content.decode()

    assert "How these figures are computed" in page and "Wilson" in page
    assert "return rate (30 days): orders with a return requested before exposure" in page  # each covariate named
    assert "docs/experiments.md" not in page


def test_results_export_as_csv(admin_client):
    experiment = ExperimentFactory()
    exposures(experiment, "a", 5)

    response = admin_client.get(f"/admin/experiments/{experiment.pk}/results.csv")

    assert response["Content-Type"] == "text/csv"
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("experiment,variant,control,weight,units,metric")
    assert len(lines) == 1 + 2 * 6  # two variants × six metrics
    assert any(line.startswith(f"{experiment.key},a,True,50,5,search_conversion") for line in lines)


def test_only_users_with_view_permission_see_results(client):
    experiment = ExperimentFactory()
    editor(client)

    assert client.get(results_url(experiment)).status_code in (302, 403)
    assert client.get(f"/admin/experiments/{experiment.pk}/results.csv").status_code in (302, 403)

    editor(client, "view_experiment")
    page = client.get(results_url(experiment))
    assert page.status_code == 200 and "Pause</button>" not in page.content.decode()


def test_managers_start_pause_and_finish_by_post(client):
    experiment = ExperimentFactory(status="draft", starts_at=None)
    editor(client, "view_experiment", "manage_experiment")

    assert client.get(f"/admin/experiments/{experiment.pk}/start/").status_code == 405
    client.post(f"/admin/experiments/{experiment.pk}/start/")
    experiment.refresh_from_db()
    assert experiment.status == "running" and experiment.starts_at is not None

    client.post(f"/admin/experiments/{experiment.pk}/pause/")
    experiment.refresh_from_db()
    assert experiment.status == "paused"

    client.post(f"/admin/experiments/{experiment.pk}/finish/")
    experiment.refresh_from_db()
    assert experiment.status == "finished"


def test_viewers_cannot_change_the_status(client):
    experiment = ExperimentFactory()
    editor(client, "view_experiment")

    response = client.post(f"/admin/experiments/{experiment.pk}/pause/")

    assert response.status_code in (302, 403)
    experiment.refresh_from_db()
    assert experiment.status == "running"


def test_the_status_change_needs_the_csrf_token(client):
    experiment = ExperimentFactory()
    client.handler.enforce_csrf_checks = True
    editor(client, "view_experiment", "manage_experiment")

    assert client.post(f"/admin/experiments/{experiment.pk}/pause/").status_code == 403
    experiment.refresh_from_db()
    assert experiment.status == "running"


def test_an_existing_experiment_is_edited_with_its_variants(admin_client):
    experiment = ExperimentFactory(status="draft", starts_at=None)
    a, b = experiment.variants.order_by("sort_order")
    data = form_data(key=experiment.key, name="Renamed", **{"variants-INITIAL_FORMS": "2", "variants-0-id": str(a.pk),
                                                          "variants-1-id": str(b.pk), "variants-1-weight": "30"})

    response = admin_client.post(f"{SNIPPETS}edit/{experiment.pk}/", data)

    assert response.status_code == 302, response.content.decode()[-3000:]
    experiment.refresh_from_db()
    assert experiment.name == "Renamed"
    assert sorted(experiment.variants.values_list("key", "weight")) == [("a", 50), ("b", 30)]


def test_a_demo_merchandiser_can_choose_an_experiment_for_a_carousel(client, wagtail_site):
    ExperimentFactory(name="Home carousel test")
    ensure_merchandiser("a-long-test-password")
    client.login(username="merchandiser", password="a-long-test-password")

    chooser = client.get(reverse("wagtailsnippetchoosers_experiments_experiment:choose"))

    assert chooser.status_code == 200 and "Home carousel test" in chooser.content.decode()
