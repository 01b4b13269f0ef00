"""Search's write side for semantic retrieval at scale: the IVFFlat indexes' lifecycle (built, rebuilt after
drift, dropped when the catalogue or a department shrinks): the catalogue's, and each large department's
own partial one. Run by the statistics beat task and ``embed_products``; how
a query reads the index (probes, exact search) is ``retrieval``'s."""

import time
from datetime import datetime

from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from ai.search.caching import DEPARTMENT_INDEXES_KEY, VECTOR_INDEX_SHAPE_KEY, bump_index_version, cache_key
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
# A department filter on the catalogue's index keeps a small share of the lists it probes, so the
# iterative scan stops at the first matches in the lists nearest the query, not the department's nearest
# (recall@50 0.68–0.87 at 1M products, docs/benchmarks.md). A department of at least
# DEPARTMENT_INDEX_MIN_PRODUCTS embeddings gets its own partial index (``WHERE department_id = N``), read
# as an unfiltered one of its size; smaller departments are searched exactly or through the catalogue's.
DEPARTMENT_INDEX = IVFFLAT_INDEX + "_d"  # + the department's id
DEPARTMENT_INDEX_MIN_PRODUCTS = IVFFLAT_MIN_PRODUCTS


def _build(cursor, name: str, lists: int, where: str = "") -> None:
    """Build an IVFFlat index CONCURRENTLY under a new name and swap it in for ``name``."""
    embeddings = ProductEmbedding._meta.db_table
    cursor.execute(f"DROP INDEX IF EXISTS {name}_new")  # left invalid by a failed build
    cursor.execute(f"SET maintenance_work_mem = '{IVFFLAT_BUILD_MEMORY}'")
    try:
        cursor.execute(
            f"""CREATE INDEX CONCURRENTLY {name}_new ON {embeddings}
                USING ivfflat ((embedding::halfvec({EMBEDDING_DIMENSIONS})) halfvec_cosine_ops)
                WITH (lists = {lists}){f" WHERE {where}" if where else ""}""")
    finally:
        cursor.execute("RESET maintenance_work_mem")
    with transaction.atomic():
        cursor.execute(f"DROP INDEX IF EXISTS {name}")
        cursor.execute(f"ALTER INDEX {name}_new RENAME TO {name}")


def _lists(rows: int) -> int:
    return min(IVFFLAT_MAX_LISTS, rows // IVFFLAT_ROWS_PER_LIST)


def _drifted(rows: int, changed: int, built_rows: int) -> bool:
    return abs(rows - built_rows) + changed > IVFFLAT_DRIFT * built_rows


def refresh_vector_index() -> int:
    """Build, rebuild (after ``IVFFLAT_DRIFT``, which a re-embedding of everything always exceeds) or drop
    the IVFFlat index to fit the catalogue, and each department's own (``refresh_department_indexes``).
    Returns the catalogue index's lists (0: none, HNSW serves).

    Built CONCURRENTLY under a new name and swapped in, so product writes and searches carry on during
    the build; must run outside a transaction."""
    stats, _ = SearchStatistics.objects.get_or_create(pk=1)
    started = timezone.now()  # vectors written during a build count as changed since it
    embeddings = ProductEmbedding._meta.db_table
    built = False
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*), count(*) FILTER (WHERE updated_at > %s) FROM {embeddings}",
                       [stats.vector_index_built_at or started])
        rows, changed = cursor.fetchone()
        if rows < IVFFLAT_MIN_PRODUCTS:
            lists = 0
            if stats.vector_index_lists:
                cursor.execute(f"DROP INDEX IF EXISTS {IVFFLAT_INDEX}")
                built = True
        elif not stats.vector_index_lists or _drifted(rows, changed, stats.vector_index_rows):
            lists = _lists(rows)
            _build(cursor, IVFFLAT_INDEX, lists)
            built = True
        else:
            lists = stats.vector_index_lists
    if built:
        SearchStatistics.objects.filter(pk=1).update(
            vector_index_lists=lists, vector_index_rows=rows if lists else 0,
            vector_index_built_at=started if lists else None)
    departments_changed = refresh_department_indexes(catalogue_indexed=bool(lists))
    if built or departments_changed:
        cache.delete(cache_key(VECTOR_INDEX_SHAPE_KEY))
        cache.delete(cache_key(DEPARTMENT_INDEXES_KEY))
        bump_index_version()  # semantic candidates now come from another index
    return lists


def refresh_department_indexes(*, catalogue_indexed: bool = True) -> bool:
    """Give each department of at least ``DEPARTMENT_INDEX_MIN_PRODUCTS`` embeddings (and only while the
    catalogue has its IVFFlat index) its own partial IVFFlat index, lists sized to its rows; rebuild one
    after ``IVFFLAT_DRIFT`` of its embeddings changed; drop those of departments that shrank or are gone.
    Records them in ``SearchStatistics.department_indexes``, which the read side reads (cached). Returns
    whether any index was built or dropped."""
    stats, _ = SearchStatistics.objects.get_or_create(pk=1)
    recorded = {int(department): state for department, state in stats.department_indexes.items()}
    started = timezone.now()
    embeddings = ProductEmbedding._meta.db_table
    with connection.cursor() as cursor:
        built_at = {department: datetime.fromisoformat(state["built_at"]) for department, state in recorded.items()}
        cursor.execute(
            f"""SELECT e.department_id, count(*), count(*) FILTER (WHERE e.updated_at > b.built_at)
                FROM {embeddings} e
                LEFT JOIN unnest(%s::bigint[], %s::timestamptz[]) AS b(department_id, built_at)
                       ON b.department_id = e.department_id
                WHERE e.department_id IS NOT NULL GROUP BY e.department_id""",
            [list(built_at), list(built_at.values())])
        counts = {department: (rows, changed) for department, rows, changed in cursor.fetchall()}
        wanted = {department: counted for department, counted in counts.items()
                  if catalogue_indexed and counted[0] >= DEPARTMENT_INDEX_MIN_PRODUCTS}
        # Indexes nothing records (left by a refresh that failed before recording them) are rebuilt when
        # wanted, dropped otherwise.
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexname LIKE %s",
                       [embeddings, DEPARTMENT_INDEX.replace("_", r"\_") + "%"])
        existing = {name for (name,) in cursor.fetchall()}
        state, changed_any = {}, False
        for department, (rows, changed) in sorted(wanted.items()):
            name = f"{DEPARTMENT_INDEX}{int(department)}"
            previous = recorded.get(department)
            if previous and name in existing and not _drifted(rows, changed, previous["rows"]):
                state[department] = previous
                continue
            lists = _lists(rows)
            build_started = time.perf_counter()
            _build(cursor, name, lists, f"department_id = {int(department)}")
            state[department] = {"lists": lists, "rows": rows, "built_at": started.isoformat(),
                                 "build_s": round(time.perf_counter() - build_started, 1)}
            changed_any = True
        for name in existing - {f"{DEPARTMENT_INDEX}{int(department)}" for department in state}:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")
            changed_any = changed_any or not name.endswith("_new")
    if changed_any or state != recorded:
        SearchStatistics.objects.filter(pk=1).update(
            department_indexes={str(department): entry for department, entry in state.items()})
    return changed_any or state != recorded
