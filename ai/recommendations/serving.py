"""Recommendations' read side: what requests, pages, blocks, the API and the admin call.

Serving reads Redis, then the precomputed tables, then falls back to popularity: it never scores a
catalogue in a request, and never loads the model (scipy, implicit). The lists are written by the write
side: ``training`` (every ``cadence_hours``), ``refresh`` (the real-time queue) and ``neighbours``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.core.cache import cache
from django.utils import timezone

from ai.common import CarouselStrategy
from ai.recommendations.config import RecommenderSettings
from ai.recommendations.models import CustomerRecommendations, ProductRecommendations, RecommendationModel
from commerce.catalogue.models import Category, Product
from commerce.events import queries as events

CUSTOMER_KEY = "recs:customer:{}"
VISITOR_KEY = "recs:visitor:{}"
PRODUCT_KEY = "recs:product:{}:{}"
MODEL_KEY = "recs:current-model"
VISITOR_PENDING_KEY = "recs:visitor-pending:{}"
VISITOR_REFRESH_DELAY = 3  # seconds: views reach PostgreSQL within one drain interval (2 s)
MODEL_INFO_TTL = 60
SURFACES = ("home", "product", "cart")


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


def version() -> str:
    """The current model's version, or "no-model" (serving falls back to popularity)."""
    info = current_model()
    return info.version if info else "no-model"


def cached_list(model_version: str, entry: tuple[list, list, list]) -> dict:
    """A customer's list as Redis holds it: [(product id, score, because id)], tagged with its model."""
    return {"model": model_version, "items": list(zip(*entry, strict=True))}


def claim_visitor_refresh(visitor_id) -> bool:
    """True for the first view of a burst: only that one queues a refresh (the task clears the claim)."""
    return cache.add(VISITOR_PENDING_KEY.format(visitor_id), 1, VISITOR_REFRESH_DELAY * 10)


# --- resolving lists into products ----------------------------------------------------------------


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


# --- the lists ------------------------------------------------------------------------------------


def _customer_items(customer_id: int, info: ModelInfo) -> list | None:
    """The customer's list of the current model: Redis, else the table (and Redis is refilled)."""
    key = CUSTOMER_KEY.format(customer_id)
    cached = cache.get(key)
    if cached is not None and cached["model"] == info.version:
        return cached["items"]
    row = CustomerRecommendations.objects.filter(customer_id=customer_id, model_id=info.pk).first()
    if row is None:
        return None
    cached = cached_list(info.version, (row.product_ids, row.scores, row.because))
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


# --- surfaces and carousels -----------------------------------------------------------------------


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
    if model is None:
        return {"model": None, "stale": True, "cadence_hours": RecommenderSettings.from_settings().cadence_hours,
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
