"""Semantic search at a million products, in a scratch database (the demo shop is never touched).

    python -m bench search_scale      # BENCH_SCALE_PRODUCTS=1000000 by default
    BENCH_SCALE_SMOKE=1 BENCH_SCALE_PRODUCTS=30000 BENCH_SCALE_SOURCES=1000 python -m bench search_scale
        # a few minutes: every step runs, departments of 500 get their own index and searches of more
        # than 300 matches read it (no figure of it is meaningful)

Embedding a million products with the real encoder would take hours here, so the catalogue is grown from
real ones:

1. ``seed_demo`` seeds ``BENCH_SCALE_SOURCES`` (5,000) real demo products, which the real pipeline
   (``indexing.index_products``) embeds and keyword-indexes: the encoder's docs/s. A tenth of them are
   held out (inactive, no embedding) as the texts of the products the churn step adds.
2. The catalogue is filled to ``BENCH_SCALE_PRODUCTS`` with set-based SQL: each new product is a copy of
   a random kept source (title, category, price, stock, activity; so departments keep the demo's shares)
   with the source's keyword document and postings. Its vector is derived from real ones:
   ``normalise(α·v_source + (1−α)·v_other + noise)``, v_other a source of the same leaf category,
   α uniform in 0.5–1, the noise Gaussian with norm ≈ ``BENCH_SCALE_NOISE`` (0.25: cosine ≈ 0.97 to the
   mix). The vectors cluster like the catalogue's (by category, around real products), but they are
   not embeddings of real texts: the noise is isotropic, where real variation between products follows
   a few directions, and ten thousand products share each few hundred texts' neighbourhood.
   The HNSW index (not served at this size) is dropped before the load.
3. ``vector_index.refresh_vector_index()`` builds the served IVFFlat index: its time, its size, the
   table's, and the peak memory of the building backend; then, called again, each department's own
   partial IVFFlat index (the departments' thresholds lowered for the first call only, so the two builds
   are timed apart): each one's build time, lists and size.
4. Recall@50 of ``retrieval.semantic_search`` against exact search (computed here with numpy over the
   same vectors; a result counts within (1 + 1e-3) of the exact 50th distance, as in ``bench/search.py``),
   unfiltered for ``BENCH_SCALE_QUERIES`` (200) queries and at wider scans (``SCAN_ROWS``), and under
   each department filter for ``BENCH_SCALE_FILTERED_QUERIES`` (40), alone (its own index read as an
   unfiltered one) and with a price bound at the department's median price on top (an iterative scan of
   its index), with the index the plan used (EXPLAIN of the first query); ``semantic_search`` p50/p99,
   and again for the same queries (``second_pass``: the pages the first read are cached now); and
   ``GET /api/v1/search`` with the query embedding uncached, plus the median of each stage.
5. Churn of 1 % a day: ``CHURN`` (1 %) new products from the held-out texts upserted as ``index_products``
   writes them (the IVFFlat index taking them into its existing lists), then recall again without
   rebuilding the lists, for the same queries and for queries from the new products' titles.

Measuring the API again without rebuilding the catalogue (≈ 20 minutes at 1M):

    BENCH_SCALE_KEEP=1 python -m bench search_scale    # the database is kept; its name is in the report
    BENCH_SCALE_DATABASE=<name> python -m bench search_scale   # API latency, stages and profile only
    # then drop it: psql -c 'DROP DATABASE "<name>" WITH (FORCE)' (or BENCH_SCALE_DROP=1 on the last run)

``BENCH_SCALE_PROFILE=N`` (default 0) runs N more API requests under cProfile and a statement timer and
reports the functions with the most cumulative time and the SQL statements with the most total time.
"""

import cProfile
import io
import logging
import os
import pstats
import random
import re
import statistics
import threading
import time
from collections import defaultdict
from contextlib import contextmanager

import numpy as np
import psutil
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from ai import embeddings
from ai.common import copy_rows, drop_database, scratch_database
from ai.search import indexing, retrieval, vector_index
from ai.search.caching import VECTOR_INDEX_SHAPE_KEY, bump_index_version, cache_key
from ai.search.models import (
    EMBEDDING_DIMENSIONS,
    ProductEmbedding,
    SearchDocument,
    SearchPosting,
    SearchStatistics,
)
from ai.search.retrieval import normalize_query, query_embedding_key
from bench import search, timing
from bench.timing import timed_ms
from commerce.catalogue.models import Category, Product

