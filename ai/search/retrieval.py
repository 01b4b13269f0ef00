"""Search's two retrievers (read side): BM25 over impact-ordered PostgreSQL postings, with typo correction
from the indexed vocabulary, and pgvector semantic search (HNSW for small catalogues, IVFFlat at scale,
exact under narrow filters). ``serving`` fuses and serves their lists; indexing writes what they read.

Queries read the index tables, a cached query embedding and cached corpus statistics."""

import functools
import hashlib
import math
import re
from dataclasses import dataclass

import numpy as np
from django.core.cache import cache
from django.db import connection, transaction

from ai import embeddings
from ai.common import vector_literal
from ai.search import synonyms
from ai.search.caching import (
    CORPUS_STATS_KEY,
    DEPARTMENT_INDEXES_KEY,
    VECTOR_INDEX_SHAPE_KEY,
    CachedTable,
    cache_key,
)
from ai.search.models import (
    EMBEDDING_DIMENSIONS,
    ProductEmbedding,
    SearchDocument,
    SearchPosting,
    SearchStatistics,
    SearchTerm,
)
from commerce.catalogue.models import Category, PriceList, Product

CANDIDATES = 50  # per retriever; ef_search must stay ≥ this or HNSW returns fewer rows
QUERY_EMBEDDING_TTL = 3600
CORPUS_STATS_TTL = 600

FIELD_WEIGHTS = {"A": 3.0, "B": 2.0, "C": 1.0}  # title, category path, attributes + description
BM25_K1, BM25_B = 1.2, 0.75
# Measured (bench/search.py, 100k products): ... per query term read in impact order.
POSTINGS_PER_TERM = 10_000
TYPO_CANDIDATE_SIMILARITY = 0.2
# Semantic candidates count as evidence only from this cosine similarity: below it a query matches
# nothing ("xyzzy qwfp plorth" reaches 0.26 on the demo catalogue). Calibrated on relevant and nonsense
# query–product pairs (docs/search.md, "Queries nothing matches"; `python -m bench search_calibration`).
SEMANTIC_SIMILARITY_FLOOR = 0.3

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
        else:  # the member, not its string: filters rebuilt from JSON must key the same cached lists
            object.__setattr__(self, "price_list", PriceList(self.price_list))

    def sql(self) -> tuple[str, list]:
        """A WHERE fragment over ``p`` (the product table) and its parameters."""
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
        return self == NO_FILTERS


NO_FILTERS = Filters()  # every active product


