"""Recommendations' write side, embedding neighbours: "similar products" by text embedding for the
products the ALS model does not cover (new or never bought), computed by the beat task; a saved
product's list is marked for recomputation. No scipy or implicit here: the save receiver runs in web
processes."""

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from ai.recommendations.config import SIMILAR_COUNT
from ai.recommendations.models import ProductRecommendations
from ai.recommendations.serving import PRODUCT_KEY, current_model
from ai.search import serving as search
from commerce.catalogue.models import Product

# Measured: an HNSW top-40 query ≈ 3 ms at 100k products, so a beat run of 2,000 products ≈ 6 s.
EMBEDDING_NEIGHBOURS_BATCH_SIZE = 2000


def products_needing_neighbours(limit: int) -> list[int]:
    """Active products with an embedding but no similar-products list yet (the dirty set)."""
    return list(Product.objects.active().filter(pk__in=search.embedded_product_ids())
                .exclude(pk__in=ProductRecommendations.objects.exclude(similar_source="").values("product_id"))
                .order_by("pk").values_list("pk", flat=True)[:limit])


def compute_embedding_neighbours(product_ids: list[int], count: int = SIMILAR_COUNT) -> int:
    """Similar products by text embedding: one nearest-neighbour query per product, the lists written
    in one upsert. Returns how many lists were written."""
    now = timezone.now()
    rows = []
    for product_id in product_ids:
        neighbours = search.embedding_neighbours(product_id, count)
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


def forget_product_neighbours(product_id: int) -> None:
    """A product's text changed: its embedding-based list is recomputed by the next beat run."""
    ProductRecommendations.objects.filter(product_id=product_id,
                                          similar_source=ProductRecommendations.Source.EMBEDDING).update(
        similar_source="", similar_ids=[], similar_scores=[])
    _forget_product_lists([product_id])


def _forget_product_lists(product_ids: list[int]) -> None:
    """Drop the served copies (``serving.product_lists``) of lists rewritten outside training, after the commit."""
    info = current_model()
    keys = [PRODUCT_KEY.format(pid, info.version if info else "none") for pid in product_ids]
    transaction.on_commit(lambda: cache.delete_many(keys))
