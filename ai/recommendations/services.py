"""Recommendations: training, precomputation, the real-time refresh, serving and health.

Training (batch queue, every ``cadence_hours``) turns the last ``window_days`` of events into a
customer × product matrix, fits ALS and the BM25 item-item model (``engine``), stores the factors and
every customer's top-N, then publishes the lists to Redis. An add-to-cart refreshes one customer's list
in the real-time queue by folding their current interactions into the stored product factors. Serving
reads Redis, then the tables, then falls back to popularity: it never scores a catalogue in a request.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from ai.common import CarouselStrategy, copy_rows, vector_literal
from ai.recommendations import engine
from ai.recommendations.engine import RecommenderSettings, TrainedModel
from ai.recommendations.models import (
    CustomerRecommendations,
    ProductRecommendations,
    RecommendationEmbedding,
    RecommendationModel,
)
from ai.search.models import ProductEmbedding
from commerce.catalogue.models import Category, Product
from commerce.events import services as events
from commerce.orders.models import CartLine

logger = logging.getLogger(__name__)

CUSTOMER_KEY = "recs:customer:{}"
VISITOR_KEY = "recs:visitor:{}"
PRODUCT_KEY = "recs:product:{}:{}"
MODEL_KEY = "recs:current-model"
VISITOR_TTL = 30 * 60  # an anonymous session's list: as long as a typical visit
VISITOR_PENDING_KEY = "recs:visitor-pending:{}"
VISITOR_REFRESH_DELAY = 3  # seconds: views reach PostgreSQL within one drain interval (2 s)
MODEL_INFO_TTL = 60
# Measured (bench/recommendations.py, 20k products): 1,024 customers score, blend and filter in
# ≈ 0.1 s and ≈ 250 MB of scratch arrays; larger batches are no faster.
PRECOMPUTE_BATCH_SIZE = 1024
# Measured: 1,000 SETs per pipeline round trip ≈ 15 ms; bigger pipelines only hold Redis longer.
CACHE_WRITE_BATCH_SIZE = 1000
SIMILAR_COUNT = 20
BOUGHT_TOGETHER_COUNT = 12
BOUGHT_TOGETHER_DAYS = 365
# Measured: an HNSW top-40 query ≈ 3 ms at 100k products, so a beat run of 2,000 products ≈ 6 s.
EMBEDDING_NEIGHBOURS_BATCH_SIZE = 2000


def recommender_settings() -> RecommenderSettings:
    return RecommenderSettings.from_settings()


# --- interactions ---------------------------------------------------------------------------------


@dataclass
class Interactions:
    customer_ids: np.ndarray  # row → customer id
    product_ids: np.ndarray  # column → product id
    matrix: sp.csr_matrix  # summed event weights, returns netted out, ≤ 0 dropped
    purchased: sp.csr_matrix  # 1 where the customer bought (or returned) the product


def _interaction_rows(weights: dict[str, float], since: dt.datetime, until: dt.datetime,
                      customer_id: int | None = None) -> list[tuple]:
    """(customer, product, summed weight, bought) per pair, in one pass over the window's partitions."""
    cases = " ".join(f"WHEN '{event}' THEN {float(weight)}" for event, weight in weights.items())
    who = "customer_id = %s" if customer_id else "customer_id IS NOT NULL"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT customer_id, product_id, sum(CASE event_type {cases} END)::float4,
                       bool_or(event_type IN ('purchase', 'return'))
                FROM events_customerevent
                WHERE {who} AND product_id IS NOT NULL AND event_type = ANY(%s)
                  AND created_at >= %s AND created_at < %s
                GROUP BY customer_id, product_id""",
            ([customer_id] if customer_id else []) + [list(weights), since, until],
        )
        return cursor.fetchall()


def load_interactions(settings: RecommenderSettings, now: dt.datetime) -> Interactions:
    rows = _interaction_rows(settings.event_weights, now - dt.timedelta(days=settings.window_days), now)
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
    settings = recommender_settings()
    now = now or timezone.now()
    report = progress or (lambda stage, done, total: None)
    started = time.perf_counter()
    interactions = load_interactions(settings, now)
    if interactions.matrix.nnz == 0:
        logger.warning("recommendations: no customer interactions in the last %s days; nothing trained",
                       settings.window_days)
        return None
    report("fit", 0, 1)
    trained = engine.fit(interactions.matrix, settings)
    report("fit", 1, 1)
    model = RecommendationModel.objects.create(
        version=now.strftime("%Y%m%d%H%M%S") + "-" + uuid.uuid4().hex[:6], trained_at=now,
        settings=settings.as_dict(), customers=len(interactions.customer_ids),
        products=len(interactions.product_ids), interactions=interactions.matrix.nnz,
        training_seconds=round(time.perf_counter() - started, 2), item_data=engine.pack_item_data(trained),
    )
    started = time.perf_counter()
    _store_factors(model, interactions, trained)
    available = _available_mask(interactions.product_ids)
    lists = _precompute_customers(model, interactions, trained, available, report)
    _precompute_products(model, interactions, trained, available, now)
    covered = {pid for product_ids, _, _ in lists.values() for pid in product_ids}
    model.customers_with_recommendations = len(lists)
    model.catalogue_coverage = round(len(covered) / max(Product.objects.active().count(), 1), 4)
    model.precompute_seconds = round(time.perf_counter() - started, 2)
    model.save(update_fields=["customers_with_recommendations", "catalogue_coverage", "precompute_seconds"])
    _publish(model, lists, settings, report)
    logger.info("recommendations: model %s trained on %d customers × %d products in %.1f s + %.1f s precompute",
                model.version, model.customers, model.products, model.training_seconds, model.precompute_seconds)
    return model


def _store_factors(model: RecommendationModel, interactions: Interactions, trained: TrainedModel) -> None:
    kinds = ((RecommendationEmbedding.Kind.CUSTOMER, interactions.customer_ids, trained.customer_factors),
             (RecommendationEmbedding.Kind.PRODUCT, interactions.product_ids, trained.product_factors))
    copy_rows(
        "COPY recommendations_recommendationembedding (model_id, kind, object_id, factors) FROM STDIN (FORMAT BINARY)",
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
    with transaction.atomic():
        # One transaction: readers see the previous model's lists until the new ones are all in.
        with connection.cursor() as cursor:  # one statement, not the ORM's fetch-then-delete of 100k rows
            cursor.execute("DELETE FROM recommendations_customerrecommendations")
        copy_rows(
            "COPY recommendations_customerrecommendations (customer_id, model_id, product_ids, scores, because, "
            "computed_at) FROM STDIN (FORMAT BINARY)",
            ["bigint", "bigint", "int8[]", "float8[]", "int8[]", "timestamptz"],
            ((customer_id, model.pk, ids, scores, because, computed_at)
             for customer_id, (ids, scores, because) in lists.items()),
        )
    return lists


def _precompute_products(model: RecommendationModel, interactions: Interactions, trained: TrainedModel,
                         available: np.ndarray, now: dt.datetime) -> None:
    """Similar products from item factors and bought-together lists from co-purchases, for every
    product in the model (a product bought in the window has events in it, so it is in the model);
    products outside it keep (or get, from the beat task) embedding neighbours."""
    similar, similar_scores = engine.similar_products(trained, available, SIMILAR_COUNT)
    together = bought_together(now - dt.timedelta(days=BOUGHT_TOGETHER_DAYS), now)
    product_ids = interactions.product_ids.tolist()
    rows = []
    for position, product_id in enumerate(product_ids):
        keep = similar[position] >= 0
        ids, scores = together.get(product_id, ([], []))
        rows.append((product_id, interactions.product_ids[similar[position][keep]].tolist(),
                     similar_scores[position][keep].round(5).tolist(), ProductRecommendations.Source.FACTORS.value,
                     ids, scores, now))
    with transaction.atomic():
        # The model's products get factor-based lists (replacing any embedding-based ones); the previous
        # model's factor lists go; embedding lists of products outside the model stay.
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM recommendations_productrecommendations "
                           "WHERE similar_source = %s OR product_id = ANY(%s)",
                           [ProductRecommendations.Source.FACTORS.value, product_ids])
        copy_rows(
            "COPY recommendations_productrecommendations (product_id, similar_ids, similar_scores, similar_source, "
            "bought_together_ids, bought_together_scores, computed_at) FROM STDIN (FORMAT BINARY)",
            ["bigint", "int8[]", "float8[]", "varchar", "int8[]", "float8[]", "timestamptz"], rows)


def bought_together(since: dt.datetime, until: dt.datetime,
                    count: int = BOUGHT_TOGETHER_COUNT) -> dict[int, tuple[list[int], list[float]]]:
    """Per product, the products most often in the same orders (co-purchase counts), available ones only."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT product_id, array_agg(other ORDER BY orders DESC, other),
                      array_agg(orders ORDER BY orders DESC, other)
               FROM (SELECT a.product_id, b.product_id AS other, count(DISTINCT a.order_id)::float AS orders,
                            row_number() OVER (PARTITION BY a.product_id
                                               ORDER BY count(DISTINCT a.order_id) DESC, b.product_id) AS rank
                     FROM orders_lineitem a
                     JOIN orders_lineitem b ON b.order_id = a.order_id AND b.product_id <> a.product_id
                     JOIN orders_order o ON o.id = a.order_id
                     JOIN catalogue_product p ON p.id = b.product_id AND p.active AND p.stock > 0
                     WHERE o.created_at >= %s AND o.created_at < %s
                     GROUP BY a.product_id, b.product_id) pairs
               WHERE rank <= %s GROUP BY product_id""",
            [since, until, count],
        )
        return {pid: (list(others), list(orders)) for pid, others, orders in cursor.fetchall()}


def _cached_list(version: str, entry: tuple[list, list, list]) -> dict:
    """A customer's list as Redis holds it: [(product id, score, because id)], tagged with its model."""
    return {"model": version, "items": list(zip(*entry, strict=True))}


