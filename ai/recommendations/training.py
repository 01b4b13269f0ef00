"""Recommendations' write side, batch: training, precomputation and publishing (the beat task and
``manage.py train_recommendations``).

Training (every ``cadence_hours``) turns the last ``window_days`` of events into a customer × product
matrix, chooses the model on the newest slice of those events (``selection``), fits the winner on all
of them (``engine``), stores its factors (if it has ALS factors) and every customer's top-N and the
product-page lists, then makes the model current and publishes the lists to Redis.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import importlib
import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import BigIntegerField
from django.db.models.functions import Cast, Extract
from django.utils import timezone

from ai.common import beside, copy_text
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
# PostgreSQL's binary COPY framing and the type ids and epoch its binary values use.
COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
COPY_TRAILER = b"\xff\xff"
INT8_OID, FLOAT8_OID = 20, 701
POSTGRES_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
BOUGHT_TOGETHER_DAYS = 365
# Factor rows per COPY write: a few MB at a time.
FACTOR_ROWS_PER_WRITE = 10000


# --- interactions ---------------------------------------------------------------------------------


@dataclass
class Interactions:
    customer_ids: np.ndarray  # row → customer id
    product_ids: np.ndarray  # column → product id
    matrix: sp.csr_matrix  # summed event weights, returns netted out, ≤ 0 dropped
    purchased: sp.csr_matrix  # 1 where the customer bought (or returned) the product


def load_interactions(settings: RecommenderSettings, now: dt.datetime) -> Interactions:
    table = _interaction_table(settings, now)
    if len(table) == 0:
        empty = sp.csr_matrix((0, 0), dtype=np.float32)
        return Interactions(np.array([], dtype=np.int64), np.array([], dtype=np.int64), empty, empty)
    bought = table["bought"].astype(bool)
    customer_ids, row = np.unique(table["customer"].astype(np.int64), return_inverse=True)
    product_ids, col = np.unique(table["product"].astype(np.int64), return_inverse=True)
    shape = (len(customer_ids), len(product_ids))
    matrix = engine.interaction_matrix(row, col, table["weight"].astype(np.float32), shape)
    purchased = sp.csr_matrix((np.ones(bought.sum(), dtype=np.float32), (row[bought], col[bought])), shape=shape)
    return Interactions(customer_ids, product_ids, matrix, purchased)


# A row of the window's totals in PostgreSQL's binary COPY format: its field count, then each field's length
# and big-endian value (customer int8, product int8, weight float4, bought bool; never NULL).
INTERACTION_ROW = np.dtype([("fields", ">i2"), ("customer_length", ">i4"), ("customer", ">i8"),
                            ("product_length", ">i4"), ("product", ">i8"), ("weight_length", ">i4"),
                            ("weight", ">f4"), ("bought_length", ">i4"), ("bought", "u1")])


def _interaction_table(settings: RecommenderSettings, now: dt.datetime) -> np.ndarray:
    """The window's (customer, product, weight, bought) totals as one numpy record per row, read as a binary
    COPY into one buffer: no faster than tuples (PostgreSQL's aggregation is most of it), but a million
    customers' ten million rows as Python tuples would take gigabytes."""
    sql, params = events.interaction_totals_query(settings.event_weights,
                                                  now - dt.timedelta(days=settings.window_days), now)
    data = bytearray()
    with connection.cursor() as cursor, cursor.copy(
            f"COPY (SELECT customer_id::int8, product_id::int8, w::float4, b FROM ({sql}) AS t (customer_id, "
            "product_id, w, b)) TO STDOUT (FORMAT BINARY)", params) as copy:
        for chunk in copy:
            data += chunk
    # Between the header (signature, flags, extension length: COPY_SIGNATURE's 19 bytes) and the trailer.
    table = np.frombuffer(memoryview(data)[len(COPY_SIGNATURE):len(data) - len(COPY_TRAILER)], dtype=INTERACTION_ROW)
    if bytes(data[len(data) - len(COPY_TRAILER):]) != COPY_TRAILER or not (
            (table["fields"] == 4).all() and (table["customer_length"] == 8).all()
            and (table["weight_length"] == 4).all() and (table["bought_length"] == 1).all()):
        raise ValueError("interaction totals: unexpected binary COPY layout")
    return table


def _available_mask(product_ids: np.ndarray) -> np.ndarray:
    available = np.fromiter(Product.objects.available().values_list("pk", flat=True), dtype=np.int64)
    return np.isin(product_ids, available)


# --- training -------------------------------------------------------------------------------------


def train_recommendations(*, now: dt.datetime | None = None,
                          progress: Callable[[str, int, int], None] | None = None) -> RecommendationModel | None:
    """Train on the window's events, precompute every list, publish. Returns the new current model, or
    None when there is no customer history to learn from (serving keeps its fallbacks)."""
    # top_n needs torch; its first import (seconds of module loading) overlaps the window's aggregation,
    # which waits on PostgreSQL. Web processes never train, so they never load it.
    threading.Thread(target=importlib.import_module, args=("torch",), daemon=True).start()
    with _cyclic_gc_paused():
        return _train(now=now, progress=progress)


@contextlib.contextmanager
def _cyclic_gc_paused():
    """No cyclic garbage collection while training: it builds millions of long-lived objects (the window's
    rows, selection's events), and every full collection walks them all again; training's own objects
    hold no reference cycles, so reference counting frees them. The collector's state is restored after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _train(*, now: dt.datetime | None, progress: Callable[[str, int, int], None] | None) -> RecommendationModel | None:
    settings = RecommenderSettings.from_settings()
    now = now or timezone.now()
    report = progress or (lambda stage, done, total: None)
    started = time.perf_counter()
    # Bought together's selection needs only the orders: it runs beside the window's aggregation.
    bought_together = beside(_select_bought_together, settings, now) if settings.select_model else None
    interactions = load_interactions(settings, now)
    if interactions.matrix.nnz == 0:
        logger.warning("recommendations: no customer interactions in the last %s days; nothing trained",
                       settings.window_days)
        return None
    chosen = _select(interactions, settings, now, report, bought_together)
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
    # The COPYs run on their own connections while this thread computes: PostgreSQL inserts the factors
    # while the customers' lists are scored, and those lists while the products' lists are computed.
    factors_stored = beside(_store_factors, model, interactions, trained)
    available = _available_mask(interactions.product_ids)
    lists = _precompute_customers(interactions, trained, available, report)
    lists_stored = beside(_store_customer_lists, model.pk, lists)
    _precompute_products(interactions, available, now, chosen.record.get("surfaces", {}) if chosen else {})
    factors_stored()
    lists_stored()
    covered = np.unique(np.concatenate([batch.products[batch.listed] for batch in lists] or [np.array([], np.int64)]))
    model.customers_with_recommendations = sum(len(batch.customer_ids) for batch in lists)
    model.catalogue_coverage = round(len(covered) / max(Product.objects.active().count(), 1), 4)
    model.precompute_seconds = round(time.perf_counter() - started, 2)
    model.save(update_fields=["customers_with_recommendations", "catalogue_coverage", "precompute_seconds"])
    _publish(model, lists, settings, report)
    logger.info("recommendations: model %s trained on %d customers × %d products in %.1f s + %.1f s precompute",
                model.version, model.customers, model.products, model.training_seconds, model.precompute_seconds)
    return model


def _select(interactions: Interactions, settings: RecommenderSettings, now: dt.datetime, report,
            bought_together: Callable[[], dict] | None = None) -> selection.Selection | None:
    """Selection on the window's events of (a sample of) the customers, oldest first. ``bought_together``:
    that surface's selection already started (``_select_bought_together``); waited for here."""
    if not settings.select_model:
        return None
    report("select", 0, 1)
    sampled = selection.sample_customers(interactions.customer_ids, settings)
    since = now - dt.timedelta(days=settings.window_days)
    # Times as microseconds since the epoch: the split only orders each customer's events, and building
    # a quarter of a million timezone-aware datetimes costs more than the split itself.
    log = (events.interaction_log(since).filter(customer_id__in=sampled, created_at__lt=now)
           .annotate(at=Cast(Extract("created_at", "epoch") * 1_000_000, BigIntegerField()))
           .values_list("customer_id", "product_id", "at", "event_type"))
    rows = list(log.iterator(chunk_size=20000))
    data = evaluation.split(rows, settings.event_weights)
    chosen = selection.select(rows, settings, data=data)
    similar = surface_evaluation.select_similar(data, settings.surface_min_seeds)
    chosen.record["surfaces"] = {
        "similar": similar,
        "bought_together": bought_together() if bought_together else _select_bought_together(settings, now)}
    for surface, record in chosen.record["surfaces"].items():
        logger.info("recommendations: %s serves %s", surface, surface_evaluation.described(record))
    report("select", 1, 1)
    return chosen


def _select_bought_together(settings: RecommenderSettings, now: dt.datetime) -> dict:
    basket_rows = [(order, product, placed, "purchase") for order, product, placed
                   in orders.basket_lines(now - dt.timedelta(days=BOUGHT_TOGETHER_DAYS), now)]
    return surface_evaluation.select_bought_together(basket_rows, settings.surface_min_seeds)


def _store_factors(model: RecommendationModel, interactions: Interactions, trained: TrainedModel) -> None:
    if trained.product_factors.shape[1] == 0:  # the winner has no ALS part: nothing to store
        return
    table = RecommendationEmbedding._meta.db_table
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} (model_id, kind, object_id, factors) "
                                                    "FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(COPY_SIGNATURE)
        for kind, ids, matrix in ((RecommendationEmbedding.Kind.CUSTOMER, interactions.customer_ids,
                                   trained.customer_factors),
                                  (RecommendationEmbedding.Kind.PRODUCT, interactions.product_ids,
                                   trained.product_factors)):
            for start in range(0, len(ids), FACTOR_ROWS_PER_WRITE):
                stop = start + FACTOR_ROWS_PER_WRITE
                copy.write(_binary_factor_rows(model.pk, kind, ids[start:stop], matrix[start:stop]))
        copy.write(COPY_TRAILER)


