"""Hybrid product search: BM25 over PostgreSQL postings + pgvector semantic search (HNSW for small
catalogues, IVFFlat at scale), fused by weighted reciprocal rank, boosted by the shopper's preferred
categories.

Indexing (``index_products``) runs in Celery tasks and management commands, never in a request.
Querying reads the index tables, a cached query embedding and cached corpus statistics.
"""

import datetime
import hashlib
import logging
import math
import re
from dataclasses import dataclass, field

import numpy as np
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from ai import embeddings
from ai.common import vector_literal
from ai.search.models import EMBEDDING_DIMENSIONS, ProductEmbedding, SearchQuery, SearchStatistics
from commerce.catalogue.models import Category, PriceList, Product
from commerce.events.services import preferred_categories, record

logger = logging.getLogger(__name__)

CANDIDATES = 50  # per retriever; ef_search must stay ≥ this or HNSW returns fewer rows
MAX_QUERY_LENGTH = 512
QUERY_EMBEDDING_TTL = 3600
ANONYMOUS_RESULTS_TTL = 300
CURATED_RESULTS_TTL = 3600  # a fixed query's results change only with the index (its version is in the key)
CORPUS_STATS_TTL = 600


def cache_key(name: str) -> str:
    """Cache keys of index-derived data carry the database name: a scratch evaluation database and
    the shop share Redis, never each other's statistics or results."""
    return f"search:{connection.settings_dict['NAME']}:{name}"


@dataclass(frozen=True)
class Filters:
    category_id: int | None = None
    min_price: float | None = None
    max_price: float | None = None
    in_stock: bool = False
    price_list: str = PriceList.CURRENT  # which price the bounds apply to: the one the shopper pays

    def __post_init__(self):
        if self.min_price is None and self.max_price is None:  # no bounds: the same filter for every list
            object.__setattr__(self, "price_list", PriceList.CURRENT)

    def sql(self) -> tuple[str, list]:
        """A WHERE fragment over ``p`` (catalogue_product) and its parameters."""
        clauses, params = ["p.active"], []
        if self.category_id:
            clauses.append("p.category_id = ANY(%s)")
            params.append(Category.objects.get(pk=self.category_id).descendant_ids())
        price = "p.base_price" if self.price_list == PriceList.BASE else "p.price"
        if self.min_price is not None:
            clauses.append(f"{price} >= %s")
            params.append(self.min_price)
        if self.max_price is not None:
            clauses.append(f"{price} <= %s")
            params.append(self.max_price)
        if self.in_stock:
            clauses.append("p.stock > 0")
        return " AND ".join(clauses), params

    @property
    def is_empty(self) -> bool:
        return self == Filters()


@dataclass
class SearchResults:
    query: str
    product_ids: list[int]
    scores: list[float]
    method: str
    corrected_terms: dict[str, str] = field(default_factory=dict)
    query_log_id: int | None = None