def normalize_query(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


# --- keywords -------------------------------------------------------------------------------------


def corpus_stats() -> tuple[int, float]:
    """(documents, average document length) for BM25, cached."""
    stats = cache.get(cache_key(CORPUS_STATS_KEY))
    if stats is None:
        stored = SearchStatistics.objects.filter(documents__gt=0).first()
        if stored:
            stats = (stored.documents, stored.average_length or 1.0)
        else:  # indexed but never refreshed (the beat task runs every 10 minutes)
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT count(*), coalesce(avg(length), 1) FROM {SearchDocument._meta.db_table}")
                count, average = cursor.fetchone()
            stats = (max(count, 1), float(average) or 1.0)
        cache.set(cache_key(CORPUS_STATS_KEY), stats, CORPUS_STATS_TTL)
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


@functools.cache
def dictionary_stems() -> frozenset[str]:
    """The stems of the words of the encoder's vocabulary (``embeddings.vocabulary``, ≈ 20,000 common
    words), stemmed as queries are: one statement, once per process."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT t.lexeme FROM unnest(%s::text[]) AS w, unnest(to_tsvector('english', w)) AS t",
                       [sorted(embeddings.vocabulary())])
        return frozenset(row[0] for row in cursor.fetchall())


def _correct(cursor, term: str) -> str | None:
    """The indexed term a misspelt one most likely meant, or None unless that is a confident guess.

    A real word the catalogue lacks ("boots", "lovers": a stem of a word in the encoder's vocabulary,
    ``dictionary_stems``) is no typo, and is left to semantic search (or no result). Otherwise: trigram
    candidates with the same first letter (typos rarely hit it: "toaster" is not "roaster", "plorth" not
    "north") within the edit distance allowed (1 for short words, 2 from 6 letters), the closest, then
    the commonest. Calibrated in docs/search.md ("Typo correction")."""
    if term in dictionary_stems():
        return None
    cursor.execute("SET LOCAL pg_trgm.similarity_threshold = %s", [TYPO_CANDIDATE_SIMILARITY])
    cursor.execute(
        f"SELECT term, document_count FROM {SearchTerm._meta.db_table} WHERE term %% %s "
        "ORDER BY similarity(term, %s) DESC LIMIT 30",
        [term, term],
    )
    allowed = 1 if len(term) < 6 else 2
    scored = [(edit_distance(term, candidate), -count, candidate) for candidate, count in cursor.fetchall()
              if candidate[0] == term[0]]
    scored = [entry for entry in scored if entry[0] <= allowed]
    return min(scored)[2] if scored else None


def query_terms(query: str, *, correct: bool = True) -> tuple[list[str], dict[str, str]]:
    """The query's stemmed terms, with unknown ones replaced by the closest indexed term (typos) unless
    ``correct`` is False (the shopper asked for the query as typed), followed by the terms merchandisers'
    synonyms add (``synonyms.expand``; those words are never corrected).

    Returns (terms, {typed term: corrected term})."""
    terms = list(query_stems(query))
    if not terms:
        return [], {}
    terms, synonymous = synonyms.expand(terms)
    with connection.cursor() as cursor:
        # One index probe per term (not every posting of a common term).
        cursor.execute("SELECT t FROM unnest(%s::text[]) AS t WHERE EXISTS "
                       f"(SELECT 1 FROM {SearchPosting._meta.db_table} WHERE term = t)", [terms])
        known = {row[0] for row in cursor.fetchall()} | synonymous  # a merchandiser's word is no typo
    unknown = [term for term in terms if correct and term not in known and len(term) >= 4]
    corrections = {}
    if unknown:
        with transaction.atomic(), connection.cursor() as cursor:  # for ``_correct``'s SET LOCAL
            corrections = {term: corrected for term in unknown if (corrected := _correct(cursor, term))}
    return [corrections.get(t, t) for t in terms], corrections


@functools.lru_cache(maxsize=4096)
def query_stems(query: str) -> tuple[str, ...]:
    """The query's distinct stems, as the index stems its texts (PostgreSQL's ``english`` configuration,
    stopwords dropped). Remembered per process: they depend on nothing stored, and a search asks twice."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT lexeme FROM unnest(to_tsvector('english', %s))", [query])
        return tuple(row[0] for row in cursor.fetchall())


