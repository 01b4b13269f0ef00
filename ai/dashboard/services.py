"""What the Storefront AI dashboard shows: plain functions, each returning a dict for one section.

Every section reads its own source (PostgreSQL, the cache Redis, the Celery broker) and ``dashboard()``
runs each one guarded: a source that raises (Redis down, a failing query) turns that section into
``{"available": False}`` and a logged exception, never a broken page. Nothing here loads the text
encoder or trains anything; the buttons only queue Celery tasks.
"""

import datetime as dt
import json
import logging

from celery import current_app as celery_app
from django.db.models import Count, Max, Min
from django.utils import timezone
from django_redis import get_redis_connection

from ai.experiments import metrics as experiment_metrics
from ai.experiments.models import Experiment
from ai.pricing import serving as pricing
from ai.pricing.models import KillSwitch, PriceChange
from ai.recommendations import serving as recommendations
from ai.recommendations import tasks as recommendation_tasks
from ai.search import reports as search_reports
from ai.search import serving as search
from ai.search import tasks as search_tasks
from ai.search.models import ProductEmbedding
from commerce.catalogue.models import Product
from commerce.events import services as events
from core.queueing import BROKER_FAIL_FAST, publish

logger = logging.getLogger(__name__)

VIEW_PERMISSION = "dashboard.view_dashboard"
ACT_PERMISSION = "dashboard.queue_ai_tasks"

FAILURES_KEY = "vitrine:dashboard:task-failures"  # a raw Redis list in the cache's database
FAILURES_KEPT = 50
FAILURE_MESSAGE_MAX_CHARS = 500
SEARCH_DAYS = 7
SEARCH_ROWS = 10


# --- 1. recommendation model ---------------------------------------------------------------------------


def recommendation_status() -> dict:
    health = recommendations.model_health()
    model = health["model"]
    status = {"stale": health["stale"], "message": health["message"], "cadence_hours": health["cadence_hours"],
              "trained": model is not None}
    if model is not None:
        status |= {
            "version": model.version, "trained_at": model.trained_at, "age_hours": health["age_hours"],
            "customers": model.customers, "customers_with_recommendations": model.customers_with_recommendations,
            "customer_coverage": health["customer_coverage"], "catalogue_coverage": health["catalogue_coverage"],
            "training_seconds": model.training_seconds, "precompute_seconds": model.precompute_seconds,
            "selection": model_selection(model.selection),
            "surfaces": surface_selections(model.selection),
        }
    return status


# Per product-page surface: its title, what its winner is served with, and what it shows when best sellers
# beat its models on the validation slice.
SURFACE_FALLBACKS = {
    "similar": ("Similar products", " blended with content neighbours",
                "content neighbours alone (text embeddings, same category first)"),
    "bought_together": ("Bought together", ", then the complementary categories' best sellers",
                        "the complementary categories' best sellers"),
}


def model_selection(record: dict) -> dict | None:
    """The training run's choice (``RecommendationModel.selection``): the winner's validation figures, its
    lift over popularity in percent, and every candidate, best first."""
    if not record:
        return None
    candidates = sorted(({"name": name, "ndcg": figures["ndcg@20"], "recall": figures["recall@20"],
                          "chosen": name == record["winner"]}
                         for name, figures in record.get("candidates", {}).items()),
                        key=lambda candidate: -candidate["ndcg"])
    winner = next((candidate for candidate in candidates if candidate["chosen"]), None)
    lift = record.get("lift_over_popularity")
    return {"winner": record["winner"], "reason": record.get("reason", ""), "seconds": record.get("seconds"),
            "ndcg": winner and winner["ndcg"], "recall": winner and winner["recall"],
            "lift_percent": None if lift is None else round(100 * lift, 1),
            "validation_customers": record.get("validation_customers"),
            "validation_seeds": record.get("validation_seeds"), "candidates": candidates}


def surface_selections(record: dict) -> list[dict]:
    """Each product-page surface's choice in the same training run (``record["surfaces"]``), with what it
    serves when popularity won."""
    found = []
    for key, (title, served_with, fallback) in SURFACE_FALLBACKS.items():
        if chosen := model_selection((record.get("surfaces") or {}).get(key, {})):
            found.append({**chosen, "title": title, "serves": fallback if chosen["winner"] == "popularity"
                          else f"{chosen['winner']}{served_with}"})
    return found


# --- 2. embeddings -------------------------------------------------------------------------------------


def embedding_status() -> dict:
    active = Product.objects.filter(active=True).count()
    embedded = ProductEmbedding.objects.filter(product__active=True)
    stats = embedded.aggregate(embedded=Count("pk"), newest=Max("updated_at"), oldest=Min("updated_at"))
    versions = list(embedded.values("model_version").annotate(products=Count("pk"))
                    .order_by("-products", "model_version"))
    missing = search.unindexed_products().count()
    return {
        "active_products": active, "embedded": stats["embedded"],
        "coverage": stats["embedded"] / active if active else 1.0,
        "newest": stats["newest"], "oldest": stats["oldest"], "versions": versions,
        "needing_index": missing, "mixed_versions": len(versions) > 1,
        "stale": missing > 0 or len(versions) > 1,
    }


# --- 3. Celery -----------------------------------------------------------------------------------------