def normalize_query(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


# --- indexing -------------------------------------------------------------------------------------


def category_paths() -> dict[int, str]:
    categories = {c.pk: c for c in Category.objects.all()}
    paths = {}
    for pk, category in categories.items():
        names, node, seen = [], category, set()
        while node is not None and node.pk not in seen:
            seen.add(node.pk)
            names.append(node.name)
            node = categories.get(node.parent_id)
        paths[pk] = " > ".join(reversed(names))
    return paths


def text_hash(text: str) -> str:
    return hashlib.sha256(f"{embeddings.model_version()}\n{text}".encode()).hexdigest()


def index_products(product_ids: list[int], *, force: bool = False, paths: dict[int, str] | None = None) -> int:
    """(Re-)index products whose text changed since they were last embedded. Returns how many were.

    Safe to run twice or concurrently for the same products: writes are upserts keyed by product.
    """
    products = list(Product.objects.filter(pk__in=product_ids).only(
        "pk", "title", "description", "category_id", "attributes"))
    paths = paths or category_paths()
    texts = {p.pk: embeddings.product_text(p.title, p.description, paths.get(p.category_id, ""), p.attributes or {})
             for p in products}
    hashes = {pk: text_hash(text) for pk, text in texts.items()}
    if not force:
        stored = dict(ProductEmbedding.objects.filter(pk__in=hashes).values_list("product_id", "text_hash"))
        hashes = {pk: h for pk, h in hashes.items() if stored.get(pk) != h}
    if not hashes:
        return 0
    changed = [p for p in products if p.pk in hashes]
    vectors = embeddings.encode([texts[p.pk] for p in changed])
    version = embeddings.model_version()
    with transaction.atomic():
        ProductEmbedding.objects.bulk_create(
            [ProductEmbedding(product_id=p.pk, embedding=vector, text_hash=hashes[p.pk], model_version=version)
             for p, vector in zip(changed, vectors, strict=True)],
            update_conflicts=True, unique_fields=["product"],
            update_fields=["embedding", "text_hash", "model_version", "updated_at"],
        )
        _write_keyword_documents(changed, paths)
    _bump_index_version()
    return len(changed)


FIELD_WEIGHTS = {"A": 3.0, "B": 2.0, "C": 1.0}  # title, category path, attributes + description
_WEIGHT_CASE = "CASE w " + " ".join(f"WHEN '{w}' THEN {v}" for w, v in FIELD_WEIGHTS.items()) + " END"
BM25_K1, BM25_B = 1.2, 0.75


def _impact_sql(length_column: str) -> str:
    """A posting's BM25 term weight from its ``frequency`` and a length column; one %s: the average length."""
    return f"frequency * {BM25_K1 + 1} / (frequency + {BM25_K1} * (1 - {BM25_B} + {BM25_B} * {length_column} / %s))"


# Impacts are recomputed (one UPDATE of every posting) only when the average length moves this much.
IMPACT_DRIFT = 0.02
# Measured (bench/search.py, 100k products): ... per query term read in impact order.
POSTINGS_PER_TERM = 10_000


def _write_keyword_documents(products: list[Product], paths: dict[int, str]) -> None:
    ids = [p.pk for p in products]
    titles = [p.title for p in products]
    categories = [paths.get(p.category_id, "") for p in products]
    rest = [" ".join(f"{k} {v}" for k, v in (p.attributes or {}).items()) + " " + (p.description or "")
            for p in products]
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO search_searchdocument (product_id, vector, length)
               SELECT id, setweight(to_tsvector('english', title), 'A')
                          || setweight(to_tsvector('english', category), 'B')
                          || setweight(to_tsvector('english', rest), 'C'), 0
               FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[]) AS src(id, title, category, rest)
               ON CONFLICT (product_id) DO UPDATE SET vector = EXCLUDED.vector""",
            [ids, titles, categories, rest],
        )
        cursor.execute("DELETE FROM search_searchposting WHERE product_id = ANY(%s)", [ids])
        cursor.execute(
            f"""INSERT INTO search_searchposting (term, product_id, frequency, document_length, impact)
                SELECT term, product_id, frequency, length, {_impact_sql("length")}
                FROM (SELECT term, product_id, frequency, sum(frequency) OVER (PARTITION BY product_id) AS length
                      FROM (SELECT left(u.lexeme, 100) AS term, d.product_id, sum({_WEIGHT_CASE}) AS frequency
                            FROM search_searchdocument d, unnest(d.vector) AS u, unnest(u.weights) AS w
                            WHERE d.product_id = ANY(%s)
                            GROUP BY 1, 2) AS counted) AS postings""",
            [_impact_average_length(cursor, ids), ids],
        )
        cursor.execute(
            """UPDATE search_searchdocument d SET length = s.total
               FROM (SELECT product_id, sum(frequency) AS total FROM search_searchposting
                     WHERE product_id = ANY(%s) GROUP BY product_id) s
               WHERE d.product_id = s.product_id""",
            [ids],
        )


def _impact_average_length(cursor, ids: list[int]) -> float:
    """The average document length impacts are computed with: the corpus's, as of the last statistics
    refresh; before the first one, this batch's own (the refresh then recomputes every impact)."""
    stats = SearchStatistics.objects.filter(impact_average_length__gt=0).first()
    if stats:
        return stats.impact_average_length
    cursor.execute(
        f"""SELECT coalesce(avg(length), 1) FROM (
                SELECT sum({_WEIGHT_CASE}) AS length FROM search_searchdocument d, unnest(d.vector) AS u,
                       unnest(u.weights) AS w WHERE d.product_id = ANY(%s) GROUP BY d.product_id) AS lengths""",
        [ids],
    )
    return float(cursor.fetchone()[0]) or 1.0