PRODUCTS = int(os.environ.get("BENCH_SCALE_PRODUCTS", "1000000"))
SOURCES = int(os.environ.get("BENCH_SCALE_SOURCES", "5000"))
QUERIES = int(os.environ.get("BENCH_SCALE_QUERIES", "200"))
FILTERED_QUERIES = int(os.environ.get("BENCH_SCALE_FILTERED_QUERIES", "40"))  # per department
NOISE = float(os.environ.get("BENCH_SCALE_NOISE", "0.25"))
HELD_OUT = 0.1  # of the sources: the texts churn adds
CHURN = 0.01  # of the catalogue, added after the build
# Vectors scanned per unfiltered query, besides the served IVFFLAT_SCAN_ROWS: what a wider scan buys.
SCAN_ROWS = (20_000, 40_000, 80_000)
TOLERANCE = 1.001
SMOKE = os.environ.get("BENCH_SCALE_SMOKE") == "1"
KEEP = os.environ.get("BENCH_SCALE_KEEP") == "1"  # leave the scratch database for BENCH_SCALE_DATABASE runs
EXISTING = os.environ.get("BENCH_SCALE_DATABASE")  # a kept database: measure the API only
DROP = os.environ.get("BENCH_SCALE_DROP") == "1"  # with BENCH_SCALE_DATABASE: drop it afterwards
PROFILE = int(os.environ.get("BENCH_SCALE_PROFILE", "0"))  # API requests to profile
LOAD_BATCH = 100_000
BULK_LOAD_FROM = 50_000  # copies: more, and the keyword tables' indexes are built after the load

logger = logging.getLogger(__name__)

EMBEDDINGS, PRODUCTS_TABLE = ProductEmbedding._meta.db_table, Product._meta.db_table
DOCUMENTS, POSTINGS = SearchDocument._meta.db_table, SearchPosting._meta.db_table


class Catalogue:
    """The embedded products as numpy arrays, row i: ids[i], vectors[i], department[i], active[i],
    prices[i]; exact search and recall are computed over them."""

    def __init__(self, ids, vectors, departments, active, prices):
        self._store(ids, vectors, departments, active, prices)

    def extend(self, ids, vectors, departments, active, prices) -> None:
        self._store(np.concatenate([self.ids, ids]), np.concatenate([self.vectors, vectors]),
                    np.concatenate([self.departments, departments]), np.concatenate([self.active, active]),
                    np.concatenate([self.prices, prices]))

    def _store(self, ids, vectors, departments, active, prices) -> None:
        order = np.argsort(ids)  # sorted by id, so served ids find their rows by binary search
        self.ids, self.vectors = ids[order], vectors[order]
        self.departments, self.active, self.prices = departments[order], active[order], prices[order]

    def distances(self, query: np.ndarray) -> np.ndarray:
        return 1.0 - self.vectors @ (query / np.linalg.norm(query))

    def recall(self, distances: np.ndarray, served: list[int], mask: np.ndarray) -> float:
        """Share of the exact top 50 (among ``mask``) that ``served`` holds, ties within TOLERANCE."""
        allowed = distances[mask]
        threshold = np.partition(allowed, min(49, len(allowed) - 1))[min(49, len(allowed) - 1)] * TOLERANCE
        rows = np.searchsorted(self.ids, served)
        return float(np.count_nonzero(distances[rows] <= threshold)) / min(50, len(allowed))


def seed_sources() -> dict:
    """Real demo products, embedded and keyword-indexed by the real pipeline; a tenth held out."""
    started = time.perf_counter()
    call_command("seed_demo", products=SOURCES, customers=0, no_search_index=True, verbosity=0)
    seeded = time.perf_counter() - started
    ids = list(Product.objects.order_by("pk").values_list("pk", flat=True))
    paths = indexing.category_paths()
    started = time.perf_counter()
    for start in range(0, len(ids), search.BATCH_SIZE):
        indexing.index_products(ids[start:start + search.BATCH_SIZE], paths=paths, force=True)
    embedded = time.perf_counter() - started
    indexing.refresh_term_statistics()  # fixes the impacts' average length before the copies
    held_out = sorted(random.Random(11).sample(ids, round(len(ids) * HELD_OUT)))
    Product.objects.filter(pk__in=held_out).update(active=False)
    ProductEmbedding.objects.filter(pk__in=held_out).delete()
    return {"sources": len(ids), "held_out": len(held_out), "seed_s": round(seeded, 1),
            "embed_and_keyword_index_s": round(embedded, 1), "docs_per_s": round(len(ids) / embedded, 1)}


