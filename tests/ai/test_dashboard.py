import json
import logging
import re
import uuid
from html import escape, unescape

import numpy as np
import pytest
from celery.signals import task_failure
from django.test import Client
from django.utils import timezone

from ai.dashboard import services
from ai.recommendations.models import RecommendationModel
from ai.recommendations.tasks import refresh_visitor_recommendations
from ai.recommendations.training import train_recommendations
from ai.search.models import ProductEmbedding, SearchQuery
from commerce.events import services as events
from tests.factories import ExperimentFactory, PriceChangeFactory, ProductFactory, editor
from vitrine.celery import app as celery_app

pytestmark = pytest.mark.django_db

DASHBOARD = "/admin/storefront-ai/"
TRAIN = "/admin/storefront-ai/queue/train/"
REEMBED = "/admin/storefront-ai/queue/reembed/"


def broker_queue_length(queue: str) -> int:
    """Messages waiting in a Celery queue, read straight from the broker (all priority lists)."""
    with celery_app.connection_for_read() as connection:
        return connection.default_channel._size(queue)


def section(page: str, name: str) -> str:
    return re.search(rf'<section id="storefront-ai-{name}".*?</section>', page, re.S).group(0)


def embed(product, version="all-MiniLM-L6-v2/onnx-int8-v1"):
    vector = np.random.default_rng(product.pk).normal(size=384).astype(np.float32)
    return ProductEmbedding.objects.create(product=product, embedding=vector / np.linalg.norm(vector),
                                           text_hash="0" * 64, model_version=version)


def test_the_dashboard_shows_every_section_with_real_data(admin_client, wagtail_site, shop):
    products, _ = shop
    model = train_recommendations()
    for key in ("coffee0", "coffee1", "garden0"):
        embed(products[key])
    embed(products["garden1"], version="all-MiniLM-L6-v2/sentence-transformers")
    SearchQuery.objects.bulk_create(
        [SearchQuery(query="Coffee", normalized="coffee", result_count=5)] * 3
        + [SearchQuery(query="flux capacitor", normalized="flux capacitor", result_count=0)])
    PriceChangeFactory(product=products["coffee2"])
    events.record("view", product_id=products["coffee3"].pk)
    refresh_visitor_recommendations.apply(args=["not-a-uuid"])

    response = admin_client.get(DASHBOARD)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Unavailable" not in page
    recs = section(page, "recommendations")
    assert model.version in recs and "Last training" in recs and "Catalogue coverage" in recs
    assert f"of {model.customers} customers with history" in recs and "help-warning" not in recs
    assert 'action="/admin/storefront-ai/queue/train/"' in recs
    embeddings = section(page, "embeddings")
    active = sum(1 for product in products.values() if product.active)
    assert f"4 of {active} active products" in embeddings
    assert f"{active - 4} active products have no embedding" in embeddings
    assert "all-MiniLM-L6-v2/onnx-int8-v1</code>: 3" in embeddings and "sentence-transformers</code>: 1" in embeddings
    assert "more than one encoder version" in embeddings
    celery = section(page, "celery")
    assert re.search(r"<td>batch</td><td>0</td>", celery)
    assert "1 queued" in celery
    assert "ValueError" in celery and "ai.recommendations.tasks.refresh_visitor_recommendations" in celery
    searches = section(page, "searches")
    assert "coffee" in searches and "flux capacitor" in searches and "4 searches" in searches
    assert 'href="/admin/reports/search/"' in searches
    pricing = section(page, "pricing")
    assert "Pending price changes</th><td>1" in pricing and "Released" in pricing
    assert 'href="/admin/snippets/pricing/pricechange/?status=pending"' in pricing
    assert 'href="/admin/pricing/kill-switch/"' in pricing


def test_the_recommendations_section_shows_the_chosen_model_its_validation_figures_and_every_candidate(
        admin_client, wagtail_site, shop):
    # given a model trained with selection on
    model = train_recommendations()
    chosen = model.selection
    winner = chosen["candidates"][chosen["winner"]]
    # when the dashboard is shown
    recs = section(admin_client.get(DASHBOARD).content.decode(), "recommendations")
    # then it names the winner, its validation NDCG@20 and recall@20, its lift and when it was chosen
    row = re.search(r'<tr id="storefront-ai-chosen-model">.*?</tr>', recs, re.S).group(0)
    assert escape(chosen["winner"]) in row and model.trained_at.strftime("%Y-%m-%d %H:%M") in row
    assert f"{winner['ndcg@20']:.4f} / {winner['recall@20']:.4f}" in recs
    assert f"+{100 * chosen['lift_over_popularity']:.1f}% NDCG@20" in recs
    # and every candidate's scores, best first, the served one marked once
    table = re.search(r'<table class="listing w-mt-4" id="storefront-ai-candidates">.*?</table>', recs, re.S).group(0)
    assert "<caption" in table and '<th scope="col">NDCG@20</th>' in table
    names = [unescape(name) for name in re.findall(r'<th scope="row"><code>(.*?)</code>', table)]
    assert sorted(names) == sorted(chosen["candidates"])
    shown = [chosen["candidates"][name]["ndcg@20"] for name in names]
    assert shown == sorted(shown, reverse=True)
    assert table.count("(served)") == 1


