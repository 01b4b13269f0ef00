"""Recommendations' write side, real time: one shopper's list recomputed within seconds (the realtime
queue's tasks). An add-to-cart folds the customer's current interactions into the stored product
factors; an anonymous visitor's cart and product views give a session list of text-embedding neighbours.
Every write of a shopper's list gives it a new version (``serving.shopper_list_version``), which retires
their cached personal fragments."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from dataclasses import dataclass

import numpy as np
from django.core.cache import cache
from django.utils import timezone

from ai.recommendations import engine, serving
from ai.recommendations.config import RecommenderSettings
from ai.recommendations.engine import TrainedModel
from ai.recommendations.models import CustomerRecommendations, RecommendationEmbedding, RecommendationModel
from ai.recommendations.serving import CUSTOMER_KEY, VISITOR_KEY, ModelInfo, cached_list, current_model
from ai.search import serving as search
from commerce.catalogue.models import Product
from commerce.events import queries as events
from commerce.orders.models import CartLine

VISITOR_TTL = 30 * 60  # an anonymous session's list: as long as a typical visit
HISTORY_SIZE = 10  # a visitor's products (cart lines, then views) their list is made from


@dataclass
class LoadedModel:
    trained: TrainedModel
    product_ids: np.ndarray
    index: dict[int, int]  # product id → column


_loaded: dict[str, LoadedModel] = {}
_loading = threading.Lock()


def read_model(model: RecommendationModel) -> LoadedModel:
    """A model's product factors (none when the winner has no ALS part) and item-item matrix, from its rows."""
    product_ids = engine.unpack_product_ids(bytes(model.item_data))
    rows = list(RecommendationEmbedding.objects.filter(  # product ids ascending, as the columns are
        model_id=model.pk, kind=RecommendationEmbedding.Kind.PRODUCT).order_by("object_id")
        .values_list("factors", flat=True))
    factors = (np.vstack([np.asarray(row, dtype=np.float32) for row in rows]) if rows
               else np.zeros((len(product_ids), 0), dtype=np.float32))
    similarity, popularity = engine.unpack_item_data(bytes(model.item_data))
    trained = TrainedModel(np.empty((0, factors.shape[1]), np.float32), factors, similarity, popularity,
                           RecommenderSettings(**model.settings))
    return LoadedModel(trained, product_ids, {int(pid): i for i, pid in enumerate(product_ids)})


def loaded_model(info: ModelInfo) -> LoadedModel:
    """The current model (``read_model``), read once per process and model version."""
    with _loading:
        if info.version not in _loaded:
            loaded = read_model(RecommendationModel.objects.get(pk=info.pk))
            _loaded.clear()  # only the current model is ever served
            _loaded[info.version] = loaded
        return _loaded[info.version]


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
    for _, product_id, weight, purchased in events.interaction_totals(
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
        cache.set_many(serving.new_list_version(customer_id=customer_id), int(info.cadence_hours * 3600))
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
    cache.set_many({CUSTOMER_KEY.format(customer_id): cached_list(info.version, entry),
                    **serving.new_list_version(customer_id=customer_id)}, int(info.cadence_hours * 3600))
    return entry[0]


def refresh_visitor_recommendations(visitor_id: uuid.UUID, limit: int = 20, *, customer_id: int | None = None
                                    ) -> list[int]:
    """An anonymous visitor's list: the products nearest (text embedding cosine) to what is in their cart
    and what they viewed, the newest cart lines first, then the most recent views; the nearer the front,
    the more it counts. The cart is read from its table: its newest views may still be queued. Cached
    for the visit; returns the product ids. ``customer_id``: a signed-in visitor, whose cart is theirs."""
    cart = {"cart__customer_id": customer_id} if customer_id else {"cart__visitor_id": visitor_id}
    in_cart = CartLine.objects.filter(**cart).order_by("-added_at", "-pk")
    recent = [*in_cart.values_list("product_id", flat=True),
              *events.recently_viewed(visitor_id=visitor_id, limit=HISTORY_SIZE)]
    vectors = search.product_embeddings(recent)
    viewed = [pid for pid in dict.fromkeys(recent) if pid in vectors][:HISTORY_SIZE]
    if not viewed:
        cache.delete(VISITOR_KEY.format(visitor_id))
        cache.set_many(serving.new_list_version(visitor_id=visitor_id), VISITOR_TTL)
        return []
    history = np.vstack([vectors[pid] for pid in viewed])
    recency = 1.0 / np.arange(1, len(viewed) + 1, dtype=np.float32)
    query = (history * recency[:, None]).sum(axis=0)
    query /= np.linalg.norm(query) or 1.0
    candidates = search.nearest_available_products(query, limit=limit, exclude=viewed)
    if not candidates:
        return []
    matrix = np.vstack([vector for _, vector in candidates])
    similarity = matrix @ history.T
    items = [(pid, round(float(similarity[i].max()), 5), viewed[int(similarity[i].argmax())])
             for i, (pid, _) in enumerate(candidates)]
    cache.set_many({VISITOR_KEY.format(visitor_id): {"model": "embedding", "items": items},
                    **serving.new_list_version(visitor_id=visitor_id)}, VISITOR_TTL)
    return [pid for pid, _, _ in items]