def refresh_term_statistics() -> int:
    """Rebuild document frequencies (idf, typo vocabulary) and the corpus figures from the postings;
    recompute every posting's impact if the average document length drifted by more than
    ``IMPACT_DRIFT`` since they were computed. Returns the vocabulary size."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE search_searchterm")
        cursor.execute(
            """INSERT INTO search_searchterm (term, document_count)
               SELECT term, count(*) FROM search_searchposting GROUP BY term"""
        )
        vocabulary = cursor.rowcount
        cursor.execute("SELECT count(*), coalesce(avg(length), 0) FROM search_searchdocument")
        documents, average = cursor.fetchone()
        stats, _ = SearchStatistics.objects.select_for_update().get_or_create(pk=1)
        previous = stats.impact_average_length
        if average and (not previous or abs(average - previous) / previous > IMPACT_DRIFT):
            cursor.execute(f"UPDATE search_searchposting SET impact = {_impact_sql('document_length')}", [average])
            stats.impact_average_length = average
        stats.documents, stats.average_length, stats.refreshed_at = documents, average, timezone.now()
        stats.save()
    cache.delete(cache_key("corpus-stats"))
    _bump_index_version()
    return vocabulary


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
# Vectors scanned per query (probes × rows per list). Measured at 100k products, 2,000 lists, recall@50
# over three k-means builds and two query sets / semantic_search p50 (load ≈ 2.3, 2 cores): 6,000 →
# 0.975–0.984 / 5.8 ms; 8,000 → 0.979–0.987 / 6.1–7.8 ms; 10,000 → 0.985–0.991 / 7.8–8.5 ms (HNSW
# 2.3 ms). Fixed, so latency stays flat as the catalogue grows past 100k and recall falls (not measured).
IVFFLAT_SCAN_ROWS = 8_000
# A filtered query's iterative scan stops at the first ``limit`` matches in the lists nearest the query,
# so a filter keeping a small share of the catalogue (a department) misses matches in further lists.
# Probes grow as the share shrinks, up to this factor. Measured at 100k products, department filters of
# 7.5–15 % (docs/benchmarks.md): recall@50 0.65–0.80 at 1× → 0.92–0.97 at 4× (p50 19–35 → 28–42 ms).
FILTERED_PROBES_MAX_FACTOR = 4
# A filter this narrow is searched exactly: every match scored, no index (≈ 4 µs a match at 100k, so
# ≈ 30 ms at the limit, where 4× probes give recall 0.92 in 55 ms).
EXACT_SEARCH_MAX_MATCHES = 8_000
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
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), count(*) FILTER (WHERE updated_at > %s) FROM search_productembedding",
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
                    f"""CREATE INDEX CONCURRENTLY {IVFFLAT_INDEX}_new ON search_productembedding
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
    cache.delete(cache_key("vector-index-shape"))
    return lists


def ivfflat_shape() -> tuple[int, int]:
    """(lists, probes that scan ``IVFFLAT_SCAN_ROWS`` vectors) of the IVFFlat index; (0, 0) without one."""
    shape = cache.get(cache_key("vector-index-shape"))
    if shape is None:
        stats = SearchStatistics.objects.filter(pk=1).values("vector_index_lists", "vector_index_rows").first()
        lists, rows = (stats["vector_index_lists"], stats["vector_index_rows"]) if stats else (0, 0)
        shape = (lists, min(lists, math.ceil(IVFFLAT_SCAN_ROWS * lists / rows)) if lists else 0)
        cache.set(cache_key("vector-index-shape"), shape, CORPUS_STATS_TTL)
    return tuple(shape)


