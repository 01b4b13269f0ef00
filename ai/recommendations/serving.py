"""Recommendations' read side: what requests, pages, blocks, the API and the admin call.

Serving reads Redis, then the precomputed tables, then falls back to popularity: it never scores a
catalogue in a request, and never loads the model (scipy, implicit). The lists are written by the write
side: ``training`` (every ``cadence_hours``), ``refresh`` (the real-time queue) and ``neighbours``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.core.cache import cache
from django.utils import timezone

from ai.common import CarouselStrategy
from ai.recommendations import rules as merchandising
from ai.recommendations.config import RecommenderSettings
from ai.recommendations.models import CustomerRecommendations, ProductRecommendations, RecommendationModel
from ai.recommendations.rows import STRATEGY_SURFACES, SURFACES, Recommendation
from commerce.catalogue.models import Category, Product
from commerce.events import queries as events
from commerce.orders import services as orders

CUSTOMER_KEY = "recs:customer:{}"
VISITOR_KEY = "recs:visitor:{}"
PRODUCT_KEY = "recs:product:{}:{}"
MODEL_KEY = "recs:current-model"
VISITOR_PENDING_KEY = "recs:visitor-pending:{}"
COMPLEMENTS_KEY = "recs:complements:{}"  # a category's [(product id, score, its category id)], from training
LIST_VERSION_KEY = "recs:list-version:{}"  # "c<customer id>" or "v<visitor id>": the list's latest write
RETIRED_ROWS_TTL = 24 * 3600  # outlives the fragments it retires (their TTLs are shorter)
VISITOR_REFRESH_DELAY = 3  # seconds: views reach PostgreSQL within one drain interval (2 s)
MODEL_INFO_TTL = 60


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


def new_list_version(*, customer_id: int | None = None, visitor_id=None) -> dict:
    """The cache entry that gives one shopper's list a new version: ``refresh`` writes it with every write
    (or deletion) of the list, so fragments keyed by the old version retire. Training's lists need none:
    their new model's version is in the same keys."""
    owner = f"c{customer_id}" if customer_id else f"v{visitor_id}"
    return {LIST_VERSION_KEY.format(owner): uuid.uuid4().hex}


def retire_shopper_rows(customer_id: int | None, visitor_id) -> None:
    """The shopper's cart or orders changed: give their lists new versions, so their personal fragments and
    rows that merchandising rules filter by cart or recent orders are rebuilt at the next request."""
    entries = {}
    if customer_id:
        entries |= new_list_version(customer_id=customer_id)
    if visitor_id:
        entries |= new_list_version(visitor_id=visitor_id)
    cache.set_many(entries, RETIRED_ROWS_TTL)


def rules_need_shopper(*placements: str) -> bool:
    """Whether a live merchandising rule of these placements filters by the shopper's cart or orders, so
    their rows must be built (and cached) per shopper."""
    return any(merchandising.needs_shopper(placement) for placement in placements)


def shopper_list_version(customer_id: int | None, visitor_id) -> str:
    """The version of the lists ``personalised`` may serve this shopper (their customer list and their
    visitor list), in one Redis round trip: part of the key of their personal fragments. A change of
    their cart or orders gives a new version too (``retire_shopper_rows``)."""
    keys = [LIST_VERSION_KEY.format(f"c{customer_id}") if customer_id else None,
            LIST_VERSION_KEY.format(f"v{visitor_id}") if visitor_id else None]
    found = cache.get_many([key for key in keys if key])
    return ".".join(found.get(key, "-") if key else "-" for key in keys)


def claim_visitor_refresh(visitor_id) -> bool:
    """True for the first view of a burst: only that one queues a refresh (the task clears the claim)."""
    return cache.add(VISITOR_PENDING_KEY.format(visitor_id), 1, VISITOR_REFRESH_DELAY * 10)


# --- resolving lists into products ----------------------------------------------------------------




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