def _publish(model: RecommendationModel, lists: dict, settings: RecommenderSettings, report) -> None:
    """Make the model current (older ones and their factors go), then write every list to Redis."""
    with transaction.atomic():
        RecommendationModel.objects.filter(is_current=True).update(is_current=False)
        model.is_current = True
        model.save(update_fields=["is_current"])
        stale = list(RecommendationModel.objects.exclude(pk=model.pk).values_list("pk", flat=True))
        with connection.cursor() as cursor:  # 100k+ factor rows: one statement, not the ORM's collector
            cursor.execute("DELETE FROM recommendations_recommendationembedding WHERE model_id = ANY(%s)", [stale])
            cursor.execute("DELETE FROM recommendations_customerrecommendations WHERE model_id = ANY(%s)", [stale])
        RecommendationModel.objects.filter(pk__in=stale).delete()
    cache.delete(MODEL_KEY)
    ttl = int(settings.cadence_hours * 3600)
    items = list(lists.items())
    for start in range(0, len(items), CACHE_WRITE_BATCH_SIZE):
        cache.set_many({CUSTOMER_KEY.format(customer_id): _cached_list(model.version, entry)
                        for customer_id, entry in items[start:start + CACHE_WRITE_BATCH_SIZE]}, ttl)
        report("cache", min(start + CACHE_WRITE_BATCH_SIZE, len(items)), len(items))