def _binary_factor_rows(model_id: int, kind: str, object_ids: np.ndarray, factors: np.ndarray) -> bytes:
    """Factor rows (model, kind, object id, vector) in PostgreSQL's binary COPY format, built by numpy (psycopg
    and pgvector pack each row in Python). pgvector's binary vector: its dimensions and an unused int16, then
    each element as a big-endian float4."""
    rows, dimensions = factors.shape
    if rows == 0:
        return b""
    label = kind.encode()
    parts = [_big_endian(4, ">i2", rows), _big_endian(8, ">i4", rows), _big_endian(model_id, ">i8", rows),
             _big_endian(len(label), ">i4", rows), np.broadcast_to(np.frombuffer(label, np.uint8), (rows, len(label))),
             _big_endian(8, ">i4", rows), _big_endian(object_ids[:, None], ">i8", rows),
             _big_endian(4 + 4 * dimensions, ">i4", rows), _big_endian(dimensions, ">i2", rows),
             _big_endian(0, ">i2", rows),
             _big_endian(factors, ">f4", rows)]
    return np.concatenate(parts, axis=1).tobytes()


@dataclass
class ListBatch:
    """One precompute batch's customers with a list, as arrays: row i's first ``counts[i]`` columns are its
    list (products best first, scores, the product explaining each or -1)."""
    customer_ids: np.ndarray
    products: np.ndarray
    scores: np.ndarray
    because: np.ndarray
    counts: np.ndarray

    @property
    def listed(self) -> np.ndarray:
        return np.arange(self.products.shape[1]) < self.counts[:, None]

    def entries(self) -> Iterator[tuple[int, tuple[list, list, list]]]:
        """(customer id, (products, scores, explanations or None)) per customer, as Python values."""
        # Whole arrays to Python lists at once: per-element numpy indexing costs more than the maths.
        for customer_id, ids, scored, named, count in zip(self.customer_ids.tolist(), self.products.tolist(),
                                                          self.scores.tolist(), self.because.tolist(),
                                                          self.counts.tolist(), strict=True):
            yield customer_id, (ids[:count], scored[:count], [b if b >= 0 else None for b in named[:count]])