def test_a_model_trained_without_a_validation_slice_says_why_nothing_was_chosen(admin_client, wagtail_site):
    # given a current model whose training had too little history to choose
    RecommendationModel.objects.create(
        version="v1", trained_at=timezone.now(), settings={}, customers=3, products=6, interactions=6,
        is_current=True, item_data=b"", selection={"winner": None, "reason": "too little history to validate"})
    # when the dashboard is shown
    recs = section(admin_client.get(DASHBOARD).content.decode(), "recommendations")
    # then it says so, and shows no candidates
    assert "none: too little history to validate; the configured blend is served" in recs
    assert "storefront-ai-candidates" not in recs


def test_each_product_page_surface_shows_what_it_serves_its_validation_figures_and_lift(admin_client, wagtail_site):
    # given a run in which best sellers beat co-behaviour for similar products, association strength won
    # bought together, and there were no orders to validate anything on in a second shop
    surfaces = {
        "similar": {"winner": "popularity", "validation_seeds": 1200, "lift_over_popularity": 0.0,
                    "candidates": {"co-behaviour (bm25)": {"ndcg@20": 0.041, "recall@20": 0.09},
                                   "co-behaviour (cosine)": {"ndcg@20": 0.038, "recall@20": 0.08},
                                   "popularity": {"ndcg@20": 0.052, "recall@20": 0.11}}},
        "bought_together": {"winner": "association strength", "validation_seeds": 340, "lift_over_popularity": 0.615,
                            "candidates": {"association strength": {"ndcg@20": 0.1841, "recall@20": 0.079},
                                           "popularity": {"ndcg@20": 0.114, "recall@20": 0.0436}}},
    }
    model = RecommendationModel.objects.create(
        version="v1", trained_at=timezone.now(), settings={}, customers=3, products=6, interactions=6,
        is_current=True, item_data=b"", selection={"winner": None, "reason": "too little history to validate",
                                                   "surfaces": surfaces})
    # when the dashboard is shown
    recs = section(admin_client.get(DASHBOARD).content.decode(), "recommendations")
    # then each surface has its row: what it serves, its validation figures, its lift, when it was chosen
    table = re.search(r'<table class="listing w-mt-4" id="storefront-ai-surfaces">.*?</table>', recs, re.S).group(0)
    assert model.trained_at.strftime("%Y-%m-%d %H:%M") in table
    similar, together = re.findall(r'<tr class="storefront-ai-surface">(.*?)</tr>', table, re.S)
    assert "Similar products" in similar and "content neighbours alone" in similar
    assert "0.0520 / 0.1100" in similar and "1,200 seed products" in similar and "+0.0%" in similar
    assert "Bought together" in together and "association strength" in together
    assert "0.1841 / 0.0790" in together and "+61.5%" in together
    # and a run with nothing to validate a surface on says so
    model.selection["surfaces"]["bought_together"] = {"winner": None, "reason": "no purchase to build baskets from"}
    model.save()
    recs = section(admin_client.get(DASHBOARD).content.decode(), "recommendations")
    assert "its default, not validated: no purchase to build baskets from" in recs


def test_dead_lettered_events_are_counted_with_the_command_that_handles_them(admin_client, wagtail_site):
    poison = json.dumps({"id": str(uuid.uuid4()), "created_at": timezone.now().isoformat(), "event_type": "view",
                         "experiments": {"a\x00": "b"}})
    events.redis_client().rpush(events.QUEUE_KEY, poison, "{oops")
    events.drain_events()

    celery = section(admin_client.get(DASHBOARD).content.decode(), "celery")

    assert "0 queued · 0 being written · 2 dead-lettered" in celery
    assert "manage.py dead_letter_events list" in celery


