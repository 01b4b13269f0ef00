"""Search's read side: what the search page, the API, blocks, the dashboard and other AI apps call.
Hybrid product search (BM25 and semantic candidates from ``retrieval``, fused by weighted reciprocal rank,
boosted by the shopper's preferred categories), its result caches, curated lists, the query log, and
product embeddings for other apps. ``Filters`` (defined with the retrievers that apply it) is part of this
surface. Indexing is the write side (``indexing``, ``vector_index``), run by tasks and commands only."""

import datetime
import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from ai.common import vector_literal
from ai.search import rules as query_rules
from ai.search import suggestions
from ai.search.caching import INDEX_VERSION_KEY, cache_key
from ai.search.models import ProductEmbedding, SearchQuery
from ai.search.retrieval import (
    CANDIDATES,
    NO_FILTERS,
    SEMANTIC_SIMILARITY_FLOOR,
    Filters,
    corrected_query,
    keyword_confidence,
    keyword_search,
    normalize_query,
    semantic_search,
)
from commerce.catalogue.models import Product
from commerce.events.queries import preferred_categories
from commerce.events.services import record

logger = logging.getLogger(__name__)
cache_outages = logging.getLogger(settings.DJANGO_REDIS_LOGGER)

MAX_QUERY_LENGTH = 512
ANONYMOUS_RESULTS_TTL = 300
POPULAR_QUERIES_TTL = 600
CURATED_RESULTS_TTL = 3600  # a fixed query's results change only with the index (its version is in the key)
# A Redis set (under ``cache_key``) of the curated queries pages found no list for; a beat task runs them.
CURATED_WANTED_KEY = "curated-wanted"


def version() -> str:
    """The search index version: bumped whenever (re-)indexing or a statistics refresh changed the index,
    so keys that carry it retire at once."""
    return str(cache.get(cache_key(INDEX_VERSION_KEY), 0))


@dataclass
class SearchResults:
    query: str
    product_ids: list[int]
    scores: list[float]
    method: str
    corrected_terms: dict[str, str] = field(default_factory=dict)
    corrected_query: str | None = None  # the query as searched when a typo was corrected
    query_log_id: int | None = None


# --- fusion ---------------------------------------------------------------------------------------

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


