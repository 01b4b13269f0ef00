"""Thin Celery wrappers over search's write side (and the curated lists pages ask for); each takes ids,
re-fetches and is safe to repeat.

Receivers in the web process import this module to queue tasks, so each task imports the write side
(``indexing``, ``vector_index``) in its body, where only a worker runs it."""

from celery import shared_task

from ai.search import serving
from commerce.catalogue.models import Category, Product

# Measured (bench/embeddings.py): 256 product texts embed in ≈ 0.9–1.5 s on either bulk path (bf16
# or int8), short enough to keep the batch queue responsive between batches.
REEMBED_BATCH_SIZE = 256
# Curated queries run per pop of the wanted set (a killed worker loses at most these; the next page view
# that misses asks again). Measured at 100k products (docs/benchmarks.md): a hybrid query 12 ms median
# unfiltered, a department filter's semantic scan up to 35 ms median, so a batch takes ≈ 0.3–1 s.
CURATED_BATCH_SIZE = 20


@shared_task(ignore_result=True)
def index_product(product_id: int):
    """A product was saved: re-embed and re-index it if its text changed (no-op if it is gone)."""
    from ai.search import indexing

    indexing.index_products([product_id])


@shared_task(ignore_result=True)
def reembed_category(category_id: int):
    """A category was renamed or moved: its products' text (category path) changed."""
    from ai.search import indexing

    category = Category.objects.filter(pk=category_id).first()
    if category is None:
        return
    ids = list(Product.objects.filter(category_id__in=category.descendant_ids()).values_list("pk", flat=True))
    for start in range(0, len(ids), REEMBED_BATCH_SIZE):
        indexing.index_products(ids[start:start + REEMBED_BATCH_SIZE])


@shared_task(ignore_result=True)
def reembed_products(product_ids: list[int]):
    """Products written in bulk (an import): re-index those whose text changed, in batches."""
    from ai.search import indexing

    for start in range(0, len(product_ids), REEMBED_BATCH_SIZE):
        indexing.index_products(product_ids[start:start + REEMBED_BATCH_SIZE])


@shared_task(ignore_result=True)
def reembed_missing_products():
    """Beat: index products that have no embedding yet (bulk imports skip the per-save signal)."""
    from ai.search import indexing

    ids = serving.products_needing_index(limit=REEMBED_BATCH_SIZE * 8)
    for start in range(0, len(ids), REEMBED_BATCH_SIZE):
        indexing.index_products(ids[start:start + REEMBED_BATCH_SIZE])
    if ids:
        indexing.refresh_term_statistics()


@shared_task(ignore_result=True)
def refresh_search_statistics():
    """Beat: rebuild BM25 document frequencies and the typo-correction vocabulary; build, rebuild or drop
    the IVFFlat index as the catalogue grows or changes (a drift check when nothing is due, ≈ 20 ms at
    100k products). Each bumps the index version only when it changed something, so a quiet catalogue
    keeps its cached result and curated lists."""
    from ai.search import indexing, vector_index

    indexing.refresh_term_statistics()
    vector_index.refresh_vector_index()


@shared_task(ignore_result=True)
def refresh_wanted_curated_results() -> int:
    """Beat: run the curated queries pages found no cached list for (``serving.curated_results``), each
    once for every shopper (of its search-experiment variant, when ``keyword_only``), cached under the
    exact filters the page asked with, so its block finds the list. Returns how many lists it cached."""
    refreshed = 0
    while wanted := serving.take_wanted_curated_results(CURATED_BATCH_SIZE):
        for spec in wanted:
            filters = serving.Filters(**spec["filters"])
            if filters.category_id and not Category.objects.filter(pk=filters.category_id).exists():
                continue  # the department was deleted: the block's filters no longer name it either
            serving.refresh_curated_results(spec["query"], filters, spec["limit"], keyword_only=spec["keyword_only"])
            refreshed += 1
    return refreshed
