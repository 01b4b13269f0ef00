"""Search's write side for semantic retrieval at scale: the IVFFlat index's lifecycle (built, rebuilt after
drift, dropped when the catalogue shrinks). Run by the statistics beat task and ``embed_products``; how
a query reads the index (probes, exact search) is ``retrieval``'s."""

from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from ai.search.caching import VECTOR_INDEX_SHAPE_KEY, bump_index_version, cache_key
from ai.search.models import EMBEDDING_DIMENSIONS, ProductEmbedding, SearchStatistics

# Semantic search's index. HNSW (model Meta) misses most true neighbours of short shopper queries
# ("studio", "natural") at scale: their vectors lie far from every product vector, and the greedy graph
# descent ends in the wrong region. Recall@50 against exact search with the served ef_search 100,
# measured (docs/benchmarks.md): 0.97 at 5,000 products, 0.88 at 20,000, 0.70 at 100,000 (0.87 at
# pgvector's maximum ef_search 1000). IVFFlat scans whole k-means lists, so recall depends only on how
# many vectors are scanned: from IVFFLAT_MIN_PRODUCTS an IVFFlat index serves instead.
IVFFLAT_INDEX = "product_embedding_ivfflat"
IVFFLAT_MIN_PRODUCTS = 10_000  # below, HNSW holds recall and IVFFlat would probe every list anyway
IVFFLAT_ROWS_PER_LIST = 50
# k-means samples 50 vectors a list and needs ≈ samples × lists × 4 bytes of maintenance_work_mem:
# 2,000 lists ≈ 0.9 GB (built in 34–39 s at 100k products); 4,000 would need 1.7 GB.
IVFFLAT_MAX_LISTS = 2_000
IVFFLAT_BUILD_MEMORY = "1GB"
# Rebuilt when this share of the embeddings was added, removed or re-embedded since the build: new
# vectors join the nearest existing list, so lists drift from the catalogue.
IVFFLAT_DRIFT = 0.2


def refresh_vector_index() -> int:
    """Build, rebuild (after ``IVFFLAT_DRIFT``, which a re-embedding of everything always exceeds) or drop
    the IVFFlat index to fit the catalogue. Returns its lists (0: none, HNSW serves).

    Built CONCURRENTLY under a new name and swapped in, so product writes and searches carry on during
    the build; must run outside a transaction."""
    stats, _ = SearchStatistics.objects.get_or_create(pk=1)
    started = timezone.now()  # vectors written during a build count as changed since it
    embeddings = ProductEmbedding._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*), count(*) FILTER (WHERE updated_at > %s) FROM {embeddings}",
                       [stats.vector_index_built_at or started])
        rows, changed = cursor.fetchone()
        if rows < IVFFLAT_MIN_PRODUCTS:
            if not stats.vector_index_lists:
                return 0
            lists = 0
            cursor.execute(f"DROP INDEX IF EXISTS {IVFFLAT_INDEX}")
        elif (not stats.vector_index_lists
              or abs(rows - stats.vector_index_rows) + changed > IVFFLAT_DRIFT * stats.vector_index_rows):
            lists = min(IVFFLAT_MAX_LISTS, rows // IVFFLAT_ROWS_PER_LIST)
            cursor.execute(f"DROP INDEX IF EXISTS {IVFFLAT_INDEX}_new")  # left invalid by a failed build
            cursor.execute(f"SET maintenance_work_mem = '{IVFFLAT_BUILD_MEMORY}'")
            try:
                cursor.execute(
                    f"""CREATE INDEX CONCURRENTLY {IVFFLAT_INDEX}_new ON {embeddings}
                        USING ivfflat ((embedding::halfvec({EMBEDDING_DIMENSIONS})) halfvec_cosine_ops)
                        WITH (lists = {lists})""")
            finally:
                cursor.execute("RESET maintenance_work_mem")
            with transaction.atomic():
                cursor.execute(f"DROP INDEX IF EXISTS {IVFFLAT_INDEX}")
                cursor.execute(f"ALTER INDEX {IVFFLAT_INDEX}_new RENAME TO {IVFFLAT_INDEX}")
        else:
            return stats.vector_index_lists
    SearchStatistics.objects.filter(pk=1).update(
        vector_index_lists=lists, vector_index_rows=rows if lists else 0,
        vector_index_built_at=started if lists else None)
    cache.delete(cache_key(VECTOR_INDEX_SHAPE_KEY))
    bump_index_version()  # semantic candidates now come from another index
    return lists
