"""Search at catalogue scale, in a scratch database (the demo shop is never touched).

    python -m bench search            # BENCH_SEARCH_PRODUCTS=100000 by default
    BENCH_SEARCH_DATABASE=name python -m bench search   # measure an already indexed database (2–3 only)

1. ``seed_demo --products N`` into a scratch database, then the real indexing pipeline: bulk
   embedding docs/s, keyword documents, and the build times of the HNSW index (dropped during the load
   and built once at the end, as a bulk re-index would) and of the IVFFlat index
   (``vector_index.refresh_vector_index``).
2. Recall@50 against exact (sequential) cosine search for 200 query vectors: of what
   ``retrieval.semantic_search`` serves (the IVFFlat index at this scale; exact search over active
   products, as it returns only those), and of the raw HNSW index at the ``hnsw.ef_search`` it is
   served with (100) and at pgvector's maximum (1000). A result counts when it is within (1 + 1e-3)
   of the exact 50th distance (ann-benchmarks' tolerance: the demo catalogue repeats texts).
   The same under shopper filters (``BENCH_SEARCH_FILTERED_QUERIES`` queries each, 40): every
   department, in stock and a 10–30 price band, against exact search over the filtered products.
3. ``GET /api/v1/search`` through Django's full request stack, single client: p50/p99 with the query
   embedding uncached (every query new to Redis) and cached (embedding cached, results recomputed).
"""

import os
import random
import statistics
import time

from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client

from ai import embeddings
from ai.common import scratch_database, vector_literal
from ai.search import caching, indexing, retrieval, serving, vector_index
from ai.search.models import ProductEmbedding
from bench import percentile, timing
from bench.timing import stage_medians, timed_ms
from commerce.catalogue.models import Category, Product

EMBEDDINGS, PRODUCTS_TABLE = ProductEmbedding._meta.db_table, Product._meta.db_table

PRODUCTS = int(os.environ.get("BENCH_SEARCH_PRODUCTS", "100000"))
QUERIES = int(os.environ.get("BENCH_SEARCH_QUERIES", "200"))
FILTERED_QUERIES = int(os.environ.get("BENCH_SEARCH_FILTERED_QUERIES", "40"))  # per filter
# Measured: larger batches stop paying off past ~512 texts with length-sorted int8 inference.
BATCH_SIZE = 512


def build_index() -> dict:
    ids = list(Product.objects.order_by("pk").values_list("pk", flat=True))
    paths = indexing.category_paths()
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX IF EXISTS product_embedding_hnsw")
    started = time.perf_counter()
    for start in range(0, len(ids), BATCH_SIZE):
        indexing.index_products(ids[start:start + BATCH_SIZE], paths=paths, force=True)
    embedding_seconds = time.perf_counter() - started
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute(f"CREATE INDEX product_embedding_hnsw ON {EMBEDDINGS} "
                       "USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)")
    hnsw_seconds = time.perf_counter() - started
    started = time.perf_counter()
    lists = vector_index.refresh_vector_index()
    ivfflat_seconds = time.perf_counter() - started
    started = time.perf_counter()
    indexing.refresh_term_statistics()
    return {"products": len(ids), "embed_and_keyword_index_s": round(embedding_seconds, 1),
            "docs_per_s": round(len(ids) / embedding_seconds, 1), "hnsw_build_s": round(hnsw_seconds, 1),
            "ivfflat_lists": lists, "ivfflat_build_s": round(ivfflat_seconds, 1),
            "term_statistics_s": round(time.perf_counter() - started, 1)}


def sample_queries(count: int) -> list[str]:
    """Shopper-like queries: one to three words from random product titles, plus a few paraphrases.
    Seeded, so runs on the same catalogue measure the same queries."""
    rng = random.Random(7)
    titles = list(Product.objects.order_by("pk").values_list("title", flat=True))
    titles = rng.sample(titles, min(len(titles), count * 2))
    queries = []
    for title in titles:
        words = [w for w in title.lower().replace(",", "").split() if len(w) > 2]
        rng.shuffle(words)
        queries.append(" ".join(words[: rng.choice([1, 2, 3])]))
    extras = ["something to brew coffee by hand", "gift for a gardener", "warm blanket for the sofa",
              "desk lamp for reading", "toys for a toddler"]
    return list(dict.fromkeys(queries + extras))[:count]


def _exact_50th_distance(cursor, literal: str, *, active_only: bool) -> float:
    """The exact 50th-nearest cosine distance (sequential scan): what a result must be within."""
    cursor.execute("BEGIN")
    cursor.execute("SET LOCAL enable_indexscan = off")
    cursor.execute(
        f"""SELECT e.embedding <=> %s::vector AS distance FROM {EMBEDDINGS} e
            {f"JOIN {PRODUCTS_TABLE} p ON p.id = e.product_id AND p.active" if active_only else ""}
            ORDER BY distance LIMIT 50""", [literal])
    distances = [row[0] for row in cursor.fetchall()]
    cursor.execute("COMMIT")
    return distances[-1] * 1.001


def _within(cursor, literal: str, product_ids: list[int], threshold: float) -> float:
    cursor.execute(f"SELECT count(*) FROM {EMBEDDINGS} WHERE product_id = ANY(%s) "
                   "AND embedding <=> %s::vector <= %s", [product_ids, literal, threshold])
    return cursor.fetchone()[0] / 50


def _summary(recalls: list[float], timings: list[float]) -> dict:
    return {"recall@50": round(statistics.mean(recalls), 4), "queries_below_0.5": sum(r < 0.5 for r in recalls),
            "top50_ms_p50": round(percentile(timings, 50), 2), "top50_ms_p99": round(percentile(timings, 99), 2)}