def ivfflat_probes() -> int:
    """Probes that scan ``IVFFLAT_SCAN_ROWS`` vectors of the IVFFlat index; 0 when there is none."""
    return ivfflat_shape()[1]


def filter_matches(filters: Filters) -> tuple[int, int]:
    """(products that pass ``filters``, active products), cached with the corpus statistics."""
    key = cache_key(f"filter-matches:{hashlib.sha1(repr(filters).encode()).hexdigest()}")
    counts = cache.get(key)
    if counts is None:
        where, params = filters.sql()
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FILTER (WHERE {where}), count(*) FROM catalogue_product p "
                           "WHERE p.active", params)
            counts = cursor.fetchone()
        cache.set(key, counts, CORPUS_STATS_TTL)
    return tuple(counts)


def _bump_index_version() -> None:
    """Cached result lists include this version, so any re-index retires them all at once."""
    try:
        cache.incr(cache_key("index-version"))
    except ValueError:
        cache.set(cache_key("index-version"), 1, None)


def unindexed_products() -> QuerySet[Product]:
    """Active products with no embedding yet (the resumable part of a bulk re-index)."""
    return Product.objects.filter(active=True).exclude(pk__in=ProductEmbedding.objects.values("product_id"))


def products_needing_index(limit: int | None = None) -> list[int]:
    ids = unindexed_products().order_by("pk").values_list("pk", flat=True)
    return list(ids[:limit] if limit else ids)


# --- retrieval ------------------------------------------------------------------------------------

TYPO_CANDIDATE_SIMILARITY = 0.2


def _corpus_stats() -> tuple[int, float]:
    stats = cache.get(cache_key("corpus-stats"))
    if stats is None:
        stored = SearchStatistics.objects.filter(documents__gt=0).first()
        if stored:
            stats = (stored.documents, stored.average_length or 1.0)
        else:  # indexed but never refreshed (the beat task runs every 10 minutes)
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*), coalesce(avg(length), 1) FROM search_searchdocument")
                count, average = cursor.fetchone()
            stats = (max(count, 1), float(average) or 1.0)
        cache.set(cache_key("corpus-stats"), stats, CORPUS_STATS_TTL)
    return stats


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps."""
    previous2, previous = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if previous2 is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def _correct(cursor, term: str) -> str | None:
    """The indexed term a misspelt one most likely meant: trigram candidates, then the smallest edit
    distance (1 for short words, 2 from 6 letters), then the commonest."""
    cursor.execute("SET LOCAL pg_trgm.similarity_threshold = %s", [TYPO_CANDIDATE_SIMILARITY])
    cursor.execute(
        "SELECT term, document_count FROM search_searchterm WHERE term %% %s "
        "ORDER BY similarity(term, %s) DESC LIMIT 30",
        [term, term],
    )
    allowed = 1 if len(term) < 6 else 2
    scored = [(edit_distance(term, candidate), -count, candidate) for candidate, count in cursor.fetchall()]
    scored = [entry for entry in scored if entry[0] <= allowed]
    return min(scored)[2] if scored else None


def query_terms(query: str) -> tuple[list[str], dict[str, str]]:
    """The query's stemmed terms, with unknown ones replaced by the closest indexed term (typos).

    Returns (terms, {typed term: corrected term})."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT lexeme FROM unnest(to_tsvector('english', %s))", [query])
        terms = [row[0] for row in cursor.fetchall()]
        if not terms:
            return [], {}
        # One index probe per term (not every posting of a common term).
        cursor.execute("SELECT t FROM unnest(%s::text[]) AS t WHERE EXISTS "
                       "(SELECT 1 FROM search_searchposting WHERE term = t)", [terms])
        known = {row[0] for row in cursor.fetchall()}
        corrections = {}
        for term in terms:
            if term not in known and len(term) >= 4 and (corrected := _correct(cursor, term)):
                corrections[term] = corrected
    return [corrections.get(t, t) for t in terms], corrections