def _summed(per_source: list[tuple[int, list[tuple[int, float]]]]) -> list[tuple[int, float, int]]:
    """(product id, summed score, the first source naming it) over every source's list, best first."""
    scores: dict[int, tuple[float, int]] = {}
    for source, items in per_source:
        for pid, score in items:
            total, first = scores.get(pid, (0.0, source))
            scores[pid] = (total + score, first)
    return [(pid, score, source) for pid, (score, source) in sorted(scores.items(), key=lambda item: -item[1][0])]


def bought_with(product_ids: list[int]) -> list[tuple]:
    """Products bought in the same orders as these, by association strength (precomputed by training)."""
    per_product = []
    for product_id in product_ids:
        lists = product_lists(product_id)
        if lists:
            per_product.append((product_id, zip(lists.bought_together_ids, lists.bought_together_scores,
                                                strict=True)))
    return _entries(_summed(per_product), "bought_together",
                    lambda p: f"Often bought with {p.title}" if p else "Often bought together")


def complements_of(product_ids: list[int]) -> list[tuple]:
    """Best sellers of the categories bought with these products' categories (precomputed by training):
    the fallback for products bought with nothing in particular."""
    categories = list(Product.objects.filter(pk__in=product_ids).values_list("pk", "category_id"))
    lists = cache.get_many([COMPLEMENTS_KEY.format(category_id) for _, category_id in categories])
    per_product = [(pid, [(other, score) for other, score, _ in lists.get(COMPLEMENTS_KEY.format(category_id), [])])
                   for pid, category_id in categories]
    return _entries(_summed(per_product), "complementary",
                    lambda p: f"Goes well with {p.title}" if p else "Goes well together")


def complementary(product_ids: list[int], limit: int, *, customer_id: int | None = None, visitor_id=None
                  ) -> list[Recommendation]:
    """A full "bought together" row for a product page or a cart: bought with these products, then their
    categories' complements, then popular products; the bought-together carousel's merchandising rules
    apply, for the shopper given (rules that leave out their cart or recent orders need one)."""
    entries = bought_with(product_ids) + complements_of(product_ids) + _popular(limit)
    return merchandising.apply(CarouselStrategy.BOUGHT_TOGETHER, lambda n: _resolve(entries, n, set(product_ids)),
                               limit, customer_id=customer_id, visitor_id=visitor_id, never=frozenset(product_ids))


def trending(limit: int, *, category_id: int | None = None) -> list[tuple]:
    """Products rising against their own usual engagement, then the popular ones (in a category)."""
    ids = events.trending_products(category_id=category_id, limit=2 * limit)
    name = Category.objects.filter(pk=category_id).values_list("name", flat=True).first() if category_id else None
    rising = _entries([(pid, 1.0 / (rank + 1), None) for rank, pid in enumerate(ids)], "trending",
                      lambda _: f"Trending in {name}" if name else "Trending now")
    return rising + _popular(limit, category_id=category_id)


def buy_again(customer_id: int | None, visitor_id, limit: int) -> list[tuple]:
    """The shopper's own repeat purchases that are due again by their usual interval."""
    if not customer_id and not visitor_id:
        return []
    due = orders.due_repurchases(customer_id=customer_id, visitor_id=visitor_id, now=timezone.now(), limit=limit)
    intervals = {pid: days for pid, days in due}
    return [(pid, 1.0 / (rank + 1), None, "buy_again",
             lambda _, days=intervals[pid]: f"You buy this about every {max(round(days), 1)} days")
            for rank, (pid, _) in enumerate(due)]


def because_viewed(customer_id: int | None, visitor_id) -> list[tuple]:
    """Products similar to the one the shopper viewed last, the reason naming it."""
    last = events.recently_viewed(customer_id=customer_id, visitor_id=visitor_id, limit=1)
    if not last:
        return []
    return [(pid, score, last[0], "because_viewed", _because_viewed) for pid, score, *_ in similar_to(last[0])]


# --- surfaces and carousels -----------------------------------------------------------------------


