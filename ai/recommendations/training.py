"""Recommendations' write side, batch: training, precomputation and publishing (the beat task and
``manage.py train_recommendations``).

Training (every ``cadence_hours``) turns the last ``window_days`` of events into a customer × product
matrix, chooses the model on the newest slice of those events (``selection``), fits the winner on all
of them (``engine``), stores its factors (if it has ALS factors) and every customer's top-N and the
product-page lists, then makes the model current and publishes the lists to Redis.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from ai.common import copy_rows
from ai.recommendations import engine, evaluation, neighbours, selection, surface_evaluation
from ai.recommendations.config import BOUGHT_TOGETHER_COUNT, SIMILAR_COUNT, RecommenderSettings
from ai.recommendations.engine import TrainedModel
from ai.recommendations.models import (
    CustomerRecommendations,
    ProductRecommendations,
    RecommendationEmbedding,
    RecommendationModel,
)
from ai.recommendations.serving import CUSTOMER_KEY, MODEL_KEY, cached_list
from commerce.catalogue.models import Product
from commerce.events import queries as events
from commerce.orders import services as orders

logger = logging.getLogger(__name__)

# Measured (bench/recommendations.py, 20k products): 1,024 customers score, blend and filter in
# ≈ 0.1 s and ≈ 250 MB of scratch arrays; larger batches are no faster.
PRECOMPUTE_BATCH_SIZE = 1024
# Measured: 1,000 SETs per pipeline round trip ≈ 15 ms; bigger pipelines only hold Redis longer.
CACHE_WRITE_BATCH_SIZE = 1000
BOUGHT_TOGETHER_DAYS = 365


# --- interactions ---------------------------------------------------------------------------------


@dataclass
class Interactions:
    customer_ids: np.ndarray  # row → customer id
    product_ids: np.ndarray  # column → product id
    matrix: sp.csr_matrix  # summed event weights, returns netted out, ≤ 0 dropped
    purchased: sp.csr_matrix  # 1 where the customer bought (or returned) the product


def load_interactions(settings: RecommenderSettings, now: dt.datetime) -> Interactions:
    rows = events.interaction_totals(settings.event_weights, now - dt.timedelta(days=settings.window_days), now)
    if not rows:
        empty = sp.csr_matrix((0, 0), dtype=np.float32)
        return Interactions(np.array([], dtype=np.int64), np.array([], dtype=np.int64), empty, empty)
    customers, products, weights, bought = (np.array(column) for column in zip(*rows, strict=True))
    customer_ids, row = np.unique(customers.astype(np.int64), return_inverse=True)
    product_ids, col = np.unique(products.astype(np.int64), return_inverse=True)
    shape = (len(customer_ids), len(product_ids))
    matrix = engine.interaction_matrix(row, col, weights.astype(np.float32), shape)
    purchased = sp.csr_matrix((np.ones(bought.sum(), dtype=np.float32), (row[bought], col[bought])), shape=shape)
    return Interactions(customer_ids, product_ids, matrix, purchased)


def _available_mask(product_ids: np.ndarray) -> np.ndarray:
    available = np.fromiter(Product.objects.available().values_list("pk", flat=True), dtype=np.int64)
    return np.isin(product_ids, available)


# --- training -------------------------------------------------------------------------------------


def train_recommendations(*, now: dt.datetime | None = None,
                          progress: Callable[[str, int, int], None] | None = None) -> RecommendationModel | None:
    """Train on the window's events, precompute every list, publish. Returns the new current model, or
    None when there is no customer history to learn from (serving keeps its fallbacks)."""
    settings = RecommenderSettings.from_settings()
    now = now or timezone.now()
    report = progress or (lambda stage, done, total: None)
    started = time.perf_counter()
    interactions = load_interactions(settings, now)
    if interactions.matrix.nnz == 0:
        logger.warning("recommendations: no customer interactions in the last %s days; nothing trained",
                       settings.window_days)
        return None
    chosen = _select(interactions, settings, now, report)
    settings = chosen.settings if chosen else settings
    report("fit", 0, 1)
    trained = engine.fit(interactions.matrix, settings)
    report("fit", 1, 1)
    model = RecommendationModel.objects.create(
        version=now.strftime("%Y%m%d%H%M%S") + "-" + uuid.uuid4().hex[:6], trained_at=now,
        settings=settings.as_dict(), customers=len(interactions.customer_ids),
        products=len(interactions.product_ids), interactions=interactions.matrix.nnz,
        training_seconds=round(time.perf_counter() - started, 2),
        item_data=engine.pack_item_data(trained, interactions.product_ids),
        selection=chosen.record if chosen else {},
    )
    started = time.perf_counter()
    _store_factors(model, interactions, trained)
    available = _available_mask(interactions.product_ids)
    lists = _precompute_customers(model, interactions, trained, available, report)
    _precompute_products(interactions, available, now, chosen.record.get("surfaces", {}) if chosen else {})
    covered = {pid for product_ids, _, _ in lists.values() for pid in product_ids}
    model.customers_with_recommendations = len(lists)
    model.catalogue_coverage = round(len(covered) / max(Product.objects.active().count(), 1), 4)
    model.precompute_seconds = round(time.perf_counter() - started, 2)
    model.save(update_fields=["customers_with_recommendations", "catalogue_coverage", "precompute_seconds"])
    _publish(model, lists, settings, report)
    logger.info("recommendations: model %s trained on %d customers × %d products in %.1f s + %.1f s precompute",
                model.version, model.customers, model.products, model.training_seconds, model.precompute_seconds)
    return model


def _select(interactions: Interactions, settings: RecommenderSettings, now: dt.datetime,
            report) -> selection.Selection | None:
    """Selection on the window's events of (a sample of) the customers, oldest first."""
    if not settings.select_model:
        return None
    report("select", 0, 1)
    sampled = selection.sample_customers(interactions.customer_ids, settings)
    since = now - dt.timedelta(days=settings.window_days)
    log = events.interaction_log(since).filter(customer_id__in=sampled, created_at__lt=now)
    rows = [(customer, product, created_at, event)
            for customer, product, created_at, event, _, _ in log.iterator(chunk_size=20000)]
    data = evaluation.split(rows, settings.event_weights)
    chosen = selection.select(rows, settings, data=data)
    basket_rows = [(order, product, placed, "purchase") for order, product, placed
                   in orders.basket_lines(now - dt.timedelta(days=BOUGHT_TOGETHER_DAYS), now)]
    chosen.record["surfaces"] = {
        "similar": surface_evaluation.select_similar(data, settings.surface_min_seeds),
        "bought_together": surface_evaluation.select_bought_together(basket_rows, settings.surface_min_seeds)}
    for surface, record in chosen.record["surfaces"].items():
        logger.info("recommendations: %s serves %s", surface, surface_evaluation.described(record))
    report("select", 1, 1)
    return chosen