def _precompute_customers(interactions: Interactions, trained: TrainedModel, available: np.ndarray,
                          report) -> list[ListBatch]:
    """Top-N of every customer in batches; purchased, inactive and out-of-stock products filtered. Returns
    the batches of customers with a list, kept as arrays (a million customers' lists as Python objects
    would take gigabytes; ``_publish`` converts a thousand at a time)."""
    n, total = trained.settings.top_n, len(interactions.customer_ids)
    batches = []
    for start in range(0, total, PRECOMPUTE_BATCH_SIZE):
        stop = min(start + PRECOMPUTE_BATCH_SIZE, total)
        rows = interactions.matrix[start:stop]
        scores = engine.blended_scores(trained, trained.customer_factors[start:stop], rows)
        indices, best = engine.top_n(scores, interactions.purchased[start:stop], available, n)
        because = engine.batch_explanations(trained, indices, rows)
        products, rounded = interactions.product_ids[indices], best.round(5)
        named = np.where(because >= 0, interactions.product_ids[because], -1)
        counts = (indices >= 0).sum(axis=1)  # -1 pads only at the end
        listed = counts > 0
        batches.append(ListBatch(interactions.customer_ids[start:stop][listed], products[listed], rounded[listed],
                                 named[listed], counts[listed]))
        report("precompute", stop, total)
    return batches