# --- the current model, in this process -----------------------------------------------------------


@dataclass(frozen=True)
class ModelInfo:
    pk: int
    version: str
    trained_at: dt.datetime
    cadence_hours: float

    @classmethod
    def of(cls, model: RecommendationModel) -> ModelInfo:
        return cls(model.pk, model.version, model.trained_at,
                   model.settings.get("cadence_hours", RecommenderSettings.cadence_hours))

    @property
    def age(self) -> dt.timedelta:
        return timezone.now() - self.trained_at

    @property
    def is_stale(self) -> bool:
        """Older than twice the training cadence: training has stopped, so serving stops trusting it."""
        return self.age > dt.timedelta(hours=2 * self.cadence_hours)


def current_model() -> ModelInfo | None:
    info = cache.get(MODEL_KEY)
    if info is None:
        model = RecommendationModel.objects.filter(is_current=True).only("pk", "version", "trained_at",
                                                                         "settings").first()
        info = ModelInfo.of(model) if model else False
        cache.set(MODEL_KEY, info, MODEL_INFO_TTL)
    return info or None


@dataclass
class LoadedModel:
    trained: TrainedModel
    product_ids: np.ndarray
    index: dict[int, int]  # product id → column


_loaded: dict[str, LoadedModel] = {}
_loading = threading.Lock()