def reciprocal_rank_fusion(rankings: list[list[int]], *, k: int = 60,
                           weights: list[float] | None = None) -> list[tuple[int, float]]:
    """Fuse ranked id lists: score(d) = Σ weight_i / (k + rank_i(d)), ranks from 1. Best first."""
    weights = weights or [1.0] * len(rankings)
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, product_id in enumerate(ranking, start=1):
            scores[product_id] = scores.get(product_id, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


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


def hybrid_rank(query: str, *, filters: Filters = NO_FILTERS, limit: int = 24, correct: bool = True
                ) -> tuple[list[tuple[int, float]], dict[str, str], str]:
    """Keyword and semantic candidates fused by weighted RRF, weighted by the keyword list's confidence
    (``KEYWORD_CONFIDENCE``). If the encoder fails, keyword only. Only evidence counts: keyword candidates
    match a query term, semantic ones reach ``SEMANTIC_SIMILARITY_FLOOR``, so a query nothing in the
    catalogue matches gets no results rather than the nearest products. ``correct``: see ``query_terms``."""
    keyword, corrections = keyword_search(query, filters=filters, correct=correct)
    try:
        semantic = [(pid, similarity) for pid, similarity in semantic_search(query, filters=filters)
                    if similarity >= SEMANTIC_SIMILARITY_FLOOR]
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


# --- what shoppers get ----------------------------------------------------------------------------


def search(query: str, *, customer_id: int | None = None, visitor_id=None, filters: Filters = NO_FILTERS,
           limit: int = 24, log: bool = True, keyword_only: bool = False, exact: bool = False,
           experiments: dict[str, str] | None = None, rules: list[query_rules.Rule] | None = None) -> SearchResults:
    """What the search page and API serve: hybrid results, personalised for known customers,
    cached for anonymous shoppers, and logged. ``keyword_only`` and ``experiments`` come from a
    running search experiment (``ai.experiments.serving.search_options``): keyword-only results are
    never cached, and the logged search event carries the variant. ``exact``: no typo correction (the
    shopper chose "search instead for" the query as typed). Merchandisers' query rules apply last: the live
    ones, or ``rules`` (the admin's preview; such results are never cached)."""
    query = normalize_query(query)[:MAX_QUERY_LENGTH]
    results_key = None
    if customer_id is None and not keyword_only and rules is None:
        results_key = results_cache_key("results-exact" if exact else "results", query, filters, limit)
        cached = cache.get(results_key)
        if cached is not None:
            results = SearchResults(**cached)
            if log:
                results.query_log_id = _log(results, customer_id, visitor_id, experiments)
            return results
    if keyword_only:
        ranked, corrections = keyword_search(query, filters=filters, correct=not exact)
        method = "keyword"
    else:
        ranked, corrections, method = hybrid_rank(query, filters=filters, limit=max(limit, CANDIDATES),
                                                  correct=not exact)
    if customer_id is not None:
        ranked = personalise(ranked, preferred_categories(customer_id))
    if settings.VITRINE_SEARCH_SOLD_OUT_LAST:
        ranked = sold_out_last(ranked)
    ranked = query_rules.apply(query, ranked, filters=filters, rules=rules).ranked[:limit]
    results = SearchResults(query=query, product_ids=[pid for pid, _ in ranked],
                            scores=[round(score, 6) for _, score in ranked], method=method,
                            corrected_terms=corrections,
                            corrected_query=corrected_query(query, corrections) if corrections else None)
    if results_key is not None and method == "hybrid":
        cache.set(results_key, {k: v for k, v in results.__dict__.items() if k != "query_log_id"},
                  ANONYMOUS_RESULTS_TTL)
    if log:
        results.query_log_id = _log(results, customer_id, visitor_id, experiments)
    return results


def sold_out_last(ranked: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """In-stock products first, then sold-out ones, each group in its ranked order (a stable sort): a
    shopper can buy the first results. ``VITRINE_SEARCH_SOLD_OUT_LAST`` turns it off."""
    if not ranked:
        return ranked
    sold_out = set(Product.objects.filter(pk__in=[pid for pid, _ in ranked], stock=0).values_list("pk", flat=True))
    return sorted(ranked, key=lambda item: item[0] in sold_out)


def results_cache_key(kind: str, query: str, filters: Filters, limit: int) -> str:
    """The cache key of a result list (``kind``: anonymous results, curated lists); it carries the index
    version, so any re-index retires them all at once, and the live query rules' fingerprint, so a rule's
    window opening or closing does too."""
    digest = hashlib.sha1(repr((normalize_query(query), filters, limit)).encode()).hexdigest()
    return cache_key(f"{kind}:{version()}:{query_rules.fingerprint()}:{digest}")


def _curated_kind(keyword_only: bool) -> str:
    return "curated-keyword" if keyword_only else "curated"


def curated_results(query: str, filters: Filters = NO_FILTERS, limit: int = 12, *,
                    keyword_only: bool = False) -> list[int] | None:
    """A merchandiser's fixed query ("gifts for coffee lovers") as product ids, from the cache only.
    On a miss (never run, or retired by a re-index) the query is marked wanted, for the beat task
    ``refresh_wanted_curated_results`` to run once for every later shopper, and the answer is None.
    ``keyword_only``: the list of a search experiment's keyword-only variant."""
    ids = cache.get(results_cache_key(_curated_kind(keyword_only), query, filters, limit))
    if ids is None:
        _want(json.dumps({"query": query, "filters": asdict(filters), "limit": limit, "keyword_only": keyword_only},
                         sort_keys=True))
    return ids


def curated_version(ids: list[int] | None) -> str:
    """Names a list ``curated_results`` gave, for the keys of HTML made from it: "pending" while there
    is none, else a digest of its ids. HTML rendered without the list is retired the moment the beat task
    caches it, and a re-index that leaves the list as it was retires nothing."""
    return "pending" if ids is None else hashlib.sha1(json.dumps(ids).encode()).hexdigest()[:16]


def _want(spec: str) -> None:
    """Add a curated query to the wanted set (a set: many pages asking make one run). A Redis error never
    fails the page: the query is asked for again on the next view. Logged on the cache's outage logger,
    which keeps one line per interval."""
    try:
        get_redis_connection("default").sadd(cache_key(CURATED_WANTED_KEY), spec)
    except RedisError as error:
        cache_outages.warning("curated search lists cannot be asked for while Redis fails: %s", error)


def take_wanted_curated_results(count: int) -> list[dict]:
    """Remove and return up to ``count`` of the curated queries pages asked for: dicts of ``query``,
    ``filters`` (the fields of ``Filters``), ``limit`` and ``keyword_only``."""
    specs = get_redis_connection("default").spop(cache_key(CURATED_WANTED_KEY), count)
    return [json.loads(spec) for spec in specs or []]


def refresh_curated_results(query: str, filters: Filters = NO_FILTERS, limit: int = 12, *,
                            keyword_only: bool = False) -> list[int]:
    """Run a fixed query (hybrid, or BM25 alone; as an anonymous shopper sees it, not logged, query rules
    applied) and cache its ids."""
    if keyword_only:
        ranked, _ = keyword_search(normalize_query(query), filters=filters, limit=limit)
    else:
        ranked, _, _ = hybrid_rank(normalize_query(query), filters=filters, limit=limit)
    ranked = query_rules.apply(normalize_query(query), ranked, filters=filters).ranked
    ids = [pid for pid, _ in ranked[:limit]]
    cache.set(results_cache_key(_curated_kind(keyword_only), query, filters, limit), ids, CURATED_RESULTS_TTL)
    return ids


# --- the query log --------------------------------------------------------------------------------


def _log(results: SearchResults, customer_id, visitor_id, experiments: dict[str, str] | None = None) -> int:
    entry = SearchQuery.objects.create(
        query=results.query, normalized=results.query, customer_id=customer_id, visitor_id=visitor_id,
        method=results.method, result_count=len(results.product_ids),
    )
    record("search", customer_id=customer_id, visitor_id=visitor_id, query=results.query, surface="search",
           quantity=len(results.product_ids), experiments=experiments)
    return entry.pk


def log_redirect(query: str, *, customer_id: int | None = None, visitor_id=None) -> int:
    """Log a search a merchandiser's rule sent to a page (``rules.redirect_for``) rather than searched,
    so the search report lists it with the rule."""
    query = normalize_query(query)[:MAX_QUERY_LENGTH]
    return _log(SearchResults(query=query, product_ids=[], scores=[], method=SearchQuery.REDIRECTED),
                customer_id, visitor_id)


def popular_queries(count: int = 5) -> list[str]:
    """What to suggest when a search finds nothing: the popular searches that found something (the
    autocomplete's, ``suggestions.popular_prefixed_queries``, with its rule that a query one visitor ran is
    never shown to others). Cached for 10 minutes, so zero-result pages do not aggregate the log each time."""
    key = cache_key(f"popular-queries:{count}")
    queries = cache.get(key)
    if queries is None:
        queries = suggestions.popular_prefixed_queries("", count)
        cache.set(key, queries, POPULAR_QUERIES_TTL)
    return queries


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


# --- embeddings, for indexing progress and other apps ---------------------------------------------


def unindexed_products() -> QuerySet[Product]:
    """Active products with no embedding yet (the resumable part of a bulk re-index)."""
    return Product.objects.filter(active=True).exclude(pk__in=embedded_product_ids())


def products_needing_index(limit: int | None = None) -> list[int]:
    ids = unindexed_products().order_by("pk").values_list("pk", flat=True)
    return list(ids[:limit] if limit else ids)


# ≥ the rows the neighbour queries ask for, or HNSW returns fewer.
NEIGHBOUR_EF_SEARCH = 100


def embedded_product_ids() -> QuerySet:
    """Ids of the products that have a text embedding (a values_list, usable as a subquery)."""
    return ProductEmbedding.objects.values_list("product_id", flat=True)


def product_embeddings(product_ids: list[int]) -> dict[int, np.ndarray]:
    """The text embeddings (float32) of those of ``product_ids`` that have one."""
    rows = ProductEmbedding.objects.filter(product_id__in=product_ids).values_list("product_id", "embedding")
    return {pid: np.asarray(vector, dtype=np.float32) for pid, vector in rows}


def nearest_available_products(vector: np.ndarray, *, limit: int, exclude: list[int]
                               ) -> list[tuple[int, np.ndarray]]:
    """The active, in-stock products whose embeddings are nearest ``vector`` (cosine), ``exclude`` left
    out, nearest first: (product id, embedding). The HNSW scan fetches extra rows for those the join
    drops."""
    literal = vector_literal(vector)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL hnsw.ef_search = {NEIGHBOUR_EF_SEARCH}")
        cursor.execute(
            f"""SELECT e.product_id, e.embedding::real[] FROM (
                    SELECT product_id, embedding, embedding <=> %s::vector AS distance
                    FROM {ProductEmbedding._meta.db_table}
                    ORDER BY embedding <=> %s::vector LIMIT %s) e
                JOIN {Product._meta.db_table} p ON p.id = e.product_id
                WHERE p.active AND p.stock > 0 AND NOT e.product_id = ANY(%s)
                ORDER BY e.distance""",
            [literal, literal, limit + len(exclude) + 20, list(exclude)],
        )
        rows = cursor.fetchall()[:limit]
    return [(pid, np.asarray(embedding, dtype=np.float32)) for pid, embedding in rows]


def embedding_neighbours(product_id: int, count: int) -> list[tuple[int, float]]:
    """The ``count`` active, in-stock products most like ``product_id`` by text embedding, best first:
    (product id, cosine similarity). Empty when the product has no embedding."""
    return embedding_neighbours_of([product_id], count)[product_id]


def embedding_neighbours_of(product_ids: list[int], count: int) -> dict[int, list[tuple[int, float]]]:
    """``embedding_neighbours`` of many products in one statement (a training run asks for every product
    it knows: one round trip, not one per product)."""
    found: dict[int, list[tuple[int, float]]] = {product_id: [] for product_id in product_ids}
    if not product_ids:
        return found
    embeddings = ProductEmbedding._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL hnsw.ef_search = {NEIGHBOUR_EF_SEARCH}")
        cursor.execute(
            f"""SELECT n.source_id, n.product_id, 1 - n.distance FROM (
                    SELECT s.product_id AS source_id, e.product_id, e.embedding <=> s.embedding AS distance
                    FROM {embeddings} s, LATERAL (
                        SELECT product_id, embedding FROM {embeddings}
                        ORDER BY embedding <=> s.embedding LIMIT %s) e
                    WHERE s.product_id = ANY(%s)) n
                JOIN {Product._meta.db_table} p ON p.id = n.product_id
                WHERE p.active AND p.stock > 0 AND n.product_id <> n.source_id
                ORDER BY n.source_id, n.distance""",
            [count * 2, list(product_ids)],
        )
        for source_id, product_id, similarity in cursor.fetchall():
            if len(found[source_id]) < count:
                found[source_id].append((product_id, float(similarity)))
    return found