def _store_customer_lists(model_id: int, batches: list[ListBatch]) -> None:
    computed_at = timezone.now()
    table = CustomerRecommendations._meta.db_table
    with transaction.atomic():
        # One transaction: readers see the previous model's lists until the new ones are all in.
        with connection.cursor() as cursor:  # one statement, not the ORM's fetch-then-delete of 100k rows
            cursor.execute(f"DELETE FROM {table}")
            with cursor.copy(f"COPY {table} (customer_id, model_id, product_ids, scores, because, computed_at) "
                             "FROM STDIN (FORMAT BINARY)") as copy:
                copy.write(COPY_SIGNATURE)
                for batch in batches:
                    copy.write(_binary_list_rows(model_id, computed_at, batch.customer_ids, batch.products,
                                                 batch.scores, batch.because, batch.counts))
                copy.write(COPY_TRAILER)


def _precompute_products(interactions: Interactions, available: np.ndarray, now: dt.datetime,
                         surfaces: dict[str, dict]) -> None:
    """Similar products blending co-behaviour (``engine.behaviour_neighbours``) with text-embedding
    neighbours (mostly of the product's category), and bought-together lists by association strength, for
    every product in the model (a product bought in the window has events in it, so it is in the model);
    products outside it keep (or get, from the beat task) embedding neighbours. Then each category's
    complementary products, the fallback of products bought with nothing in particular. ``surfaces``
    (selection's records) say which co-behaviour, if any, and whether association strength is served."""
    since = now - dt.timedelta(days=BOUGHT_TOGETHER_DAYS)
    # PostgreSQL's self-join of the orders runs while implicit computes the co-behaviour neighbours.
    together = (beside(orders.co_purchases, since, now, BOUGHT_TOGETHER_COUNT)
                if surface_evaluation.serves_association(surfaces.get("bought_together", {})) else dict)
    candidates = SIMILAR_COUNT * neighbours.CANDIDATES_PER_ITEM
    cosine = surface_evaluation.similar_co_behaviour(surfaces.get("similar", {}))
    if cosine is None:  # best sellers beat co-behaviour: content neighbours alone
        similar = np.full((len(interactions.product_ids), 0), -1, dtype=np.int64)
        similar_scores = np.zeros(similar.shape, dtype=np.float32)
    else:
        similar, similar_scores = engine.behaviour_neighbours(interactions.matrix, available, candidates,
                                                              cosine=cosine)
    together = together()
    product_ids = interactions.product_ids.tolist()
    content = neighbours.content_neighbours(product_ids)
    categories = neighbours.product_categories(set(product_ids) | {pid for found in content.values()
                                                                  for pid, _ in found})
    rows = []
    neighbour_ids = np.where(similar >= 0, interactions.product_ids[similar], -1).tolist()
    for product_id, found_ids, found_scores in zip(product_ids, neighbour_ids, similar_scores.tolist(), strict=True):
        behaviour = [(pid, score) for pid, score in zip(found_ids, found_scores, strict=True) if pid >= 0]
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
        copy_text(f"COPY {table} (product_id, similar_ids, similar_scores, similar_source, bought_together_ids, "
                  "bought_together_scores, computed_at) FROM STDIN", rows)
    neighbours.publish_complements(since, now, BOUGHT_TOGETHER_COUNT)