def _store_factors(model: RecommendationModel, interactions: Interactions, trained: TrainedModel) -> None:
    if trained.product_factors.shape[1] == 0:  # the winner has no ALS part: nothing to store
        return
    kinds = ((RecommendationEmbedding.Kind.CUSTOMER, interactions.customer_ids, trained.customer_factors),
             (RecommendationEmbedding.Kind.PRODUCT, interactions.product_ids, trained.product_factors))
    copy_rows(
        f"COPY {RecommendationEmbedding._meta.db_table} (model_id, kind, object_id, factors) "
        "FROM STDIN (FORMAT BINARY)",
        ["bigint", "varchar", "bigint", "vector"],
        ((model.pk, kind, int(object_id), factors) for kind, ids, matrix in kinds
         for object_id, factors in zip(ids, matrix, strict=True)),
    )


def _precompute_customers(model: RecommendationModel, interactions: Interactions, trained: TrainedModel,
                          available: np.ndarray, report) -> dict[int, tuple[list, list, list]]:
    """Top-N of every customer in batches; purchased, inactive and out-of-stock products filtered."""
    n, total = trained.settings.top_n, len(interactions.customer_ids)
    lists: dict[int, tuple[list, list, list]] = {}
    for start in range(0, total, PRECOMPUTE_BATCH_SIZE):
        stop = min(start + PRECOMPUTE_BATCH_SIZE, total)
        rows = interactions.matrix[start:stop]
        scores = engine.blended_scores(trained, trained.customer_factors[start:stop], rows)
        indices, best = engine.top_n(scores, interactions.purchased[start:stop], available, n)
        for offset in range(stop - start):
            chosen = indices[offset][indices[offset] >= 0]
            if len(chosen) == 0:
                continue
            history = rows.indices[rows.indptr[offset]:rows.indptr[offset + 1]]
            because = engine.explanations(trained, chosen, history)
            lists[int(interactions.customer_ids[start + offset])] = (
                interactions.product_ids[chosen].tolist(), best[offset][: len(chosen)].round(5).tolist(),
                [int(interactions.product_ids[b]) if b >= 0 else None for b in because])
        report("precompute", stop, total)
    computed_at = timezone.now()
    table = CustomerRecommendations._meta.db_table
    with transaction.atomic():
        # One transaction: readers see the previous model's lists until the new ones are all in.
        with connection.cursor() as cursor:  # one statement, not the ORM's fetch-then-delete of 100k rows
            cursor.execute(f"DELETE FROM {table}")
        copy_rows(
            f"COPY {table} (customer_id, model_id, product_ids, scores, because, computed_at) "
            "FROM STDIN (FORMAT BINARY)",
            ["bigint", "bigint", "int8[]", "float8[]", "int8[]", "timestamptz"],
            ((customer_id, model.pk, ids, scores, because, computed_at)
             for customer_id, (ids, scores, because) in lists.items()),
        )
    return lists