def keyword_search(query: str, *, filters: Filters = Filters(), limit: int = CANDIDATES
                   ) -> tuple[list[tuple[int, float]], dict[str, str]]:
    """BM25 (OR semantics: any query term matches) over field-weighted, impact-ordered postings.

    score(d) = Σ idf(t) × impact(t, d). Without shopper filters only each term's
    ``POSTINGS_PER_TERM`` strongest postings are read (top-k by impact: a product below that for a
    broad, low-idf term loses at most idf × the k-th impact), so a query costs the same whatever its
    terms' document frequencies; the product table is joined afterwards for the few inactive ones.
    With filters every posting is read, since the filters may exclude the strongest ones."""
    terms, corrections = query_terms(query)
    if not terms:
        return [], corrections
    documents, _ = _corpus_stats()
    where, params = filters.sql()
    per_term, shortlist = (POSTINGS_PER_TERM, limit * 4) if filters.is_empty else (None, None)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH q AS (SELECT t.term,
                                  ln(1 + (%s - df + 0.5) / (df + 0.5)) AS idf
                           FROM (SELECT t.term, greatest(coalesce(s.document_count, 1), 1)::float8 AS df
                                 FROM unnest(%s::text[]) AS t(term)
                                 LEFT JOIN search_searchterm s ON s.term = t.term) AS t),
                scored AS (
                    SELECT sp.product_id, sum(q.idf * sp.impact) AS score
                    FROM q CROSS JOIN LATERAL (
                        SELECT product_id, impact FROM search_searchposting
                        WHERE term = q.term ORDER BY impact DESC LIMIT %s) AS sp
                    GROUP BY sp.product_id ORDER BY score DESC LIMIT %s)
                SELECT s.product_id, s.score FROM scored s JOIN catalogue_product p ON p.id = s.product_id
                WHERE {where}
                ORDER BY s.score DESC, s.product_id LIMIT %s""",
            [float(documents), terms, per_term, shortlist, *params, limit],
        )
        return [(pid, float(score)) for pid, score in cursor.fetchall()], corrections


def query_embedding_key(query: str) -> str:
    return "search:qemb:" + hashlib.sha1(f"{embeddings.model_version()}\n{query}".encode()).hexdigest()


def query_embedding(query: str) -> np.ndarray:
    """The query's vector, cached in Redis for an hour (popular queries skip the encoder)."""
    key = query_embedding_key(query)
    cached = cache.get(key)
    if cached is not None:
        return np.frombuffer(cached, dtype=np.float32)
    vector = embeddings.encode_query(query).astype(np.float32)
    cache.set(key, vector.tobytes(), QUERY_EMBEDDING_TTL)
    return vector