def source_arrays(*, held_out: bool) -> dict:
    """The sources' ids, vectors, categories, departments, activity and text hashes (held-out ones: their
    texts embedded now, as ``index_products`` would)."""
    departments = retrieval.departments_of_categories()
    if held_out:
        rows = list(Product.objects.filter(active=False).exclude(
            pk__in=ProductEmbedding.objects.values("product_id")).order_by("pk").values_list(
            "pk", "category_id", "active", "title", "description", "attributes", "price"))
        paths = indexing.category_paths()
        texts = [embeddings.product_text(title, description, paths.get(category, ""), attributes or {})
                 for _, category, _, title, description, attributes, _ in rows]
        vectors = embeddings.encode(texts)
        hashes = [indexing.text_hash(text) for text in texts]
        active = [True] * len(rows)
        prices = [row[6] for row in rows]
    else:
        rows = list(ProductEmbedding.objects.order_by("pk").values_list(
            "product_id", "product__category_id", "product__active", "embedding", "text_hash", "product__price"))
        vectors = np.array([row[3] for row in rows], dtype=np.float32)
        hashes = [row[4] for row in rows]
        active = [row[2] for row in rows]
        prices = [row[5] for row in rows]
    categories = np.array([row[1] for row in rows])
    return {"ids": np.array([row[0] for row in rows], dtype=np.int64), "vectors": vectors,
            "categories": categories, "departments": np.array([departments[c] for c in categories]),
            "active": np.array(active, dtype=bool), "hashes": hashes,
            "prices": np.array([float(price) for price in prices])}


