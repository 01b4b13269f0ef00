"""Facet counts (``commerce.catalogue.facets``) at catalogue scale, in a scratch database.

    python -m bench facets    # BENCH_FACETS_PRODUCTS=100000, BENCH_FACETS_ROUNDS=100

1. ``seed_demo --products N`` (no search index) into a scratch database.
2. The search page's part: the counts of every facet and the narrowed ids over 96 candidates (what
   ``search()`` hands the page) drawn at random, with no facet, one material, and two materials plus a price
   band and in stock selected: p50/p99.
3. A category page's part over a whole department (the largest one, and a subcategory of it), with the
   same selections: p50/p99 of the counts, then of ``GET /shop/<slug>/?…`` through Django's full request
   stack (counts, the filtered and sorted page of 24 cards, the template).
"""

import os
import random
import time
from urllib.parse import urlencode

from django.core.management import call_command
from django.db.models import Count
from django.http import QueryDict
from django.test import Client

from ai.common import scratch_database
from bench.timing import latency, timed_ms
from commerce.catalogue.facets import Buckets, Selection, counts
from commerce.catalogue.models import Category, Product

PRODUCTS = int(os.environ.get("BENCH_FACETS_PRODUCTS", "100000"))
ROUNDS = int(os.environ.get("BENCH_FACETS_ROUNDS", "100"))
CANDIDATES = 96  # ai.search.storefront.MAX_RESULTS


def selections(products) -> dict[str, str]:
    """No facet, one material, and two materials with a price band and in stock: the listing's own most
    common materials (set on nearly every demo product), so every selection finds something."""
    materials = [m for m, _ in products.values_list("attributes__material").annotate(n=Count("pk"))
                 .order_by("-n")[:2]]
    return {"none": "", "one_material": urlencode({"material": materials[0]}),
            "materials_price_in_stock": urlencode([("material", m) for m in materials]
                                                  + [("price", "25-50"), ("in_stock", "1")])}


def timed(action, rounds: int) -> dict:
    return latency([timed_ms(action)[1] for _ in range(rounds)])


def search_page(rng: random.Random, ids: list[int]) -> dict:
    buckets = Buckets.below(None)
    results = {}
    for name, query in selections(Product.objects.active()).items():
        selection = Selection.from_query(QueryDict(query), buckets)

        def facet_candidates(selection=selection):
            candidates = Product.objects.active().filter(pk__in=rng.sample(ids, CANDIDATES))
            counts(candidates, selection, buckets)
            list(selection.filter(candidates, buckets).values_list("pk", flat=True))

        results[name] = timed(facet_candidates, ROUNDS)
    return results


def category_page(category: Category) -> dict:
    buckets = Buckets.below(category)
    products = Product.objects.active().in_category(category)
    client = Client()
    results = {"products": products.count()}
    for name, query in selections(products).items():
        selection = Selection.from_query(QueryDict(query), buckets)
        url = f"{category.get_absolute_url()}?{query}"
        assert client.get(url).status_code == 200
        results[name] = {"counts": timed(lambda s=selection: counts(products, s, buckets), ROUNDS),
                         "page": timed(lambda u=url: client.get(u), ROUNDS)}
    return results


def run() -> dict:
    rng = random.Random(16)
    with scratch_database():
        started = time.perf_counter()
        call_command("seed_demo", products=PRODUCTS, customers=0, no_search_index=True, verbosity=0)
        seeded = time.perf_counter() - started
        ids = list(Product.objects.active().values_list("pk", flat=True))
        department = max(Category.objects.filter(parent=None), key=lambda c: Product.objects.in_category(c).count())
        subcategory = max(department.children.all(), key=lambda c: Product.objects.in_category(c).count())
        return {"products": Product.objects.count(), "active": len(ids), "seed_s": round(seeded, 1),
                "search_page_96_candidates": search_page(rng, ids),
                "department": {"slug": department.slug, **category_page(department)},
                "subcategory": {"slug": subcategory.slug, **category_page(subcategory)}}
