"""Recommendations' write side, "similar products": the blend of content (text-embedding neighbours)
and co-behaviour (ALS item factors) that training writes for the products it knows, and the
content-only lists the beat task computes for the products it does not (new or never bought); a saved
product's list is marked for recomputation. Both keep a row mostly in the product's own category. No
scipy or implicit here: the save receiver runs in web processes."""

import random

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from ai.recommendations.config import SIMILAR_COUNT
from ai.recommendations.models import ProductRecommendations
from ai.recommendations.serving import COMPLEMENTS_KEY, PRODUCT_KEY, current_model
from ai.search import serving as search
from commerce.catalogue.models import Category, Product
from commerce.events import queries as events
from commerce.orders import services as orders

# Measured: an HNSW top-40 query ≈ 3 ms at 100k products, so a beat run of 2,000 products ≈ 6 s.
EMBEDDING_NEIGHBOURS_BATCH_SIZE = 2000


def products_needing_neighbours(limit: int) -> list[int]:
    """Active products with an embedding but no similar-products list yet (the dirty set)."""
    return list(Product.objects.active().filter(pk__in=search.embedded_product_ids())
                .exclude(pk__in=ProductRecommendations.objects.exclude(similar_source="").values("product_id"))
                .order_by("pk").values_list("pk", flat=True)[:limit])


# Co-behaviour's share of the blended score (content has the rest).
BEHAVIOUR_SHARE = 0.5
# Added to a blended score in [0, 1] when the candidate shares the product's category: the row stays
# mostly in the category, and a much stronger match from elsewhere can still make it.
SAME_CATEGORY_BONUS = 0.5
# Candidates fetched per source for each list kept, so the category preference has some to choose from.
CANDIDATES_PER_ITEM = 2


# A product's text-embedding neighbours change only with the catalogue: each list is kept a day or two
# (spread, so a training run never recomputes them all at once) and dropped when the product is saved.
CONTENT_KEY = "recs:content:{}"
CONTENT_TTL = 24 * 3600
# At ≈ 3 ms an HNSW probe (as above), a batch ≈ 3 s: one statement, then its lists are kept.
CONTENT_BATCH_SIZE = 1000


def content_neighbours(product_ids: list[int]) -> dict[int, list[tuple[int, float]]]:
    """Each product's ``SIMILAR_COUNT × CANDIDATES_PER_ITEM`` nearest products by text embedding (none
    without one): kept lists, and the missing ones computed in batches. A kept list may name a product
    sold out since; serving never shows one."""
    count = SIMILAR_COUNT * CANDIDATES_PER_ITEM
    keys = {product_id: CONTENT_KEY.format(product_id) for product_id in product_ids}
    kept = cache.get_many(list(keys.values()))
    found = {product_id: kept[key] for product_id, key in keys.items() if key in kept}
    missing = [product_id for product_id in product_ids if product_id not in found]
    for start in range(0, len(missing), CONTENT_BATCH_SIZE):
        batch = search.embedding_neighbours_of(missing[start:start + CONTENT_BATCH_SIZE], count)
        cache.set_many({keys[product_id]: found_list for product_id, found_list in batch.items()},
                       int(CONTENT_TTL * (1 + random.random())))
        found |= batch
    return found


def product_categories(product_ids) -> dict[int, int]:
    return dict(Product.objects.filter(pk__in=list(product_ids)).values_list("pk", "category_id"))


def blend_similar(category_id: int | None, behaviour: list[tuple[int, float]], content: list[tuple[int, float]],
                  categories: dict[int, int], count: int) -> list[tuple[int, float]]:
    """The ``count`` best of both candidate lists, (product id, score) best first: each source's scores
    scaled by its best, blended by ``BEHAVIOUR_SHARE`` (a product missing from a list scores 0 there),
    plus ``SAME_CATEGORY_BONUS`` for the product's own category."""
    blended: dict[int, float] = {}
    for share, candidates in ((BEHAVIOUR_SHARE, behaviour), (1 - BEHAVIOUR_SHARE, content)):
        best = max((score for _, score in candidates), default=0.0)
        for pid, score in candidates if best > 0 else ():
            blended[pid] = blended.get(pid, 0.0) + share * max(score, 0.0) / best
    for pid in blended:
        if category_id is not None and categories.get(pid) == category_id:
            blended[pid] += SAME_CATEGORY_BONUS
    return sorted(blended.items(), key=lambda item: (-item[1], item[0]))[:count]