def semantic_recall(queries: list[str]) -> dict:
    """Recall@50 and latency of ``semantic_search`` (what shoppers get) and of the raw HNSW index."""
    vectors = embeddings.encode(queries)
    served = {"recalls": [], "ms": []}
    hnsw = {ef: {"recalls": [], "ms": []} for ef in (100, 1000)}
    exact_ms = []
    with connection.cursor() as cursor:
        for vector in vectors:
            literal = vector_literal(vector)
            results, elapsed = timed_ms(retrieval.semantic_search, "", vector=vector, limit=50)
            served["ms"].append(elapsed)
            threshold = _exact_50th_distance(cursor, literal, active_only=True)
            served["recalls"].append(_within(cursor, literal, [pid for pid, _ in results], threshold))
            threshold, elapsed = timed_ms(_exact_50th_distance, cursor, literal, active_only=False)
            exact_ms.append(elapsed)
            for ef, measured in hnsw.items():
                cursor.execute("BEGIN")
                cursor.execute("SELECT set_config('hnsw.ef_search', %s, true)", [str(ef)])
                started = time.perf_counter()
                cursor.execute(f"SELECT product_id FROM {EMBEDDINGS} ORDER BY embedding <=> %s::vector "
                               "LIMIT 50", [literal])
                found = [row[0] for row in cursor.fetchall()]
                measured["ms"].append((time.perf_counter() - started) * 1000)
                cursor.execute("COMMIT")
                measured["recalls"].append(_within(cursor, literal, found, threshold))
    return {"served": {"index": "ivfflat" if retrieval.ivfflat_probes() else "hnsw",
                       "ivfflat_probes": retrieval.ivfflat_probes(), **_summary(served["recalls"], served["ms"])},
            "hnsw": [{"ef_search": ef, **_summary(m["recalls"], m["ms"])} for ef, m in hnsw.items()],
            "exact_top50_ms_p50": round(percentile(exact_ms, 50), 2)}


def filtered_recall(queries: list[str]) -> list[dict]:
    """Recall@50 and latency of ``semantic_search`` under shopper filters: each department (a narrow
    share of the catalogue: an exact search or more probes), in stock and a price band (broad)."""
    vectors = embeddings.encode(queries[:FILTERED_QUERIES])
    cases = [(f"department: {c.name}", retrieval.Filters(category_id=c.pk))
             for c in Category.objects.filter(parent=None).order_by("name")]
    cases += [("in stock", retrieval.Filters(in_stock=True)),
              ("price 10-30", retrieval.Filters(min_price=10, max_price=30))]
    rows = []
    with connection.cursor() as cursor:
        for label, filters in cases:
            matches, active = retrieval.filter_matches(filters)
            where, params = filters.sql()
            recalls, timings = [], []
            for vector in vectors:
                literal = vector_literal(vector)
                results, elapsed = timed_ms(retrieval.semantic_search, "", vector=vector, filters=filters, limit=50)
                timings.append(elapsed)
                cursor.execute("BEGIN")
                cursor.execute("SET LOCAL enable_indexscan = off")
                cursor.execute(f"""SELECT e.embedding <=> %s::vector AS distance FROM {EMBEDDINGS} e
                                   JOIN {PRODUCTS_TABLE} p ON p.id = e.product_id WHERE {where}
                                   ORDER BY distance LIMIT 50""", [literal, *params])
                threshold = cursor.fetchall()[-1][0] * 1.001
                cursor.execute("COMMIT")
                recalls.append(_within(cursor, literal, [pid for pid, _ in results], threshold))
            rows.append({"filter": label, "share": round(matches / active, 3),
                         "exact": retrieval.scan_plan(filters, 50)[0] == "exact", **_summary(recalls, timings)})
    return rows


def api_latency(queries: list[str], *, cached_embedding: bool) -> dict:
    client = Client()
    client.get("/api/v1/search", {"q": "warm up"})
    timings = []
    for query in queries:
        normalized = retrieval.normalize_query(query)
        if cached_embedding:
            retrieval.query_embedding(normalized)  # only the embedding is cached
        else:
            cache.delete(retrieval.query_embedding_key(normalized))
        caching.bump_index_version()  # and never the result list
        response, elapsed = timed_ms(client.get, "/api/v1/search", {"q": query})
        timings.append(elapsed)
        assert response.status_code == 200, response.content
    return timing.latency(timings, digits=1)


def stage_timings(queries: list[str]) -> dict:
    """Median milliseconds of each step of a search, to see where the API's time goes."""
    return stage_medians({"encode_query": embeddings.encode_query, "keyword_search": retrieval.keyword_search,
                          "semantic_search": retrieval.semantic_search, "hybrid_rank": serving.hybrid_rank},
                         [retrieval.normalize_query(query) for query in queries])


def measure() -> dict:
    queries = sample_queries(QUERIES)
    return {
        "semantic": semantic_recall(queries),
        "semantic_filtered": filtered_recall(queries),
        "api_uncached_embedding": api_latency(queries, cached_embedding=False),
        "api_cached_embedding": api_latency(queries, cached_embedding=True),
        "stages_median_ms": stage_timings(queries),
        "queries": len(queries),
    }


def run() -> dict:
    encoder = embeddings.warm_up()
    if existing := os.environ.get("BENCH_SEARCH_DATABASE"):
        connection.close()
        connection.settings_dict["NAME"] = existing
        return {"encoder": encoder, "database": existing, "products": Product.objects.count(), **measure()}
    with scratch_database():  # dropped afterwards: the shop's tables are never touched
        started = time.perf_counter()
        call_command("seed_demo", products=PRODUCTS, customers=0, verbosity=0)
        seeded = time.perf_counter() - started
        return {"encoder": encoder, "seed_s": round(seeded, 1), "index": build_index(), **measure()}