def loaded_model(info: ModelInfo) -> LoadedModel:
    """The model's product factors and item-item matrix, read once per process and model version."""
    with _loading:
        if info.version not in _loaded:
            model = RecommendationModel.objects.get(pk=info.pk)
            rows = list(RecommendationEmbedding.objects.filter(
                model_id=info.pk, kind=RecommendationEmbedding.Kind.PRODUCT).order_by("object_id")
                .values_list("object_id", "factors"))
            product_ids = np.array([row[0] for row in rows], dtype=np.int64)
            factors = np.vstack([np.asarray(row[1], dtype=np.float32) for row in rows])
            similarity, popularity = engine.unpack_item_data(bytes(model.item_data))
            settings = RecommenderSettings(**model.settings)
            trained = TrainedModel(np.empty((0, factors.shape[1]), np.float32), factors, similarity, popularity,
                                   settings)
            _loaded.clear()  # only the current model is ever served
            _loaded[info.version] = LoadedModel(trained, product_ids,
                                                {int(pid): i for i, pid in enumerate(product_ids)})
        return _loaded[info.version]


# --- real time ------------------------------------------------------------------------------------


def refresh_customer_recommendations(customer_id: int) -> list[int]:
    """Recompute one customer's top-N from their current interactions (the window's events plus what
    is in their cart now, since the newest events may still be queued) and the stored product factors.
    Rewrites the table row and the Redis key; returns the product ids."""
    info = current_model()
    if info is None:
        return []
    model = loaded_model(info)
    settings = model.trained.settings
    now = timezone.now()
    weights: dict[int, float] = {}
    bought: set[int] = set()
    for _, product_id, weight, purchased in _interaction_rows(
            settings.event_weights, now - dt.timedelta(days=settings.window_days), now, customer_id):
        weights[product_id] = weight
        if purchased:
            bought.add(product_id)
    in_cart = set(CartLine.objects.filter(cart__customer_id=customer_id).values_list("product_id", flat=True))
    floor = settings.event_weights.get("view", 0) + settings.event_weights.get("add_to_cart", 0)
    for product_id in in_cart:
        weights[product_id] = max(weights.get(product_id, 0.0), floor)
    known = [(model.index[pid], weight) for pid, weight in weights.items() if pid in model.index]
    columns = np.array([column for column, _ in known], dtype=np.int64)
    values = np.array([weight for _, weight in known], dtype=np.float32)
    row = engine.interaction_matrix(np.zeros(len(known), dtype=np.int64), columns, values,
                                    (1, len(model.product_ids)))
    if row.nnz == 0:
        CustomerRecommendations.objects.filter(customer_id=customer_id).delete()
        cache.delete(CUSTOMER_KEY.format(customer_id))
        return []
    scores = engine.blended_scores(model.trained, engine.fold_in(model.trained, row)[None, :], row)[0]
    # Neither what they bought nor what is already in their cart.
    exclude = np.array([model.index[pid] for pid in bought | in_cart if pid in model.index], dtype=np.int64)
    scores[exclude] = -np.inf
    # A shortlist a few times N, filtered for availability in one query, instead of a catalogue-wide mask.
    shortlist = np.argsort(-scores)[: settings.top_n * 4]
    shortlist = shortlist[np.isfinite(scores[shortlist])]
    available = set(Product.objects.available().filter(pk__in=model.product_ids[shortlist].tolist())
                    .values_list("pk", flat=True))
    chosen = np.array([c for c in shortlist if int(model.product_ids[c]) in available][: settings.top_n],
                      dtype=np.int64)
    because = engine.explanations(model.trained, chosen, row.indices)
    entry = (model.product_ids[chosen].tolist(), scores[chosen].round(5).tolist(),
             [int(model.product_ids[b]) if b >= 0 else None for b in because])
    CustomerRecommendations.objects.update_or_create(
        customer_id=customer_id,
        defaults={"model_id": info.pk, "product_ids": entry[0], "scores": entry[1], "because": entry[2],
                  "computed_at": now})
    cache.set(CUSTOMER_KEY.format(customer_id), _cached_list(info.version, entry), int(info.cadence_hours * 3600))
    return entry[0]


def claim_visitor_refresh(visitor_id) -> bool:
    """True for the first view of a burst: only that one queues a refresh (the task clears the claim)."""
    return cache.add(VISITOR_PENDING_KEY.format(visitor_id), 1, VISITOR_REFRESH_DELAY * 10)