def recommend(surface: str, *, customer_id: int | None = None, visitor_id=None, product_id: int | None = None,
              cart_product_ids: list[int] | None = None, limit: int = 12,
              rules: list[merchandising.Rule] | None = None) -> list[Recommendation]:
    """What a surface shows: ``home`` the shopper's own list, ``product`` similar products (and then
    the department's best sellers), ``cart`` what is bought with the cart's products (and then their
    categories' complements, then the shopper's list); a strategy's surface is its carousel. Reads Redis
    and precomputed tables only; every level falls back to popularity. The surface's live merchandising
    rules apply (``rules``: these instead, for the admin's preview)."""
    if surface not in SURFACES:
        raise ValueError(f"Unknown surface {surface!r}; expected one of {', '.join(SURFACES)}.")
    if surface in STRATEGY_SURFACES:
        chosen = carousel(surface, customer_id=customer_id, visitor_id=visitor_id, product_id=product_id,
                          limit=limit, rules=rules)
        if len(chosen) == limit:
            return chosen
        shown = frozenset({r.product.pk for r in chosen} | ({product_id} if product_id else set()))
        return chosen + merchandising.apply(surface, lambda n: _resolve(_popular(n), n, shown), limit - len(chosen),
                                            customer_id=customer_id, visitor_id=visitor_id, rules=rules, never=shown)
    exclude: set[int] = set()
    if surface == "product":
        category_id = Product.objects.filter(pk=product_id).values_list("category_id", flat=True).first()
        entries = similar_to(product_id) + (_popular(limit, category_id=category_id) if category_id else [])
        exclude = {product_id}
    elif surface == "cart":
        exclude = set(cart_product_ids or [])
        entries = (bought_with(list(exclude)) + complements_of(list(exclude))
                   + personalised(customer_id, visitor_id, limit))
    else:
        entries = personalised(customer_id, visitor_id, limit)
    return merchandising.apply(surface, lambda n: _resolve(entries + _popular(n), n, exclude), limit,
                               customer_id=customer_id, visitor_id=visitor_id, cart_product_ids=cart_product_ids,
                               rules=rules, never=frozenset(exclude))


def carousel(strategy: str, *, customer_id: int | None = None, visitor_id=None, product_id: int | None = None,
             category_id: int | None = None, limit: int = 12,
             rules: list[merchandising.Rule] | None = None) -> list[Recommendation]:
    """A carousel's products for one strategy, from precomputed lists and caches only. A chosen
    category narrows every strategy; an empty result lets the caller fall back to another strategy. The
    strategy's live merchandising rules apply (``rules``: these instead, for the admin's preview)."""
    if strategy == CarouselStrategy.PERSONALISED:
        entries = personalised(customer_id, visitor_id, limit * 2)
    elif strategy == CarouselStrategy.TRENDING:
        entries = trending(limit * 2, category_id=category_id)
    elif strategy == CarouselStrategy.SIMILAR:
        entries = similar_to(product_id) if product_id else []
    elif strategy == CarouselStrategy.BOUGHT_TOGETHER:
        entries = bought_with([product_id]) + complements_of([product_id]) if product_id else []
    elif strategy == CarouselStrategy.BUY_AGAIN:
        entries = buy_again(customer_id, visitor_id, limit * 2)
    elif strategy == CarouselStrategy.BECAUSE_VIEWED:
        entries = because_viewed(customer_id, visitor_id)
    elif strategy == CarouselStrategy.RECENTLY_VIEWED:
        ids = events.recently_viewed(customer_id=customer_id, visitor_id=visitor_id, limit=limit * 2)
        entries = _entries([(pid, 1.0 / (rank + 1), None) for rank, pid in enumerate(ids)], "recently_viewed",
                           lambda _: "You viewed this recently")
    else:
        raise ValueError(f"Unknown carousel strategy {strategy!r}.")
    page_product = frozenset({product_id} if product_id else ())
    results = merchandising.apply(strategy, lambda n: _resolve(entries, n, page_product), limit * 2,
                                  customer_id=customer_id, visitor_id=visitor_id, rules=rules, never=page_product)
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