def derived_vectors(sources: dict, picks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each pick (a source row): the source's vector mixed with another of its leaf category's, plus
    noise, re-normalised."""
    vectors = sources["vectors"]
    partners = np.empty_like(picks)
    for category in np.unique(sources["categories"]):
        members = np.flatnonzero(sources["categories"] == category)
        chosen = np.flatnonzero(sources["categories"][picks] == category)
        partners[chosen] = members[rng.integers(len(members), size=len(chosen))]
    weight = rng.uniform(0.5, 1.0, size=(len(picks), 1)).astype(np.float32)
    mixed = weight * vectors[picks] + (1 - weight) * vectors[partners]
    mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
    mixed += rng.normal(0, NOISE / np.sqrt(EMBEDDING_DIMENSIONS), size=mixed.shape).astype(np.float32)
    return (mixed / np.linalg.norm(mixed, axis=1, keepdims=True)).astype(np.float32)


@contextmanager
def indexes_rebuilt_after(cursor, tables: list[str], *, rebuild: bool):
    """With ``rebuild``: the tables' secondary indexes dropped during a bulk load and built once after it
    (as a bulk re-index would), rather than maintained row by row."""
    definitions = []
    if rebuild:
        cursor.execute("""SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
                          WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary""", [tables])
        definitions = cursor.fetchall()
        for name, _ in definitions:
            cursor.execute(f"DROP INDEX {name}")
    yield
    if definitions:
        cursor.execute(f"SET maintenance_work_mem = '{vector_index.IVFFLAT_BUILD_MEMORY}'")
        for _, definition in definitions:
            cursor.execute(definition)
        cursor.execute("RESET maintenance_work_mem")


def add_copies(sources: dict, count: int, rng: np.random.Generator, *, active: bool | None = None) -> tuple:
    """``count`` new products, each a copy of a random source (row, keyword document and postings) with a
    derived vector, written set-based; (ids, vectors, source rows, seconds per step)."""
    picks = rng.integers(len(sources["ids"]), size=count)
    seconds = {}
    columns = [f.column for f in Product._meta.concrete_fields if f.column not in {"id", "slug", "active"}]
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT pg_get_serial_sequence('{PRODUCTS_TABLE}', 'id')")
        sequence = cursor.fetchone()[0]
        cursor.execute("SELECT nextval(%s)", [sequence])
        first = cursor.fetchone()[0]
        cursor.execute("SELECT setval(%s, %s)", [sequence, first + count])
        ids = np.arange(first, first + count, dtype=np.int64)
        cursor.execute("DROP TABLE IF EXISTS bench_copy")
        cursor.execute("CREATE UNLOGGED TABLE bench_copy (product_id bigint PRIMARY KEY, source_id bigint)")
        cursor.execute("INSERT INTO bench_copy SELECT * FROM unnest(%s::bigint[], %s::bigint[])",
                       [ids.tolist(), sources["ids"][picks].tolist()])
        cursor.execute(
            f"""INSERT INTO {PRODUCTS_TABLE} (id, slug, active, {", ".join(columns)})
                SELECT c.product_id, s.slug || '-' || c.product_id, {'true' if active else 's.active'},
                       {", ".join(f"s.{column}" for column in columns)}
                FROM bench_copy c JOIN {PRODUCTS_TABLE} s ON s.id = c.source_id""")
        seconds["products_s"] = time.perf_counter() - started
        started = time.perf_counter()
        with indexes_rebuilt_after(cursor, [DOCUMENTS, POSTINGS], rebuild=count > BULK_LOAD_FROM):
            cursor.execute(f"""INSERT INTO {DOCUMENTS} (product_id, vector, length)
                               SELECT c.product_id, d.vector, d.length FROM bench_copy c
                               JOIN {DOCUMENTS} d ON d.product_id = c.source_id""")
            cursor.execute(f"""INSERT INTO {POSTINGS} (term, product_id, frequency, document_length, impact)
                               SELECT p.term, c.product_id, p.frequency, p.document_length, p.impact
                               FROM bench_copy c JOIN {POSTINGS} p ON p.product_id = c.source_id""")
        seconds["keyword_documents_s"] = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_copy")
    return ids, picks, seconds


def load_vectors(ids: np.ndarray, picks: np.ndarray, sources: dict, rng: np.random.Generator) -> np.ndarray:
    """Derived vectors for new products, written by binary COPY a batch at a time."""
    version, now = embeddings.model_version(), timezone.now()
    vectors = np.empty((len(ids), EMBEDDING_DIMENSIONS), dtype=np.float32)
    for start in range(0, len(ids), LOAD_BATCH):
        batch = slice(start, start + LOAD_BATCH)
        vectors[batch] = derived_vectors(sources, picks[batch], rng)
        copy_rows(f"COPY {EMBEDDINGS} (product_id, embedding, text_hash, model_version, department_id, "
                  "updated_at) FROM STDIN (FORMAT BINARY)",
                  ["int8", "vector", "varchar", "varchar", "int8", "timestamptz"],
                  ((int(pid), vector, sources["hashes"][pick], version, int(sources["departments"][pick]), now)
                   for pid, vector, pick in zip(ids[batch], vectors[batch], picks[batch], strict=True)))
    return vectors


def grow_catalogue(sources: dict, rng: np.random.Generator) -> tuple[Catalogue, dict]:
    count = PRODUCTS - len(sources["ids"])
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX IF EXISTS product_embedding_hnsw")  # not served at this size
    ids, picks, seconds = add_copies(sources, count, rng)
    logger.info("copied %s products and their keyword documents: %s", count, seconds)
    started = time.perf_counter()
    vectors = load_vectors(ids, picks, sources, rng)
    seconds["vectors_s"] = time.perf_counter() - started
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    seconds["analyze_s"] = time.perf_counter() - started
    started = time.perf_counter()
    logger.info("vectors loaded and analysed: %s", seconds)
    indexing.refresh_term_statistics()
    seconds["term_statistics_s"] = time.perf_counter() - started
    catalogue = Catalogue(sources["ids"], sources["vectors"], sources["departments"], sources["active"],
                          sources["prices"])
    catalogue.extend(ids, vectors, sources["departments"][picks], sources["active"][picks], sources["prices"][picks])
    return catalogue, {"products": len(catalogue.ids), **{k: round(v, 1) for k, v in seconds.items()}}


def _peak_memory(pid: int, stop: threading.Event, peak: dict) -> None:
    process = psutil.Process(pid)
    while not stop.wait(0.5):
        try:
            info = process.memory_full_info()
        except psutil.Error:
            return
        peak["rss"], peak["uss"] = max(peak["rss"], info.rss), max(peak["uss"], info.uss)


def build_index() -> dict:
    """The served IVFFlat indexes, through the project's own path: the catalogue's (its build time, size
    and memory), then each department's (built by a second call, timed per index)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    stop, peak = threading.Event(), {"rss": 0, "uss": 0}
    watcher = threading.Thread(target=_peak_memory, args=(pid, stop, peak))
    watcher.start()
    minimum = vector_index.DEPARTMENT_INDEX_MIN_PRODUCTS
    try:
        vector_index.DEPARTMENT_INDEX_MIN_PRODUCTS = 2**62  # the catalogue's index alone first
        lists, seconds = timed_ms(vector_index.refresh_vector_index)
        catalogue_peak = dict(peak)
        vector_index.DEPARTMENT_INDEX_MIN_PRODUCTS = minimum
        _, department_seconds = timed_ms(vector_index.refresh_vector_index)
    finally:
        vector_index.DEPARTMENT_INDEX_MIN_PRODUCTS = minimum
        stop.set()
        watcher.join()
    # Each department's index as the refresh recorded it (all built by the second call).
    builds = [{"index": f"{vector_index.DEPARTMENT_INDEX}{department}", **state}
              for department, state in sorted(SearchStatistics.objects.get(pk=1).department_indexes.items(),
                                              key=lambda item: int(item[0]))]
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL, coalesce(pg_relation_size(to_regclass(%s)), 0), "
                       "pg_relation_size(%s), pg_total_relation_size(%s)",
                       [vector_index.IVFFLAT_INDEX, vector_index.IVFFLAT_INDEX, EMBEDDINGS, EMBEDDINGS])
        exists, index_bytes, table_bytes, total_bytes = cursor.fetchone()
        sizes = {}
        for entry in builds:
            cursor.execute("SELECT coalesce(pg_relation_size(to_regclass(%s)), 0)", [entry["index"]])
            sizes[entry["index"]] = cursor.fetchone()[0]
    departments = [{"index": entry["index"], "lists": entry["lists"], "rows": entry["rows"],
                    "build_s": entry["build_s"], "index_mb": round(sizes[entry["index"]] / 2**20, 1)}
                   for entry in builds]
    return {"lists": lists, "probes": retrieval.ivfflat_probes(), "exists": exists,
            "build_s": round(seconds / 1000, 1), "index_mb": round(index_bytes / 2**20, 1),
            "table_mb": round(table_bytes / 2**20, 1), "table_with_indexes_mb": round(total_bytes / 2**20, 1),
            "maintenance_work_mem": vector_index.IVFFLAT_BUILD_MEMORY,
            "backend_peak_rss_mb": round(catalogue_peak["rss"] / 2**20),
            "backend_peak_uss_mb": round(catalogue_peak["uss"] / 2**20),
            "department_indexes": {"count": len(departments), "build_s": round(department_seconds / 1000, 1),
                                   "index_mb": round(sum(sizes.values()) / 2**20, 1),
                                   "backend_peak_rss_mb": round(peak["rss"] / 2**20),
                                   "backend_peak_uss_mb": round(peak["uss"] / 2**20), "each": departments}}