def refresh_visitor_recommendations(visitor_id: uuid.UUID, limit: int = 20) -> list[int]:
    """An anonymous visitor's list: the products nearest (text embedding cosine) to what they viewed,
    the most recent views counting most. Cached for the visit; returns the product ids."""
    viewed = events.recently_viewed(visitor_id=visitor_id, limit=10)
    vectors = dict(ProductEmbedding.objects.filter(product_id__in=viewed).values_list("product_id", "embedding"))
    viewed = [pid for pid in viewed if pid in vectors]
    if not viewed:
        cache.delete(VISITOR_KEY.format(visitor_id))
        return []
    history = np.vstack([np.asarray(vectors[pid], dtype=np.float32) for pid in viewed])
    recency = 1.0 / np.arange(1, len(viewed) + 1, dtype=np.float32)
    query = (history * recency[:, None]).sum(axis=0)
    query /= np.linalg.norm(query) or 1.0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL hnsw.ef_search = 100")
        cursor.execute(
            """SELECT e.product_id, e.embedding::real[] FROM (
                   SELECT product_id, embedding, embedding <=> %s::vector AS distance FROM search_productembedding
                   ORDER BY embedding <=> %s::vector LIMIT %s) e
               JOIN catalogue_product p ON p.id = e.product_id
               WHERE p.active AND p.stock > 0 AND NOT e.product_id = ANY(%s)
               ORDER BY e.distance""",
            [vector_literal(query), vector_literal(query), limit + len(viewed) + 20, viewed],
        )
        candidates = cursor.fetchall()[:limit]
    if not candidates:
        return []
    matrix = np.vstack([np.asarray(vector, dtype=np.float32) for _, vector in candidates])
    similarity = matrix @ history.T
    items = [(pid, round(float(similarity[i].max()), 5), viewed[int(similarity[i].argmax())])
             for i, (pid, _) in enumerate(candidates)]
    cache.set(VISITOR_KEY.format(visitor_id), {"model": "embedding", "items": items}, VISITOR_TTL)
    return [pid for pid, _, _ in items]


def products_needing_neighbours(limit: int) -> list[int]:
    """Active products with an embedding but no similar-products list yet (the dirty set)."""
    return list(Product.objects.active().filter(pk__in=ProductEmbedding.objects.values("product_id"))
                .exclude(pk__in=ProductRecommendations.objects.exclude(similar_source="").values("product_id"))
                .order_by("pk").values_list("pk", flat=True)[:limit])


def compute_embedding_neighbours(product_ids: list[int], count: int = SIMILAR_COUNT) -> int:
    """Similar products by text embedding for products the ALS model does not cover (new or never
    bought): one nearest-neighbour query per product, the lists written in one upsert. Returns how
    many lists were written."""
    now = timezone.now()
    rows = []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL hnsw.ef_search = 100")
        for product_id in product_ids:
            cursor.execute(
                """SELECT n.product_id, 1 - n.distance FROM (
                       SELECT e.product_id, e.embedding <=> s.embedding AS distance
                       FROM search_productembedding s, LATERAL (
                           SELECT product_id, embedding FROM search_productembedding
                           ORDER BY embedding <=> s.embedding LIMIT %s) e
                       WHERE s.product_id = %s) n
                   JOIN catalogue_product p ON p.id = n.product_id
                   WHERE p.active AND p.stock > 0 AND n.product_id <> %s
                   ORDER BY n.distance LIMIT %s""",
                [count * 2, product_id, product_id, count],
            )
            neighbours = cursor.fetchall()
            rows.append(ProductRecommendations(
                product_id=product_id, similar_ids=[pid for pid, _ in neighbours],
                similar_scores=[round(float(score), 5) for _, score in neighbours],
                similar_source=ProductRecommendations.Source.EMBEDDING, computed_at=now))
        ProductRecommendations.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["product"],
            update_fields=["similar_ids", "similar_scores", "similar_source", "computed_at"])
        _forget_product_lists(product_ids)
    return len(rows)


def forget_product_neighbours(product_id: int) -> None:
    """A product's text changed: its embedding-based list is recomputed by the next beat run."""
    ProductRecommendations.objects.filter(product_id=product_id,
                                          similar_source=ProductRecommendations.Source.EMBEDDING).update(
        similar_source="", similar_ids=[], similar_scores=[])
    _forget_product_lists([product_id])


def _forget_product_lists(product_ids: list[int]) -> None:
    """Drop the served copies (``product_lists``) of lists rewritten outside training, after the commit."""
    info = current_model()
    keys = [PRODUCT_KEY.format(pid, info.version if info else "none") for pid in product_ids]
    transaction.on_commit(lambda: cache.delete_many(keys))


# --- serving --------------------------------------------------------------------------------------