def semantic_search(query: str, *, filters: Filters = Filters(), limit: int = CANDIDATES,
                    vector: np.ndarray | None = None) -> list[tuple[int, float]]:
    """Nearest products by cosine distance: from the IVFFlat index over half-precision vectors when the
    catalogue has one (``refresh_vector_index``), else from the HNSW index. Either index yields the
    candidates; they are ranked by full-precision distance. With filters the index scan is iterative
    (pgvector reads on until enough candidates pass them), so filtered result lists stay full, and it
    probes more lists the fewer products pass; a filter passing at most ``EXACT_SEARCH_MAX_MATCHES`` is
    searched exactly."""
    literal = vector_literal(query_embedding(query) if vector is None else vector)
    where, params = filters.sql()
    matches, active = filter_matches(filters) if not filters.is_empty else (None, None)
    lists, probes = ivfflat_shape()
    if matches is not None and matches <= EXACT_SEARCH_MAX_MATCHES:
        # "+ 0": an expression no index serves, so PostgreSQL filters first and scores every match.
        index, distance, settings = None, "(e.embedding <=> %s::vector) + 0", {}
    elif probes:
        index, distance = "ivfflat", f"e.embedding::halfvec({EMBEDDING_DIMENSIONS}) <=> %s::halfvec"
        if matches is not None:
            factor = min(FILTERED_PROBES_MAX_FACTOR, active / max(matches, 1))
            probes = min(lists, math.ceil(probes * factor))
        settings = {"ivfflat.probes": probes}
    else:
        index, distance = "hnsw", "e.embedding <=> %s::vector"
        settings = {"hnsw.ef_search": max(100, limit * 2)}  # ≥ the rows asked for, or HNSW returns fewer
    if index and not filters.is_empty:
        settings[f"{index}.iterative_scan"] = "relaxed_order"  # order is restored by the outer ORDER BY
    with transaction.atomic(), connection.cursor() as cursor:
        for name, value in settings.items():
            cursor.execute("SELECT set_config(%s, %s, true)", [name, str(value)])
        if filters.is_empty:
            # The index scan runs on the embeddings alone (a join can tempt the planner into an exact
            # scan); the few inactive products are dropped from a shortlist afterwards.
            cursor.execute(
                f"""SELECT e.product_id, 1 - (e.embedding <=> %s::vector) AS similarity FROM (
                        SELECT product_id, embedding FROM search_productembedding e
                        ORDER BY {distance} LIMIT %s) e
                    JOIN catalogue_product p ON p.id = e.product_id
                    WHERE {where} ORDER BY similarity DESC LIMIT %s""",
                [literal, literal, limit * 2, *params, limit],
            )
        else:
            cursor.execute(
                f"""SELECT product_id, 1 - (embedding <=> %s::vector) AS similarity FROM (
                        SELECT e.product_id, e.embedding
                        FROM search_productembedding e JOIN catalogue_product p ON p.id = e.product_id
                        WHERE {where} ORDER BY {distance} LIMIT %s) e
                    ORDER BY similarity DESC""",
                [literal, *params, literal, limit],
            )
        return [(pid, float(similarity)) for pid, similarity in cursor.fetchall()]


