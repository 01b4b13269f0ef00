"""Thin Celery wrappers over ai.search.services; each takes ids, re-fetches and is safe to repeat."""

from celery import shared_task

from ai.search import services
from commerce.catalogue.models import Category, Product

# Measured (bench/search.py): 256 product texts embed in ≈ 1.5 s with the int8 encoder, short
# enough to keep the batch queue responsive between batches.
REEMBED_BATCH_SIZE = 256


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
    """Beat: rebuild BM25 document frequencies and the typo-correction vocabulary."""
    services.refresh_term_statistics()