def compute_embedding_neighbours(product_ids: list[int], count: int = SIMILAR_COUNT) -> int:
    """Similar products by text embedding (``content_neighbours``), kept mostly in the product's category,
    the lists written in one upsert. Returns how many lists were written."""
    now = timezone.now()
    content = content_neighbours(product_ids)
    categories = product_categories({pid for found in content.values() for pid, _ in found} | set(product_ids))
    rows = []
    for product_id in product_ids:
        neighbours = blend_similar(categories.get(product_id), [], content[product_id], categories, count)
        rows.append(ProductRecommendations(
            product_id=product_id, similar_ids=[pid for pid, _ in neighbours],
            similar_scores=[round(score, 5) for _, score in neighbours],
            similar_source=ProductRecommendations.Source.EMBEDDING, computed_at=now))
    with transaction.atomic():
        ProductRecommendations.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["product"],
            update_fields=["similar_ids", "similar_scores", "similar_source", "computed_at"])
        _forget_product_lists(product_ids)
    return len(rows)


# Complementary categories a category's fallback list draws from, and how far back their best sellers go.
COMPLEMENT_CATEGORIES = 4
COMPLEMENT_POPULAR_DAYS = 28
# Rewritten by every training run; outlives a few missed runs, as the product lists do.
COMPLEMENTS_TTL = 7 * 24 * 3600


def publish_complements(since, until, count: int) -> dict[int, list[tuple[int, float, int]]]:
    """Per category, ``count`` products of its complementary categories (``orders.complementary_categories``,
    their strongest ``COMPLEMENT_CATEGORIES``), then of its department's complementary departments: each
    one's best sellers, a product scored by its category's association strength over its rank there.
    Cached for serving (``serving.COMPLEMENTS_KEY``) as [(product id, score, its category id)], every
    category's list rewritten; returned too."""
    categories = orders.complementary_categories(since, until)
    departments = orders.complementary_categories(since, until, departments=True)
    lists = {}
    for category_id, parent_id in Category.objects.values_list("pk", "parent_id"):
        ranked: dict[int, tuple[float, int]] = {}
        for others in (categories.get(category_id, []), departments.get(parent_id or category_id, [])):
            scored: dict[int, tuple[float, int]] = {}
            for other, strength in others[:COMPLEMENT_CATEGORIES]:
                for rank, pid in enumerate(events.popular_products(category_id=other, days=COMPLEMENT_POPULAR_DAYS,
                                                                   limit=count)):
                    scored.setdefault(pid, (strength / (rank + 1), other))
            # The category's own complements first; its department's fill what is left.
            for pid, found in sorted(scored.items(), key=lambda item: (-item[1][0], item[0])):
                ranked.setdefault(pid, found)
        lists[category_id] = [(pid, round(score, 5), other) for pid, (score, other) in list(ranked.items())[:count]]
    cache.set_many({COMPLEMENTS_KEY.format(category_id): items for category_id, items in lists.items()},
                   COMPLEMENTS_TTL)
    return lists


def forget_product_neighbours(product_id: int) -> None:
    """A product's text changed: its embedding-based list is recomputed by the next beat run, and its
    kept text-embedding neighbours by the next run that asks for them."""
    cache.delete(CONTENT_KEY.format(product_id))
    ProductRecommendations.objects.filter(product_id=product_id,
                                          similar_source=ProductRecommendations.Source.EMBEDDING).update(
        similar_source="", similar_ids=[], similar_scores=[])
    _forget_product_lists([product_id])


def _forget_product_lists(product_ids: list[int]) -> None:
    """Drop the served copies (``serving.product_lists``) of lists rewritten outside training, after the commit."""
    info = current_model()
    keys = [PRODUCT_KEY.format(pid, info.version if info else "none") for pid in product_ids]
    transaction.on_commit(lambda: cache.delete_many(keys))