def reciprocal_rank_fusion(rankings: list[list[int]], *, k: int = 60,
                           weights: list[float] | None = None) -> list[tuple[int, float]]:
    """Fuse ranked id lists: score(d) = Σ weight_i / (k + rank_i(d)), ranks from 1. Best first."""
    weights = weights or [1.0] * len(rankings)
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, product_id in enumerate(ranking, start=1):
            scores[product_id] = scores.get(product_id, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


# --- what shoppers get ----------------------------------------------------------------------------

# Tuned on the development set (docs/search.md, `manage.py build_search_devset`). How much the keyword
# list is trusted depends on how well its best result covers the query (``keyword_confidence``):
# - confident (most shoppers' queries: product words, attributes, corrected typos): BM25's order with
#   the semantic list as a light tie-breaker. Equal weights here make results worse than BM25 alone,
#   on the development set and on real product-search data;
# - unsure (no or partial keyword match: paraphrases, needs, words the catalogue does not use): the
#   semantic list leads and keyword matches only nudge it.
KEYWORD_CONFIDENCE = 0.6  # share of the query's BM25 weight the best keyword result must reach
FUSION_WEIGHTS = {"keyword": 1.0, "semantic": 0.2}  # keyword confident
UNSURE_FUSION_WEIGHTS = {"keyword": 0.25, "semantic": 1.0}  # keyword unsure
RRF_K = 20  # a smaller k than the usual 60 lets the light semantic weight reorder only near-ties at the top
PREFERENCE_BOOST = 0.3  # a result in the shopper's favourite category scores up to 30% higher


def personalise(ranked: list[tuple[int, float]], preferences: list[tuple[int, float]]
                ) -> list[tuple[int, float]]:
    """Re-rank by the shopper's preferred categories: score × (1 + boost × category's share of interest)."""
    if not preferences or not ranked:
        return ranked
    total = sum(weight for _, weight in preferences)
    share = {category_id: weight / total for category_id, weight in preferences}
    categories = dict(Product.objects.filter(pk__in=[pid for pid, _ in ranked]).values_list("pk", "category_id"))
    boosted = [(pid, score * (1 + PREFERENCE_BOOST * share.get(categories.get(pid), 0.0))) for pid, score in ranked]
    return sorted(boosted, key=lambda item: (-item[1], item[0]))


def keyword_confidence(query: str, keyword: list[tuple[int, float]], corrections: dict[str, str]) -> float:
    """How well the best keyword result covers the query, 0–1: its BM25 score over the score of a
    document of average length with every query term once in its title (Σ idf × w(k1+1)/(w+k1), w the
    title weight). A term no product has counts against it (it matches nothing), so paraphrases and
    words the catalogue does not use score low, while product words and corrected typos score ≈ 1."""
    if not keyword:
        return 0.0
    documents, _ = _corpus_stats()
    typed, fixed = list(corrections), list(corrections.values())
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT coalesce(s.document_count, 0)
               FROM (SELECT DISTINCT coalesce(c.fixed, t.lexeme) AS term
                     FROM unnest(to_tsvector('english', %s)) AS t
                     LEFT JOIN unnest(%s::text[], %s::text[]) AS c(typed, fixed) ON c.typed = t.lexeme) q
               LEFT JOIN search_searchterm s ON s.term = q.term""",
            [query, typed, fixed],
        )
        counts = [row[0] for row in cursor.fetchall()]
    if not counts:
        return 0.0
    title = FIELD_WEIGHTS["A"]
    per_term = title * (BM25_K1 + 1) / (title + BM25_K1)
    ideal = sum(np.log(1 + (documents - max(df, 1) + 0.5) / (max(df, 1) + 0.5)) for df in counts) * per_term
    return float(min(1.0, keyword[0][1] / ideal)) if ideal > 0 else 0.0


def hybrid_rank(query: str, *, filters: Filters = Filters(), limit: int = 24
                ) -> tuple[list[tuple[int, float]], dict[str, str], str]:
    """Keyword and semantic candidates fused by weighted RRF, weighted by the keyword list's confidence
    (``KEYWORD_CONFIDENCE``). If the encoder fails, keyword only."""
    keyword, corrections = keyword_search(query, filters=filters)
    try:
        semantic = semantic_search(query, filters=filters)
    except Exception:  # the page must render: degrade to keyword search and say so in the logs
        logger.exception("semantic search failed; serving keyword results for %r", query)
        return keyword[:limit], corrections, "keyword"
    confident = keyword_confidence(query, keyword, corrections) >= KEYWORD_CONFIDENCE
    weights = FUSION_WEIGHTS if confident else UNSURE_FUSION_WEIGHTS
    fused = reciprocal_rank_fusion(
        [[pid for pid, _ in keyword], [pid for pid, _ in semantic]], k=RRF_K,
        weights=[weights["keyword"], weights["semantic"]],
    )
    return fused[:limit], corrections, "hybrid"


def search(query: str, *, customer_id: int | None = None, visitor_id=None, filters: Filters = Filters(),
           limit: int = 24, log: bool = True, keyword_only: bool = False,
           experiments: dict[str, str] | None = None) -> SearchResults:
    """What the search page and API serve: hybrid results, personalised for known customers,
    cached for anonymous shoppers, and logged. ``keyword_only`` and ``experiments`` come from a
    running search experiment (``ai.experiments.services.search_options``): keyword-only results are
    never cached, and the logged search event carries the variant."""
    query = normalize_query(query)[:MAX_QUERY_LENGTH]
    results_key = None
    if customer_id is None and not keyword_only:
        results_key = results_cache_key("results", query, filters, limit)
        cached = cache.get(results_key)
        if cached is not None:
            results = SearchResults(**cached)
            if log:
                results.query_log_id = _log(results, customer_id, visitor_id, experiments)
            return results
    if keyword_only:
        ranked, corrections = keyword_search(query, filters=filters)
        method = "keyword"
    else:
        ranked, corrections, method = hybrid_rank(query, filters=filters, limit=max(limit, CANDIDATES))
    if customer_id is not None:
        ranked = personalise(ranked, preferred_categories(customer_id))
    ranked = ranked[:limit]
    results = SearchResults(query=query, product_ids=[pid for pid, _ in ranked],
                            scores=[round(score, 6) for _, score in ranked], method=method,
                            corrected_terms=corrections)
    if results_key is not None and method == "hybrid":
        cache.set(results_key, {k: v for k, v in results.__dict__.items() if k != "query_log_id"},
                  ANONYMOUS_RESULTS_TTL)
    if log:
        results.query_log_id = _log(results, customer_id, visitor_id, experiments)
    return results


def results_cache_key(kind: str, query: str, filters: Filters, limit: int, *, versioned: bool = True) -> str:
    """The cache key of a result list (``kind``: anonymous results, curated lists, their claims);
    ``versioned`` keys carry the index version, so any re-index retires them all at once."""
    digest = hashlib.sha1(repr((normalize_query(query), filters, limit)).encode()).hexdigest()
    version = f"{cache.get(cache_key('index-version'), 0)}:" if versioned else ""
    return cache_key(f"{kind}:{version}{digest}")


def _curated_kind(keyword_only: bool) -> str:
    return "curated-keyword" if keyword_only else "curated"


def curated_results(query: str, filters: Filters = Filters(), limit: int = 12, *,
                    keyword_only: bool = False) -> list[int] | None:
    """A merchandiser's fixed query ("gifts for coffee lovers") as product ids, from the cache only;
    None until ``refresh_curated_results`` (a task) has run it. Retired by any re-index.
    ``keyword_only``: the list of a search experiment's keyword-only variant."""
    return cache.get(results_cache_key(_curated_kind(keyword_only), query, filters, limit))


def refresh_curated_results(query: str, filters: Filters = Filters(), limit: int = 12, *,
                            keyword_only: bool = False) -> list[int]:
    """Run a fixed query (hybrid, or BM25 alone; as an anonymous shopper sees it, not logged) and cache
    its ids."""
    if keyword_only:
        ranked, _ = keyword_search(normalize_query(query), filters=filters, limit=limit)
    else:
        ranked, _, _ = hybrid_rank(normalize_query(query), filters=filters, limit=limit)
    ids = [pid for pid, _ in ranked[:limit]]
    cache.set(results_cache_key(_curated_kind(keyword_only), query, filters, limit), ids, CURATED_RESULTS_TTL)
    return ids


def _log(results: SearchResults, customer_id, visitor_id, experiments: dict[str, str] | None = None) -> int:
    entry = SearchQuery.objects.create(
        query=results.query, normalized=results.query, customer_id=customer_id, visitor_id=visitor_id,
        method=results.method, result_count=len(results.product_ids),
    )
    record("search", customer_id=customer_id, visitor_id=visitor_id, query=results.query, surface="search",
           quantity=len(results.product_ids), experiments=experiments)
    return entry.pk


def record_click(query_log_id: int, product_id: int, *, visitor_id=None) -> bool:
    """Attribute a result click to its logged query (only the visitor who searched can)."""
    return bool(SearchQuery.objects.filter(pk=query_log_id, visitor_id=visitor_id).update(
        clicked_product_id=product_id))


def mark_conversions(visitor_id, customer_id, product_ids: list[int], *, hours: int = 24) -> int:
    """A purchase of a product clicked from a search in the last ``hours`` converts that search."""
    who = Q(visitor_id=visitor_id) | (Q(customer_id=customer_id) if customer_id else Q(pk__in=[]))
    since = timezone.now() - datetime.timedelta(hours=hours)
    return SearchQuery.objects.filter(who, clicked_product_id__in=product_ids, converted=False,
                                      created_at__gte=since).update(converted=True)