def corrected_query(query: str, corrections: dict[str, str]) -> str:
    """The query as searched after typo correction, in words a shopper reads (the corrections are stems:
    "kettl"): each misspelt word is replaced by the word nearest to it (edit distance) of those stemming
    to its correction in the texts of the products that term matches best. One query, run only when
    something was corrected."""
    words = query.split()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH typed AS (SELECT ord, w, array_to_string(tsvector_to_array(to_tsvector('english', w)), ' ') AS term
                               FROM unnest(%s::text[]) WITH ORDINALITY AS t(w, ord)),
                     fixes AS (SELECT * FROM unnest(%s::text[], %s::text[]) AS f(typed, fixed))
                SELECT typed.ord, typed.w, fixes.fixed, array(
                    SELECT DISTINCT x.word
                    FROM (SELECT product_id FROM {SearchPosting._meta.db_table} WHERE term = fixes.fixed
                          ORDER BY impact DESC LIMIT 3) AS best
                    JOIN {Product._meta.db_table} p ON p.id = best.product_id
                    JOIN {Category._meta.db_table} c ON c.id = p.category_id,
                    regexp_split_to_table(lower(concat_ws(' ', p.title, c.name, p.description, p.attributes::text)),
                                          '[^[:alpha:]]+') AS x(word)
                    WHERE array_to_string(tsvector_to_array(to_tsvector('english', x.word)), ' ') = fixes.fixed)
                FROM typed JOIN fixes ON fixes.typed = typed.term""",
            [words, list(corrections), list(corrections.values())],
        )
        for ordinal, typed, fixed, spelt in cursor.fetchall():
            words[ordinal - 1] = min(spelt, key=lambda word: (edit_distance(typed, word), word), default=fixed)
    return " ".join(words)


def keyword_search(query: str, *, filters: Filters = NO_FILTERS, limit: int = CANDIDATES, correct: bool = True
                   ) -> tuple[list[tuple[int, float]], dict[str, str]]:
    """BM25 (OR semantics: any query term matches) over field-weighted, impact-ordered postings.

    score(d) = Σ idf(t) × impact(t, d). Without shopper filters only each term's
    ``POSTINGS_PER_TERM`` strongest postings are read (top-k by impact: a product below that for a
    broad, low-idf term loses at most idf × the k-th impact), so a query costs the same whatever its
    terms' document frequencies; the product table is joined afterwards for the few inactive ones.
    With filters every posting is read, since the filters may exclude the strongest ones. ``correct``:
    see ``query_terms``."""
    terms, corrections = query_terms(query, correct=correct)
    if not terms:
        return [], corrections
    documents, _ = corpus_stats()
    where, params = filters.sql()
    per_term, shortlist = (POSTINGS_PER_TERM, limit * 4) if filters.is_empty else (None, None)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH q AS (SELECT t.term,
                                  ln(1 + (%s - df + 0.5) / (df + 0.5)) AS idf
                           FROM (SELECT t.term, greatest(coalesce(s.document_count, 1), 1)::float8 AS df
                                 FROM unnest(%s::text[]) AS t(term)
                                 LEFT JOIN {SearchTerm._meta.db_table} s ON s.term = t.term) AS t),
                scored AS (
                    SELECT sp.product_id, sum(q.idf * sp.impact) AS score
                    FROM q CROSS JOIN LATERAL (
                        SELECT product_id, impact FROM {SearchPosting._meta.db_table}
                        WHERE term = q.term ORDER BY impact DESC LIMIT %s) AS sp
                    GROUP BY sp.product_id ORDER BY score DESC LIMIT %s)
                SELECT s.product_id, s.score FROM scored s JOIN {Product._meta.db_table} p ON p.id = s.product_id
                WHERE {where}
                ORDER BY s.score DESC, s.product_id LIMIT %s""",
            [float(documents), terms, per_term, shortlist, *params, limit],
        )
        return [(pid, float(score)) for pid, score in cursor.fetchall()], corrections


def keyword_confidence(query: str, keyword: list[tuple[int, float]], corrections: dict[str, str]) -> float:
    """How well the best keyword result covers the query, 0–1: its BM25 score over the score of a
    document of average length with every query term once in its title (Σ idf × w(k1+1)/(w+k1), w the
    title weight). A term no product has counts against it (it matches nothing), so paraphrases and
    words the catalogue does not use score low, while product words and corrected typos score ≈ 1. A
    query a merchandiser's synonym matches is judged by its best reading: the synonym's words replaced
    by one of the terms it brings in ("java" read as "coffee"), as the keyword search found them."""
    if not keyword:
        return 0.0
    typed = frozenset(corrections.get(stem, stem) for stem in query_stems(query))
    if not typed:
        return 0.0
    readings = [typed, *((typed - set(source)) | {term} for source, added in synonyms.table()
                         if typed.issuperset(source) for term in added)]
    counts = dict(SearchTerm.objects.filter(term__in=set().union(*readings)).values_list("term", "document_count"))
    documents, _ = corpus_stats()
    title = FIELD_WEIGHTS["A"]
    per_term = title * (BM25_K1 + 1) / (title + BM25_K1)

    def ideal(reading) -> float:
        return sum(math.log(1 + (documents - max(counts.get(term, 0), 1) + 0.5) / (max(counts.get(term, 0), 1) + 0.5))
                   for term in reading) * per_term

    best = min(ideal(reading) for reading in readings)
    return float(min(1.0, keyword[0][1] / best)) if best > 0 else 0.0


# --- vectors --------------------------------------------------------------------------------------


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


def ivfflat_shape() -> tuple[int, int]:
    """(lists, probes that scan ``IVFFLAT_SCAN_ROWS`` vectors) of the IVFFlat index; (0, 0) without one."""
    shape = cache.get(cache_key(VECTOR_INDEX_SHAPE_KEY))
    if shape is None:
        stats = SearchStatistics.objects.filter(pk=1).values("vector_index_lists", "vector_index_rows").first()
        lists, rows = (stats["vector_index_lists"], stats["vector_index_rows"]) if stats else (0, 0)
        shape = (lists, min(lists, math.ceil(IVFFLAT_SCAN_ROWS * lists / rows)) if lists else 0)
        cache.set(cache_key(VECTOR_INDEX_SHAPE_KEY), shape, CORPUS_STATS_TTL)
    return tuple(shape)


