"""Thin Celery wrappers over ai.search.services; each takes ids, re-fetches and is safe to repeat."""

from dataclasses import asdict

from celery import shared_task
from django.core.cache import cache

from ai.search import services
from commerce.catalogue.models import Category, Product
from core.queueing import enqueue

# Measured (bench/search.py): 256 product texts embed in ≈ 1.5 s with the int8 encoder, short
# enough to keep the batch queue responsive between batches.
REEMBED_BATCH_SIZE = 256
CURATED_CLAIM_SECONDS = 60  # a queued curated query is not queued again for this long


@shared_task(ignore_result=True)
def index_product(product_id: int):
    """A product was saved: re-embed and re-index it if its text changed (no-op if it is gone)."""
    services.index_products([product_id])


@shared_task(ignore_result=True)
def reembed_category(category_id: int):
    """A category was renamed or moved: its products' text (category path) changed."""
    category = Category.objects.filter(pk=category_id).first()
    if category is None:
        return
    ids = list(Product.objects.filter(category_id__in=category.descendant_ids()).values_list("pk", flat=True))
    for start in range(0, len(ids), REEMBED_BATCH_SIZE):
        services.index_products(ids[start:start + REEMBED_BATCH_SIZE])


@shared_task(ignore_result=True)
def reembed_products(product_ids: list[int]):
    """Products written in bulk (an import): re-index those whose text changed, in batches."""
    for start in range(0, len(product_ids), REEMBED_BATCH_SIZE):
        services.index_products(product_ids[start:start + REEMBED_BATCH_SIZE])


@shared_task(ignore_result=True)
def reembed_missing_products():
    """Beat: index products that have no embedding yet (bulk imports skip the per-save signal)."""
    ids = services.products_needing_index(limit=REEMBED_BATCH_SIZE * 8)
    for start in range(0, len(ids), REEMBED_BATCH_SIZE):
        services.index_products(ids[start:start + REEMBED_BATCH_SIZE])
    if ids:
        services.refresh_term_statistics()


@shared_task(ignore_result=True)
def refresh_search_statistics():
    """Beat: rebuild BM25 document frequencies and the typo-correction vocabulary; build, rebuild or drop
    the IVFFlat index as the catalogue grows or changes (a drift check when nothing is due, ≈ 20 ms at
    100k products)."""
    services.refresh_term_statistics()
    services.refresh_vector_index()


def queue_curated_results(query: str, filters: services.Filters, limit: int, *, keyword_only: bool = False) -> None:
    """Queue a curated query once, however many pages ask for it before it has run."""
    kind = "curated-keyword-pending" if keyword_only else "curated-pending"
    claim = services.results_cache_key(kind, query, filters, limit, versioned=False)
    if cache.add(claim, 1, CURATED_CLAIM_SECONDS):
        enqueue(refresh_curated_results, query, asdict(filters), limit, keyword_only)


@shared_task(ignore_result=True)
def refresh_curated_results(query: str, filters: dict, limit: int = 12, keyword_only: bool = False):
    """A page's curated-query block found no cached results: run the query once for every shopper
    (of its search-experiment variant, when ``keyword_only``). ``filters``: the fields of ``Filters``;
    the list is cached under those exact filters, so the block finds it."""
    filters = services.Filters(**filters)
    if filters.category_id and not Category.objects.filter(pk=filters.category_id).exists():
        return  # the department was deleted: the block's filters no longer name it either
    services.refresh_curated_results(query, filters, limit, keyword_only=keyword_only)