def test_a_stale_or_missing_model_and_an_engaged_kill_switch_are_flagged(admin_client, admin_user, wagtail_site):
    from ai.pricing import review

    review.engage_kill_switch(admin_user)

    page = admin_client.get(DASHBOARD).content.decode()

    assert "No recommendation model has been trained" in section(page, "recommendations")
    assert "Dynamic pricing is stopped" in section(page, "pricing")
    assert "No task has failed recently" in section(page, "celery")


def exposed(experiment, variant: str, count: int) -> None:
    events.store_events([{"id": str(uuid.uuid4()), "created_at": timezone.now().isoformat(),
                          "event_type": "experiment_exposure", "anonymous_id": str(uuid.uuid4()),
                          "experiments": {experiment.key: variant}} for _ in range(count)])


def test_running_experiments_show_their_exposed_shoppers_and_a_sample_ratio_mismatch(admin_client, client,
                                                                                   wagtail_site):
    skewed = ExperimentFactory(name="Home carousel", minimum_sample_size=100)
    exposed(skewed, "a", 300)
    exposed(skewed, "b", 200)
    balanced = ExperimentFactory(name="Search blend", surface="search", primary_metric="search_conversion",
                                 minimum_sample_size=50,
                                 variants=[("a", 1, "hybrid", True), ("b", 1, "keyword", False)])
    exposed(balanced, "a", 40)
    exposed(balanced, "b", 41)
    ExperimentFactory(name="Paused one", status="paused")
    editor(client, "view_dashboard")

    page = section(admin_client.get(DASHBOARD).content.decode(), "experiments")
    viewer = section(client.get(DASHBOARD).content.decode(), "experiments")

    rows = re.findall(r"<tr>\s*<td>.*?</tr>", page, re.S)
    assert len(rows) == 2 and "Paused one" not in page
    assert "a 300 / b 200" in rows[0] and "Sample ratio mismatch" in rows[0]
    assert "a 40 / b 41" in rows[1] and "Collecting (minimum 50 per variant)" in rows[1]
    assert f'href="/admin/experiments/{skewed.pk}/results/"' in rows[0]
    assert "Home carousel" in viewer and "/results/" not in viewer  # no permission to open the results


def test_an_experiment_paused_by_its_guardrail_check_is_announced(admin_client, wagtail_site):
    paused = ExperimentFactory(name="Harmful prices", status="paused", guardrail_note="Paused by the guardrail check")
    ExperimentFactory(name="Paused by hand", status="paused")

    page = section(admin_client.get(DASHBOARD).content.decode(), "experiments")

    assert "“Harmful prices” was paused by its guardrail check" in page
    assert f'href="/admin/experiments/{paused.pk}/results/"' in page and "Paused by hand" not in page


def test_the_menu_shows_the_dashboard_only_to_users_with_its_permission(client, wagtail_site):
    editor(client)
    assert "/admin/storefront-ai/" not in client.get("/admin/").content.decode()

    editor(client, "view_dashboard")
    assert "/admin/storefront-ai/" in client.get("/admin/").content.decode()


def test_users_without_the_permission_are_refused(client, wagtail_site):
    editor(client, "view_searchquery", "view_recommendationmodel", "approve_pricechange")

    response = client.get(DASHBOARD)

    assert response.status_code == 302 and response.url == "/admin/"
    assert client.post(TRAIN).status_code == 302
    assert broker_queue_length("batch") == 0


def test_viewers_see_the_page_but_neither_buttons_nor_links_they_may_not_follow(client, wagtail_site):
    editor(client, "view_dashboard")

    page = client.get(DASHBOARD).content.decode()

    assert "Recommendation model" in page and "Dynamic pricing" in page
    assert "/queue/train/" not in page and "/queue/reembed/" not in page
    assert "/admin/reports/search/" not in section(page, "searches")
    assert "/admin/pricing/" not in section(page, "pricing")
    assert client.post(TRAIN).status_code == 302
    assert broker_queue_length("batch") == 0


def test_the_train_button_queues_training_on_the_batch_queue(client, wagtail_site):
    editor(client, "view_dashboard", "queue_ai_tasks")
    before = broker_queue_length("batch")

    response = client.post(TRAIN, follow=True)

    assert response.redirect_chain[-1][0] == DASHBOARD
    assert "Training queued" in response.content.decode()
    assert broker_queue_length("batch") == before + 1
    assert re.search(r"<td>batch</td><td>1</td>", section(response.content.decode(), "celery"))