def ivfflat_probes() -> int:
    """Probes that scan ``IVFFLAT_SCAN_ROWS`` vectors of the IVFFlat index; 0 when there is none."""
    return ivfflat_shape()[1]


def category_chains() -> dict[int, list[tuple[int, str]]]:
    """Each category's (id, name) chain from its department down to itself, from the tree in one query."""
    tree = {pk: (parent_id, name) for pk, parent_id, name in Category.objects.values_list("pk", "parent_id", "name")}
    chains = {}
    for pk in tree:
        chain, node, seen = [], pk, set()
        while node in tree and node not in seen:  # ``seen``: a cycle saved outside clean()
            seen.add(node)
            chain.append((node, tree[node][1]))
            node = tree[node][0]
        chains[pk] = chain[::-1]
    return chains


def departments_of_categories(chains: dict[int, list[tuple[int, str]]] | None = None) -> dict[int, int]:
    """Each category's department (its top-level ancestor); ``chains``: ``category_chains()`` if read already."""
    return {pk: chain[0][0] for pk, chain in (category_chains() if chains is None else chains).items()}


# Which department each category is in, cached for the read side; dropped on every category save or
# delete (``receivers``).
category_departments = CachedTable("category-departments", Category,
                                   lambda: sorted(departments_of_categories().items()))


def department_indexes() -> dict[int, tuple[int, int]]:
    """{department: (lists, rows)} of the departments with their own IVFFlat index, cached."""
    indexes = cache.get(cache_key(DEPARTMENT_INDEXES_KEY))
    if indexes is None:
        stats = SearchStatistics.objects.filter(pk=1).values_list("department_indexes", flat=True).first() or {}
        indexes = {int(department): (state["lists"], state["rows"]) for department, state in stats.items()}
        cache.set(cache_key(DEPARTMENT_INDEXES_KEY), indexes, CORPUS_STATS_TTL)
    return indexes


def indexed_department(filters: Filters) -> int | None:
    """The department the filters keep products of, when it has its own IVFFlat index (the filtered
    category is that department or a category in it); None otherwise."""
    if not filters.category_id:
        return None
    indexes = department_indexes()
    if not indexes:
        return None
    department = dict(category_departments()).get(filters.category_id)
    return department if department in indexes else None


def filter_matches(filters: Filters) -> tuple[int, int]:
    """(products that pass ``filters``, active products), cached with the corpus statistics."""
    key = cache_key(f"filter-matches:{hashlib.sha1(repr(filters).encode()).hexdigest()}")
    counts = cache.get(key)
    if counts is None:
        where, params = filters.sql()
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FILTER (WHERE {where}), count(*) FROM {Product._meta.db_table} p "
                           "WHERE p.active", params)
            counts = cursor.fetchone()
        cache.set(key, counts, CORPUS_STATS_TTL)
    return tuple(counts)


def scan_plan(filters: Filters, limit: int) -> tuple[str, dict[str, int | str]]:
    """How ``semantic_search`` reads the embeddings (``_plan``, without the department it names)."""
    return _plan(filters, limit)[:2]


