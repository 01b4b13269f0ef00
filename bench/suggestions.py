"""Search-box suggestions (``/search/suggest``) at catalogue scale, in a scratch database.

    python -m bench suggestions    # BENCH_SUGGEST_PRODUCTS=20000, BENCH_SUGGEST_LOGGED=200000

1. ``seed_demo --products N`` into a scratch database and a query log of ``BENCH_SUGGEST_LOGGED`` searches
   over 40 days: one to three words of product titles, a fifth of them clicked, a tenth finding
   nothing, from a pool of 5,000 visitors.
2. ``GET /search/suggest?q=`` through Django's full request stack, single client, for
   ``BENCH_SUGGEST_PREFIXES`` prefixes (2 to 6 letters of logged queries and titles): p50/p99 of the
   first request of each prefix (nothing cached: the log, titles and categories are read) and of a
   second round (the prefix's list from Redis, as while a shopper types and backspaces); the median
   time of each uncached part (popular queries, title phrases, categories).
"""

import os
import random
import time
import uuid

from django.core.management import call_command
from django.db import connection
from django.test import Client

from ai.common import scratch_database
from ai.search import suggestions
from ai.search.models import SearchQuery
from bench import timing
from bench.timing import stage_medians, timed_ms
from commerce.catalogue.models import Product

PRODUCTS = int(os.environ.get("BENCH_SUGGEST_PRODUCTS", "20000"))
LOGGED = int(os.environ.get("BENCH_SUGGEST_LOGGED", "200000"))
PREFIXES = int(os.environ.get("BENCH_SUGGEST_PREFIXES", "300"))
VISITORS = 5000
BATCH = 10_000


def seed_query_log(titles: list[str], rng: random.Random) -> list[str]:
    """``LOGGED`` searches of phrases from the titles, spread over 30 days; the distinct queries."""
    visitors = [uuid.uuid4() for _ in range(VISITORS)]
    products = list(Product.objects.values_list("pk", flat=True)[:1000])
    queries = set()
    rows = []
    for n in range(LOGGED):
        words = rng.choice(titles).lower().split()
        start = rng.randrange(len(words))
        query = " ".join(words[start:start + rng.randint(1, 3)])
        queries.add(query)
        found = 0 if rng.random() < 0.1 else rng.randint(1, 48)
        rows.append(SearchQuery(query=query, normalized=query, visitor_id=rng.choice(visitors), result_count=found,
                                clicked_product_id=rng.choice(products) if found and rng.random() < 0.2 else None))
        if len(rows) == BATCH or n == LOGGED - 1:
            SearchQuery.objects.bulk_create(rows)
            rows = []
    # auto_now_add stamped them all now: spread them over 40 days, a quarter older than suggestions read.
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {SearchQuery._meta.db_table} "
                       "SET created_at = created_at - (id % 40) * interval '1 day'")
    return sorted(queries)


def latency(prefixes: list[str]) -> dict:
    client = Client()
    timings = []
    for prefix in prefixes:
        response, elapsed = timed_ms(client.get, "/search/suggest", {"q": prefix})
        timings.append(elapsed)
        assert response.status_code == 200, response.content
    return timing.latency(timings)


def stage_timings(prefixes: list[str]) -> dict:
    """Median milliseconds of each uncached part of a prefix's list, to see where its time goes."""
    return stage_medians({
        "popular_queries": lambda p: suggestions.popular_prefixed_queries(p, suggestions.MAX_QUERIES),
        "title_phrases": lambda p: suggestions.title_phrases(p, suggestions.LIMIT),
        "categories": lambda p: suggestions.matching_categories(p, suggestions.MAX_CATEGORIES)}, prefixes)


def run() -> dict:
    rng = random.Random(11)
    with scratch_database():  # dropped afterwards, and its name keys the cache: nothing is cached yet
        started = time.perf_counter()
        call_command("seed_demo", products=PRODUCTS, customers=0, no_search_index=True, verbosity=0)
        seeded = time.perf_counter() - started
        titles = list(Product.objects.values_list("title", flat=True))
        started = time.perf_counter()
        queries = seed_query_log(titles, rng)
        logged = time.perf_counter() - started
        sources = rng.sample(queries, min(len(queries), PREFIXES // 2)) + rng.sample(titles, PREFIXES // 2)
        prefixes = list(dict.fromkeys(s.lower()[:rng.randint(2, 6)].strip() for s in sources))
        prefixes = [p for p in prefixes if len(p) >= 2]
        uncached = latency(prefixes)
        cached = latency(prefixes)
        stages = stage_timings(prefixes)
        answered = sum(bool(Client().get("/search/suggest", {"q": p}).json()["suggestions"]) for p in prefixes)
        return {"products": len(titles), "logged_searches": LOGGED, "distinct_queries": len(queries),
                "seed_s": round(seeded, 1), "log_s": round(logged, 1), "prefixes": len(prefixes),
                "prefixes_with_suggestions": answered, "uncached": uncached, "cached": cached,
                "stages_median_ms": stages}