def celery_queue_depths() -> dict:
    """Messages waiting in each Celery queue, read from the broker itself (``CELERY_BROKER_URL``, its own
    Redis database, not the cache's). kombu's Redis transport keeps a queue as the list named after it plus
    one list per priority step (``<queue>\\x06\\x16<priority>``); "reserved" counts messages delivered to a
    worker and not yet acknowledged (tasks running now, since tasks are acknowledged late)."""
    names = [queue.name for queue in celery_app.conf.task_queues]
    with celery_app.connection_for_read(transport_options=BROKER_FAIL_FAST) as connection:
        channel = connection.default_channel
        if hasattr(channel, "priority_steps"):  # Redis (the default)
            client = channel.client
            with client.pipeline(transaction=False) as pipe:
                for queue in names:
                    for priority in channel.priority_steps:
                        pipe.llen(f"{queue}{channel.sep}{priority}" if priority else queue)
                pipe.hlen(channel.unacked_key)
                sizes = pipe.execute()
            steps = len(channel.priority_steps)
            queues = [{"name": queue, "waiting": sum(sizes[i * steps:(i + 1) * steps])}
                      for i, queue in enumerate(names)]
            reserved = sizes[-1]
        else:  # an AMQP broker when scaled out: ask it
            queues = [{"name": queue, "waiting": channel.queue_declare(queue=queue, passive=True).message_count}
                      for queue in names]
            reserved = None
    return {"queues": queues, "reserved": reserved, "total": sum(q["waiting"] for q in queues)}


def event_queue_status() -> dict:
    return events.queue_depth()


def record_task_failure(task_name: str, task_id: str | None, exception: BaseException | None,
                        *, now: dt.datetime | None = None) -> None:
    """Push one failure onto the capped list (newest first, the last ``FAILURES_KEPT``). Called from the
    ``task_failure`` signal inside a worker: a Redis error is logged and swallowed."""
    entry = json.dumps({
        "task": task_name, "id": task_id,
        "exception": type(exception).__name__ if exception is not None else "",
        "message": str(exception)[:FAILURE_MESSAGE_MAX_CHARS] if exception is not None else "",
        "at": (now or timezone.now()).isoformat(),
    })
    try:
        client = get_redis_connection("default")
        with client.pipeline(transaction=True) as pipe:
            pipe.lpush(FAILURES_KEY, entry).ltrim(FAILURES_KEY, 0, FAILURES_KEPT - 1).execute()
    except Exception:
        logger.warning("could not record the failure of task %s %s", task_name, task_id, exc_info=True)


def task_failures(limit: int = FAILURES_KEPT) -> dict:
    raw = get_redis_connection("default").lrange(FAILURES_KEY, 0, limit - 1)
    failures = []
    for item in raw:
        entry = json.loads(item)
        entry["at"] = dt.datetime.fromisoformat(entry["at"])
        failures.append(entry)
    return {"failures": failures}


# --- 4. searches ---------------------------------------------------------------------------------------


def search_status(days: int = SEARCH_DAYS) -> dict:
    report = search_reports.search_report(days=days, limit=SEARCH_ROWS)
    return {key: report[key] for key in ("days", "totals", "zero_rate", "click_through", "top", "zero_results")}


# --- 5. pricing ----------------------------------------------------------------------------------------


def pricing_status() -> dict:
    pending = PriceChange.objects.filter(status=PriceChange.Status.PENDING).aggregate(
        count=Count("pk"), oldest=Min("created_at"))
    switch = KillSwitch.objects.filter(pk=1).values("changed_at").first()
    return {"pending": pending["count"], "oldest_pending": pending["oldest"],
            "kill_switch_engaged": pricing.kill_switch_engaged(),
            "kill_switch_changed_at": switch["changed_at"] if switch else None}


# --- 6. experiments -----------------------------------------------------------------------------------


def experiment_status() -> dict:
    """Running experiments with their exposed shoppers per variant (one query each), the sample ratio
    check and whether every variant has its minimum sample; the metrics are on each results page."""
    running = []
    for experiment in Experiment.objects.filter(status=Experiment.Status.RUNNING).prefetch_related(
            "variants").order_by("starts_at"):
        units = experiment_metrics.exposed_units(experiment)
        variants = experiment.ordered_variants()
        counts = [units.get(variant.key, 0) for variant in variants]
        running.append({
            "experiment": experiment, "variants": list(zip([v.key for v in variants], counts, strict=True)),
            "mismatch": experiment_metrics.sample_ratio_mismatch(counts, [v.weight for v in variants]).mismatch,
            "collecting": min(counts, default=0) < experiment.minimum_sample_size,
        })
    guardrail_paused = Experiment.objects.filter(status=Experiment.Status.PAUSED).exclude(guardrail_note="")
    return {"running": running, "guardrail_paused": list(guardrail_paused)}


# --- the page ------------------------------------------------------------------------------------------

def guarded(name: str, source) -> dict:
    try:
        return {"available": True, **source()}
    except Exception:
        logger.exception("storefront AI dashboard: section %r unavailable", name)
        return {"available": False}


def dashboard() -> dict:
    """Every section, each degraded on its own."""
    return {
        "recommendations": guarded("recommendations", recommendation_status),
        "embeddings": guarded("embeddings", embedding_status),
        "queues": guarded("queues", celery_queue_depths),
        "events": guarded("events", event_queue_status),
        "failures": guarded("failures", task_failures),
        "searches": guarded("searches", search_status),
        "pricing": guarded("pricing", pricing_status),
        "experiments": guarded("experiments", experiment_status),
    }


# --- actions -------------------------------------------------------------------------------------------


def queue_training() -> str | None:
    """Queue ALS training on the batch queue; a run already in progress makes it a no-op (its lock).
    The task's id, or None when the broker is unreachable."""
    return publish(recommendation_tasks.train_recommendations)


def queue_reembedding() -> str | None:
    """Queue indexing of the products that have no embedding (the beat task's job, now). The task's id,
    or None when the broker is unreachable."""
    return publish(search_tasks.reembed_missing_products)