def _plan(filters: Filters, limit: int) -> tuple[str, dict[str, int | str], int | None]:
    """How ``semantic_search`` reads the embeddings: ("exact", {}) when a filter passes at most
    ``EXACT_SEARCH_MAX_MATCHES`` products, else the index that serves and the settings it is read with:
    "department" (the filtered department's own IVFFlat index, ``indexed_department``), "ivfflat" (the
    catalogue's) or "hnsw". A department's index is probed as the catalogue's is unfiltered: enough
    lists to scan ``IVFFLAT_SCAN_ROWS`` of its vectors. With filters beyond the department the index scan
    is iterative (pgvector reads on until enough candidates pass them), and IVFFlat probes more lists the
    fewer of the index's products pass. Third: the department whose index serves, or None."""
    matches, active = filter_matches(filters) if not filters.is_empty else (None, None)
    if matches is not None and matches <= EXACT_SEARCH_MAX_MATCHES:
        return "exact", {}, None
    department = indexed_department(filters)
    if department is not None:
        index = "department"
        lists, rows = department_indexes()[department]
        probes = min(lists, math.ceil(IVFFLAT_SCAN_ROWS * lists / max(rows, 1)))
        if filters == Filters(category_id=department):
            return index, {"ivfflat.probes": probes}, department
        active, _ = filter_matches(Filters(category_id=department))  # the products this index holds
    else:
        lists, probes = ivfflat_shape()
        index = "ivfflat" if probes else "hnsw"
    if probes:
        if matches is not None:
            factor = min(FILTERED_PROBES_MAX_FACTOR, active / max(matches, 1))
            probes = min(lists, math.ceil(probes * factor))
        settings = {"ivfflat.probes": probes}
    else:
        settings = {"hnsw.ef_search": max(100, limit * 2)}  # ≥ the rows asked for, or HNSW returns fewer
    if not filters.is_empty:
        # order is restored by the outer ORDER BY
        settings["hnsw.iterative_scan" if index == "hnsw" else "ivfflat.iterative_scan"] = "relaxed_order"
    return index, settings, department


_DISTANCES = {
    # "+ 0": an expression no index serves, so PostgreSQL filters first and scores every match.
    "exact": "(e.embedding <=> %s::vector) + 0",
    "ivfflat": f"e.embedding::halfvec({EMBEDDING_DIMENSIONS}) <=> %s::halfvec",
    "department": f"e.embedding::halfvec({EMBEDDING_DIMENSIONS}) <=> %s::halfvec",
    "hnsw": "e.embedding <=> %s::vector",
}


def semantic_search(query: str, *, filters: Filters = NO_FILTERS, limit: int = CANDIDATES,
                    vector: np.ndarray | None = None) -> list[tuple[int, float]]:
    """Nearest products by cosine distance, read as ``scan_plan`` says: from the IVFFlat index over
    half-precision vectors when the catalogue has one (``vector_index.refresh_vector_index``), from the
    filtered department's own one when it has one, else from the HNSW index, or exactly under a narrow
    filter. An index yields the candidates; they are ranked by full-precision distance, so filtered
    result lists stay full."""
    literal = vector_literal(query_embedding(query) if vector is None else vector)
    where, params = filters.sql()
    index, settings, department_id = _plan(filters, limit)
    distance = _DISTANCES[index]
    # The department's partial index serves only a query whose predicate implies the index's, so its id
    # is written into the SQL (an int), never bound as a parameter the planner cannot see.
    department = f"e.department_id = {int(department_id)}" if department_id is not None else None
    embeddings_table, products_table = ProductEmbedding._meta.db_table, Product._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        if settings:
            cursor.execute("SELECT " + ", ".join(["set_config(%s, %s, true)"] * len(settings)),
                           [str(item) for setting in settings.items() for item in setting])
        if filters.is_empty or (department and "ivfflat.iterative_scan" not in settings):
            # The index scan runs on the embeddings alone (a join can tempt the planner into an exact
            # scan); the few inactive products (and, under a department filter, any whose embedding's
            # department lags a move) are dropped from a shortlist afterwards.
            cursor.execute(
                f"""SELECT e.product_id, 1 - (e.embedding <=> %s::vector) AS similarity FROM (
                        SELECT product_id, embedding FROM {embeddings_table} e
                        {f"WHERE {department}" if department else ""}
                        ORDER BY {distance} LIMIT %s) e
                    JOIN {products_table} p ON p.id = e.product_id
                    WHERE {where} ORDER BY similarity DESC LIMIT %s""",
                [literal, literal, limit * 2, *params, limit],
            )
        else:
            cursor.execute(
                f"""SELECT product_id, 1 - (embedding <=> %s::vector) AS similarity FROM (
                        SELECT e.product_id, e.embedding
                        FROM {embeddings_table} e JOIN {products_table} p ON p.id = e.product_id
                        WHERE {where}{f" AND {department}" if department else ""}
                        ORDER BY {distance} LIMIT %s) e
                    ORDER BY similarity DESC""",
                [literal, *params, literal, limit],
            )
        return [(pid, float(similarity)) for pid, similarity in cursor.fetchall()]