def _precompute_products(interactions: Interactions, available: np.ndarray, now: dt.datetime,
                         surfaces: dict[str, dict]) -> None:
    """Similar products blending co-behaviour (``engine.behaviour_neighbours``) with text-embedding
    neighbours (mostly of the product's category), and bought-together lists by association strength, for
    every product in the model (a product bought in the window has events in it, so it is in the model);
    products outside it keep (or get, from the beat task) embedding neighbours. Then each category's
    complementary products, the fallback of products bought with nothing in particular. ``surfaces``
    (selection's records) say which co-behaviour, if any, and whether association strength is served."""
    candidates = SIMILAR_COUNT * neighbours.CANDIDATES_PER_ITEM
    cosine = surface_evaluation.similar_co_behaviour(surfaces.get("similar", {}))
    if cosine is None:  # best sellers beat co-behaviour: content neighbours alone
        similar = np.full((len(interactions.product_ids), 0), -1, dtype=np.int64)
        similar_scores = np.zeros(similar.shape, dtype=np.float32)
    else:
        similar, similar_scores = engine.behaviour_neighbours(interactions.matrix, available, candidates,
                                                              cosine=cosine)
    since = now - dt.timedelta(days=BOUGHT_TOGETHER_DAYS)
    together = (orders.co_purchases(since, now, BOUGHT_TOGETHER_COUNT)
                if surface_evaluation.serves_association(surfaces.get("bought_together", {})) else {})
    product_ids = interactions.product_ids.tolist()
    content = neighbours.content_neighbours(product_ids)
    categories = neighbours.product_categories(set(product_ids) | {pid for found in content.values()
                                                                  for pid, _ in found})
    rows = []
    for position, product_id in enumerate(product_ids):
        keep = similar[position] >= 0
        behaviour = list(zip(interactions.product_ids[similar[position][keep]].tolist(),
                             similar_scores[position][keep].tolist(), strict=True))
        blended = neighbours.blend_similar(categories.get(product_id), behaviour, content[product_id], categories,
                                           SIMILAR_COUNT)
        ids, scores = together.get(product_id, ([], []))
        rows.append((product_id, [pid for pid, _ in blended], [round(score, 5) for _, score in blended],
                     ProductRecommendations.Source.FACTORS.value, ids, scores, now))
    table = ProductRecommendations._meta.db_table
    with transaction.atomic():
        # The model's products get factor-based lists (replacing any embedding-based ones); the previous
        # model's factor lists go; embedding lists of products outside the model stay.
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE similar_source = %s OR product_id = ANY(%s)",
                           [ProductRecommendations.Source.FACTORS.value, product_ids])
        copy_rows(
            f"COPY {table} (product_id, similar_ids, similar_scores, similar_source, bought_together_ids, "
            "bought_together_scores, computed_at) FROM STDIN (FORMAT BINARY)",
            ["bigint", "int8[]", "float8[]", "varchar", "int8[]", "float8[]", "timestamptz"], rows)
    neighbours.publish_complements(since, now, BOUGHT_TOGETHER_COUNT)


def _publish(model: RecommendationModel, lists: dict, settings: RecommenderSettings, report) -> None:
    """Make the model current (older ones and their factors go), then write every list to Redis."""
    with transaction.atomic():
        RecommendationModel.objects.filter(is_current=True).update(is_current=False)
        model.is_current = True
        model.save(update_fields=["is_current"])
        stale = list(RecommendationModel.objects.exclude(pk=model.pk).values_list("pk", flat=True))
        with connection.cursor() as cursor:  # 100k+ factor rows: one statement, not the ORM's collector
            for table in (RecommendationEmbedding._meta.db_table, CustomerRecommendations._meta.db_table):
                cursor.execute(f"DELETE FROM {table} WHERE model_id = ANY(%s)", [stale])
        RecommendationModel.objects.filter(pk__in=stale).delete()
    cache.delete(MODEL_KEY)
    ttl = int(settings.cadence_hours * 3600)
    items = list(lists.items())
    for start in range(0, len(items), CACHE_WRITE_BATCH_SIZE):
        cache.set_many({CUSTOMER_KEY.format(customer_id): cached_list(model.version, entry)
                        for customer_id, entry in items[start:start + CACHE_WRITE_BATCH_SIZE]}, ttl)
        report("cache", min(start + CACHE_WRITE_BATCH_SIZE, len(items)), len(items))