def test_the_reembed_button_queues_indexing_of_missing_products(admin_client, wagtail_site):
    ProductFactory()

    response = admin_client.post(REEMBED, follow=True)

    assert "Re-indexing queued" in response.content.decode()
    assert broker_queue_length("batch") == 1
    with celery_app.connection_for_read() as connection:
        message = connection.default_channel.client.lindex("batch", 0)
    assert b"ai.search.tasks.reembed_missing_products" in message


def test_buttons_accept_only_a_post_with_a_csrf_token(admin_user, wagtail_site):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin_user)

    assert browser.get(TRAIN).status_code == 405
    assert browser.post(TRAIN).status_code == 403
    assert broker_queue_length("batch") == 0


def test_a_failing_task_is_recorded_by_the_task_failure_signal(wagtail_site):
    result = refresh_visitor_recommendations.apply(args=["not-a-uuid"])

    assert result.failed()
    [failure] = services.task_failures()["failures"]
    assert failure["task"] == "ai.recommendations.tasks.refresh_visitor_recommendations"
    assert failure["id"] == result.id
    assert failure["exception"] == "ValueError" and "hexadecimal UUID" in failure["message"]


def test_failures_are_kept_newest_first_and_capped(wagtail_site):
    for n in range(services.FAILURES_KEPT + 5):
        task_failure.send(sender=refresh_visitor_recommendations, task_id=f"task-{n}",
                          exception=RuntimeError(f"boom {n}"), args=(), kwargs={}, traceback=None, einfo=None)

    failures = services.task_failures()["failures"]

    assert len(failures) == services.FAILURES_KEPT
    assert failures[0]["id"] == f"task-{services.FAILURES_KEPT + 4}" and failures[-1]["id"] == "task-5"


@pytest.fixture
def redis_down(dead_broker_url, settings):
    """The cache's Redis (where the event queue and the failure list live too) is a killed one. Connected
    as to a Redis that is not embedded: an embedded connection would start the killed server again."""
    cache = settings.CACHES["default"]
    settings.CACHES = {"default": {
        **cache, "LOCATION": "unix://" + dead_broker_url.removeprefix("redis+socket://"),
        "OPTIONS": {**cache["OPTIONS"], "CONNECTION_POOL_KWARGS": {}}}}


def test_recording_a_failure_never_raises_when_redis_is_down(redis_down, caplog):
    services.record_task_failure("some.task", "abc", ValueError("bad"))

    assert "could not record the failure of task some.task" in caplog.text


def test_a_section_whose_source_raises_shows_unavailable_and_the_page_still_renders(admin_client, wagtail_site,
                                                                                     settings, caplog):
    settings.VITRINE_RECOMMENDATIONS = {"factor": 32}  # a typo: the recommendation settings cannot be read

    with caplog.at_level(logging.ERROR, logger="ai.dashboard.services"):
        response = admin_client.get(DASHBOARD)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Unavailable" in section(page, "recommendations")
    assert 'action="/admin/storefront-ai/queue/train/"' in section(page, "recommendations")
    assert "Unavailable" not in section(page, "pricing") and "Unavailable" not in section(page, "searches")
    assert "section 'recommendations' unavailable" in caplog.text and "'factor'" in caplog.text


def test_with_redis_down_the_celery_sections_degrade_and_the_rest_renders(admin_client, wagtail_site, broker_down,
                                                                          redis_down):
    response = admin_client.get(DASHBOARD)

    assert response.status_code == 200
    page = response.content.decode()
    assert section(page, "celery").count("Unavailable") == 3
    assert "Unavailable" not in section(page, "pricing") and "Unavailable" not in section(page, "embeddings")


def test_a_button_reports_an_unreachable_broker_at_once(admin_client, wagtail_site, broker_connection_attempts):
    posted = admin_client.post(TRAIN)

    assert len(broker_connection_attempts) == 1  # one refused connection, not kombu's retries
    assert posted.status_code == 302 and posted.url == DASHBOARD
    assert "Could not queue the task: the Celery broker is unreachable." in admin_client.get(DASHBOARD).content.decode()


def test_the_train_and_embed_buttons_show_their_labels_beside_a_sized_icon(admin_client, wagtail_site):
    page = admin_client.get(DASHBOARD).content.decode()

    for name, label in (("recommendations", "Train now"), ("embeddings", "Embed missing products")):
        button = re.search(r"<button [^>]*>.*?</button>", section(page, name), re.S).group(0)
        # Wagtail's button-with-icon pattern sizes the icon (a bare one is 300×150 and covers the label)
        assert "button--icon" in button and '<span class="icon-wrapper">' in button
        assert label in button