def served_recall(catalogue: Catalogue, vectors: np.ndarray, filters=retrieval.NO_FILTERS,
                  mask: np.ndarray | None = None) -> dict:
    """Recall@50 and latency of ``semantic_search`` as served, for each query vector."""
    mask = catalogue.active if mask is None else mask
    recalls, timings = [], []
    for vector in vectors:
        results, elapsed = timed_ms(retrieval.semantic_search, "", vector=vector, filters=filters, limit=50)
        timings.append(elapsed)
        recalls.append(catalogue.recall(catalogue.distances(vector), [pid for pid, _ in results], mask))
    return {"recall@50": round(statistics.mean(recalls), 4), "queries_below_0.8": sum(r < 0.8 for r in recalls),
            **timing.latency(timings)}


def wider_scans(catalogue: Catalogue, vectors: np.ndarray) -> list[dict]:
    """``semantic_search`` as if ``IVFFLAT_SCAN_ROWS`` were each of SCAN_ROWS (the cached index shape it
    reads its probes from, replaced for the measurement)."""
    lists, _ = retrieval.ivfflat_shape()
    rows = []
    for scanned in SCAN_ROWS:
        probes = min(lists, -(-scanned * lists // len(catalogue.ids)))
        cache.set(cache_key(VECTOR_INDEX_SHAPE_KEY), (lists, probes), retrieval.CORPUS_STATS_TTL)
        rows.append({"scan_rows": scanned, "probes": probes, **served_recall(catalogue, vectors)})
    cache.delete(cache_key(VECTOR_INDEX_SHAPE_KEY))
    return rows


@contextmanager
def first_plan(found: list):
    """EXPLAIN the first vector scan ``semantic_search`` runs inside the block (with the settings it set
    in its transaction) and append the indexes the plan reads to ``found``."""
    def explain(execute, sql, params, many, context):
        if not found and "ORDER BY" in sql and "embedding" in sql:
            raw = context["cursor"].cursor  # the driver's cursor: no wrapper recursion
            raw.execute("EXPLAIN " + sql, params)
            plan = "\n".join(row[0] for row in raw.fetchall())
            found.extend(sorted(set(re.findall(r"Index Scan using (\S+)", plan))) or ["(no index)"])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(explain):
        yield


def department_recall(catalogue: Catalogue, vectors: np.ndarray) -> list[dict]:
    """Each department's filtered search, alone and under a price bound at its median price."""
    rows = []
    for department in Category.objects.filter(parent=None).order_by("name"):
        mask = catalogue.active & (catalogue.departments == department.pk)
        median = float(np.median(catalogue.prices[mask]))
        for filters, kept in ((retrieval.Filters(category_id=department.pk), mask),
                              (retrieval.Filters(category_id=department.pk, max_price=median),
                               mask & (catalogue.prices <= median))):
            matches, active = retrieval.filter_matches(filters)
            plan, settings = retrieval.scan_plan(filters, 50)
            indexes = []
            with first_plan(indexes):
                measured = served_recall(catalogue, vectors, filters, kept)
            rows.append({"department": department.name, "max_price": filters.max_price,
                         "share": round(matches / active, 3), "plan": plan, "probes": settings.get("ivfflat.probes"),
                         "indexes_read": indexes, **measured,
                         # The same queries again: the pages the first pass read are in shared buffers now.
                         "second_pass": served_recall(catalogue, vectors, filters, kept)})
            logger.info("department %s", rows[-1])
    return rows


def churn(catalogue: Catalogue, rng: np.random.Generator, queries: list[str], vectors: np.ndarray,
          docs_per_s: float) -> dict:
    """1 % new products from held-out texts, upserted as ``index_products`` writes vectors, the IVFFlat
    lists left as they are; recall for the same queries and for queries from the new products."""
    held_out = source_arrays(held_out=True)
    count = round(len(catalogue.ids) * CHURN)
    ids, picks, seconds = add_copies(held_out, count, rng, active=True)
    new_vectors = derived_vectors(held_out, picks, rng)
    version = embeddings.model_version()
    started = time.perf_counter()
    for start in range(0, count, search.BATCH_SIZE):  # as index_products writes them
        batch = range(start, min(count, start + search.BATCH_SIZE))
        ProductEmbedding.objects.bulk_create(
            [ProductEmbedding(product_id=int(ids[i]), embedding=new_vectors[i],
                              text_hash=held_out["hashes"][picks[i]], model_version=version,
                              department_id=int(held_out["departments"][picks[i]])) for i in batch],
            update_conflicts=True, unique_fields=["product"],
            update_fields=["embedding", "text_hash", "model_version", "department_id", "updated_at"])
    upsert_s = time.perf_counter() - started
    catalogue.extend(ids, new_vectors, held_out["departments"][picks], np.ones(count, dtype=bool),
                     held_out["prices"][picks])
    built_at = SearchStatistics.objects.values_list("vector_index_built_at", flat=True)
    built = built_at.get(pk=1)
    _, refresh_ms = timed_ms(vector_index.refresh_vector_index)  # rebuilds only past IVFFLAT_DRIFT
    new_titles = list(Product.objects.filter(pk__in=ids[:QUERIES * 4].tolist()).values_list("title", flat=True))
    title_rng = random.Random(5)
    new_queries = []
    for title in title_rng.sample(new_titles, min(len(new_titles), QUERIES)):
        words = [w for w in title.lower().replace(",", "").split() if len(w) > 2]
        new_queries.append(" ".join(title_rng.sample(words, min(len(words), title_rng.choice([1, 2, 3])))))
    return {"products_added": count, "copy_products_s": round(seconds["products_s"], 1),
            "keyword_documents_s": round(seconds["keyword_documents_s"], 1),
            "vector_upsert_s": round(upsert_s, 1),
            "embed_estimate_s": round(count / docs_per_s, 1), "docs_per_s_measured": docs_per_s,
            "index_rebuilt": built_at.get(pk=1) != built,
            "refresh_check_s": round(refresh_ms / 1000, 2),  # the beat task's drift check, all indexes
            "after": served_recall(catalogue, vectors),
            "queries_for_new_products": served_recall(catalogue, embeddings.encode(new_queries))}


def api_profile(queries: list[str], top: int = 70) -> dict:
    """``PROFILE`` API requests (embedding uncached, result lists retired, as ``search.api_latency`` asks
    them) under cProfile and a statement timer: where a request's time goes."""
    client, profiler = Client(), cProfile.Profile()
    statements = defaultdict(lambda: [0, 0.0])

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            entry = statements[" ".join(sql.split())[:160]]
            entry[0] += 1
            entry[1] += (time.perf_counter() - started) * 1000

    # Queries the run has not asked yet: the measured ones have read their postings and lists already.
    asked = [query for query in search.sample_queries(len(queries) + 2 * PROFILE) if query not in queries][:PROFILE]
    timings = []
    with connection.execute_wrapper(timed):
        for query in asked:
            cache.delete(query_embedding_key(normalize_query(query)))
            bump_index_version()
            profiler.enable()
            _, elapsed = timed_ms(client.get, "/api/v1/search", {"q": query})
            profiler.disable()
            timings.append(elapsed)
    out, own = io.StringIO(), io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    pstats.Stats(profiler, stream=own).sort_stats("tottime").print_stats(top)
    slowest = sorted(statements.items(), key=lambda item: -item[1][1])[:top]
    return {"requests": len(asked), "profiled": timing.latency(timings, digits=1),
            "statements_per_request": round(sum(n for n, _ in statements.values()) / max(1, len(asked)), 1),
            "statements_ms_per_request": [{"sql": sql, "calls": n, "ms_per_request": round(ms / len(asked), 2)}
                                          for sql, (n, ms) in slowest],
            "cumulative": out.getvalue().splitlines(), "own_time": own.getvalue().splitlines()}


def api_only(database: str) -> dict:
    """The API's latency, stages and profile over a kept database (``BENCH_SCALE_DATABASE``)."""
    connection.close()
    connection.settings_dict["NAME"] = database
    queries = search.sample_queries(QUERIES)
    report = {"database": database, "products": Product.objects.count(), "queries": len(queries),
              "load_start": os.getloadavg(),
              "api_uncached_embedding": search.api_latency(queries, cached_embedding=False),
              "stages_median_ms": search.stage_timings(queries)}
    if PROFILE:
        report["api_profile"] = api_profile(queries)
    report["load_end"] = os.getloadavg()
    return report


def run() -> dict:
    if EXISTING:
        embeddings.warm_up()
        original = dict(connection.settings_dict)
        try:
            return api_only(EXISTING)
        finally:
            connection.close()
            connection.settings_dict.clear()
            connection.settings_dict.update(original)
            if DROP:
                drop_database(EXISTING)
    if SMOKE:  # small departments get their own index and read it, so every path runs
        vector_index.DEPARTMENT_INDEX_MIN_PRODUCTS, retrieval.EXACT_SEARCH_MAX_MATCHES = 500, 300
    encoder = embeddings.warm_up()
    rng = np.random.default_rng(3)
    with scratch_database(keep=KEEP) as database:  # the shop's tables are never touched
        sourced = seed_sources()
        catalogue, grown = grow_catalogue(source_arrays(held_out=False), rng)
        logger.info("catalogue grown: %s", grown)
        index = build_index()
        logger.info("index built: %s", index)
        queries = search.sample_queries(QUERIES)
        vectors = embeddings.encode(queries)
        served = served_recall(catalogue, vectors)
        report = {
            "encoder": encoder, "database": database, "sources": sourced, "catalogue": grown, "index": index,
            "queries": len(queries),
            "semantic": {"scan_rows": retrieval.IVFFLAT_SCAN_ROWS, "probes": retrieval.ivfflat_probes(), **served},
            "semantic_wider_scans": wider_scans(catalogue, vectors),
            "semantic_departments": department_recall(catalogue, vectors[:FILTERED_QUERIES]),
            "api_uncached_embedding": search.api_latency(queries, cached_embedding=False),
            "stages_median_ms": search.stage_timings(queries),
        }
        if PROFILE:
            report["api_profile"] = api_profile(queries)
        report["churn"] = churn(catalogue, rng, queries, vectors, sourced["docs_per_s"])
        return report