SURFACES = ("home", "product", "cart")


@dataclass
class Recommendation:
    product: Product
    score: float
    reason: str
    strategy: str  # personalised | session | similar | bought_together | category_popular | popular


def _entries(items: list, strategy: str, reason: Callable[[Product | None], str]) -> list[tuple]:
    return [(pid, score, because, strategy, reason) for pid, score, because in items]


def _resolve(entries: list[tuple], limit: int, exclude: set[int] = frozenset()) -> list[Recommendation]:
    """Turn (product id, score, because id, strategy, reason) entries into available products, in order,
    each once: one query for the products and the products the reasons name."""
    wanted = [entry for entry in entries if entry[0] not in exclude]
    ids = {entry[0] for entry in wanted} | {entry[2] for entry in wanted if entry[2]}
    products = Product.objects.in_bulk(ids)
    results, seen = [], set()
    for pid, score, because, strategy, reason in wanted:
        product = products.get(pid)
        if product is None or pid in seen or not product.active or product.stock <= 0:
            continue
        seen.add(pid)
        results.append(Recommendation(product, float(score), reason(products.get(because)), strategy))
        if len(results) == limit:
            break
    return results


def _because_viewed(product: Product | None) -> str:
    return f"Because you viewed {product.title}" if product else "Recommended for you"


def _popular(limit: int, *, category_id: int | None = None) -> list[tuple]:
    # Twice the limit: popularity is cached for minutes, and some may have sold out since.
    ids = events.popular_products(category_id=category_id, limit=2 * limit)
    if category_id:
        name = Category.objects.filter(pk=category_id).values_list("name", flat=True).first() or "this department"
        return _entries([(pid, 1.0 / (rank + 1), None) for rank, pid in enumerate(ids)], "category_popular",
                        lambda _: f"Popular in {name}")
    return _entries([(pid, 1.0 / (rank + 1), None) for rank, pid in enumerate(ids)], "popular",
                    lambda _: "Popular right now")


def _customer_items(customer_id: int, info: ModelInfo) -> list | None:
    """The customer's list of the current model: Redis, else the table (and Redis is refilled)."""
    key = CUSTOMER_KEY.format(customer_id)
    cached = cache.get(key)
    if cached is not None and cached["model"] == info.version:
        return cached["items"]
    row = CustomerRecommendations.objects.filter(customer_id=customer_id, model_id=info.pk).first()
    if row is None:
        return None
    cached = _cached_list(info.version, (row.product_ids, row.scores, row.because))
    cache.set(key, cached, int(info.cadence_hours * 3600))
    return cached["items"]


def personalised(customer_id: int | None, visitor_id, limit: int) -> list[tuple]:
    """The shopper's own list: ALS (a known customer, model fresh), else the session's embedding
    neighbours, else popular in the department of their most-viewed product."""
    info = current_model()
    if customer_id and info and not info.is_stale:
        items = _customer_items(customer_id, info)
        if items:
            return _entries(items, "personalised", _because_viewed)
    if visitor_id:
        cached = cache.get(VISITOR_KEY.format(visitor_id))
        if cached:
            return _entries(cached["items"], "session", _because_viewed)
    most_viewed = events.most_viewed_product(customer_id=customer_id, visitor_id=visitor_id)
    if most_viewed:
        category_id = Product.objects.filter(pk=most_viewed).values_list("category_id", flat=True).first()
        return _popular(limit, category_id=category_id) + _popular(limit)
    return _popular(limit)


def product_lists(product_id: int) -> ProductRecommendations | None:
    info = current_model()
    key = PRODUCT_KEY.format(product_id, info.version if info else "none")
    row = cache.get(key)
    if row is None:
        row = ProductRecommendations.objects.filter(product_id=product_id).first() or False
        cache.set(key, row, int((info.cadence_hours if info else 1) * 3600))
    return row or None


def similar_to(product_id: int) -> list[tuple]:
    """The product's precomputed similar products, nothing else: an empty list lets a carousel hide."""
    lists = product_lists(product_id)
    if not lists or not lists.similar_ids:
        return []
    return _entries([(pid, score, product_id) for pid, score in zip(lists.similar_ids, lists.similar_scores,
                                                                    strict=True)],
                    "similar", lambda p: f"Similar to {p.title}" if p else "Similar")