def _binary_list_rows(model_id: int, computed_at: dt.datetime, customer_ids: np.ndarray, products: np.ndarray,
                      scores: np.ndarray, because: np.ndarray, counts: np.ndarray) -> bytes:
    """Customers' list rows in PostgreSQL's binary COPY format, a whole batch built at once by numpy (psycopg
    packs array elements one by one in Python): row i holds the first ``counts[i]`` of its products,
    scores and explanations (-1: NULL). Each field is its byte length then its bytes; an array is
    (dimensions, has-nulls, element type, length, lower bound) then each element's length and bytes."""
    rows, width = products.shape
    if rows == 0:
        return b""
    listed = np.arange(width) < counts[:, None]
    parts: list[tuple[np.ndarray, np.ndarray | None]] = [(_big_endian(6, ">i2", rows), None)]
    for value, dtype in ((customer_ids[:, None], ">i8"), (model_id, ">i8")):
        parts += [(_big_endian(8, ">i4", rows), None), (_big_endian(value, dtype, rows), None)]
    for values, dtype, element_type, nulls in ((products, ">i8", INT8_OID, None), (scores, ">f8", FLOAT8_OID, None),
                                               (because, ">i8", INT8_OID, because < 0)):
        nulls = listed & (nulls if nulls is not None else False)
        slots = np.concatenate([_big_endian(np.where(nulls, -1, 8), ">i4", rows).reshape(rows, width, 4),
                                _big_endian(values, dtype, rows).reshape(rows, width, 8)], axis=2)
        kept = listed[:, :, None] & (np.arange(12) < np.where(nulls, 4, 12)[:, :, None])  # a NULL has no bytes
        header = np.column_stack([20 + kept.sum(axis=(1, 2)), np.ones(rows), nulls.any(axis=1),
                                  np.full(rows, element_type), counts, np.ones(rows)])
        parts += [(_big_endian(header, ">i4", rows), None), (slots.reshape(rows, -1), kept.reshape(rows, -1))]
    micros = (computed_at - POSTGRES_EPOCH) // dt.timedelta(microseconds=1)
    parts += [(_big_endian(8, ">i4", rows), None), (_big_endian(micros, ">i8", rows), None)]
    data = np.concatenate([part for part, _ in parts], axis=1)
    kept = np.concatenate([np.ones(part.shape, dtype=bool) if kept is None else kept for part, kept in parts], axis=1)
    return data[kept].tobytes()


def _big_endian(values, dtype: str, rows: int) -> np.ndarray:
    """``values`` (a scalar, or one row per customer) as ``rows`` rows of big-endian bytes."""
    values = np.asarray(values).reshape(rows if np.ndim(values) else 1, -1)
    return np.ascontiguousarray(np.broadcast_to(values, (rows, values.shape[1])), dtype=dtype).view(np.uint8)


def _publish(model: RecommendationModel, lists: list[ListBatch], settings: RecommenderSettings, report) -> None:
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
    total, done = sum(len(batch.customer_ids) for batch in lists), 0
    entries = ((CUSTOMER_KEY.format(customer_id), cached_list(model.version, found))
               for customer_id, found in itertools.chain.from_iterable(batch.entries() for batch in lists))
    while chunk := dict(itertools.islice(entries, CACHE_WRITE_BATCH_SIZE)):
        cache.set_many(chunk, ttl)
        done += len(chunk)
        report("cache", done, total)