def bought_with(product_ids: list[int]) -> list[tuple]:
    scores: dict[int, tuple[float, int]] = {}
    for product_id in product_ids:
        lists = product_lists(product_id)
        for pid, score in zip(lists.bought_together_ids, lists.bought_together_scores, strict=True) if lists else ():
            total, source = scores.get(pid, (0.0, product_id))
            scores[pid] = (total + score, source)
    ranked = sorted(scores.items(), key=lambda item: -item[1][0])
    return _entries([(pid, score, source) for pid, (score, source) in ranked], "bought_together",
                    lambda p: f"Often bought with {p.title}" if p else "Often bought together")


def recommend(surface: str, *, customer_id: int | None = None, visitor_id=None, product_id: int | None = None,
              cart_product_ids: list[int] | None = None, limit: int = 12) -> list[Recommendation]:
    """What a surface shows: ``home`` the shopper's own list, ``product`` similar products (and then
    the department's best sellers), ``cart`` what is bought with the cart's products (and then the
    shopper's list). Reads Redis and precomputed tables only; every level falls back to popularity."""
    if surface not in SURFACES:
        raise ValueError(f"Unknown surface {surface!r}; expected one of {', '.join(SURFACES)}.")
    exclude: set[int] = set()
    if surface == "product":
        category_id = Product.objects.filter(pk=product_id).values_list("category_id", flat=True).first()
        entries = similar_to(product_id) + (_popular(limit, category_id=category_id) if category_id else [])
        exclude = {product_id}
    elif surface == "cart":
        exclude = set(cart_product_ids or [])
        entries = bought_with(list(exclude)) + personalised(customer_id, visitor_id, limit)
    else:
        entries = personalised(customer_id, visitor_id, limit)
    return _resolve(entries + _popular(limit), limit, exclude)


# --- carousels (blocks) ---------------------------------------------------------------------------


def carousel(strategy: str, *, customer_id: int | None = None, visitor_id=None, product_id: int | None = None,
             category_id: int | None = None, limit: int = 12) -> list[Recommendation]:
    """A carousel's products for one strategy, from precomputed lists and caches only. A chosen
    category narrows every strategy; an empty result lets the caller fall back to another strategy."""
    if strategy == CarouselStrategy.PERSONALISED:
        entries = personalised(customer_id, visitor_id, limit * 2)
    elif strategy == CarouselStrategy.TRENDING:
        entries = _popular(limit * 2, category_id=category_id)
    elif strategy == CarouselStrategy.SIMILAR:
        entries = similar_to(product_id) if product_id else []
    elif strategy == CarouselStrategy.BOUGHT_TOGETHER:
        entries = bought_with([product_id]) if product_id else []
    elif strategy == CarouselStrategy.RECENTLY_VIEWED:
        ids = events.recently_viewed(customer_id=customer_id, visitor_id=visitor_id, limit=limit * 2)
        entries = _entries([(pid, 1.0 / (rank + 1), None) for rank, pid in enumerate(ids)], "recently_viewed",
                           lambda _: "You viewed this recently")
    else:
        raise ValueError(f"Unknown carousel strategy {strategy!r}.")
    results = _resolve(entries, limit * 2, {product_id} if product_id else set())
    if category_id and strategy != CarouselStrategy.TRENDING:
        allowed = set(Category.objects.get(pk=category_id).descendant_ids())
        results = [r for r in results if r.product.category_id in allowed]
    return results[:limit]


# --- health ---------------------------------------------------------------------------------------


def model_health() -> dict:
    """For the admin: the current model's age and coverage, and whether serving has fallen back."""
    model = RecommendationModel.objects.filter(is_current=True).first()
    settings = recommender_settings()
    if model is None:
        return {"model": None, "stale": True, "cadence_hours": settings.cadence_hours,
                "message": "No recommendation model has been trained: shoppers see popular products."}
    info = ModelInfo.of(model)
    customers = model.customers or 1
    return {
        "model": model, "stale": info.is_stale, "age_hours": round(info.age.total_seconds() / 3600, 1),
        "cadence_hours": info.cadence_hours, "customer_coverage": round(model.customers_with_recommendations
                                                                        / customers, 4),
        "catalogue_coverage": model.catalogue_coverage,
        "message": (f"The recommendation model is {info.age.total_seconds() / 3600:.1f} h old (more than twice "
                    f"the {info.cadence_hours:g} h cadence): shoppers see popular products until training runs."
                    if info.is_stale else ""),
    }
