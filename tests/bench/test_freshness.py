"""``python -m bench freshness`` at a tiny size: the scratch shop, gunicorn, a realtime worker, and for
each shopper an add-to-cart then polls of their row until it changes. No timing is asserted here (a tiny
run on a shared machine says nothing about the target), only that every shopper's row did change."""

from tests.bench.harness import run_benchmark

# A hundred products and forty shoppers still train a model; two measured shoppers of each kind.
TINY = {"BENCH_PAGES_PRODUCTS": "100", "BENCH_PAGES_CUSTOMERS": "40", "BENCH_PAGES_WORKERS": "1",
        "BENCH_FRESHNESS_SHOPPERS": "2"}


def test_the_freshness_benchmark_sees_every_shoppers_row_change_after_an_add_to_cart():
    report = run_benchmark("freshness", TINY)

    assert report["setup"]["products"] == 100 and report["setup"]["model"] is not None
    for kind in ("signed_in", "anonymous"):
        assert report[kind]["shoppers"] == 2 and report[kind]["unchanged_after_timeout"] == 0
        assert report[kind]["p95_s"] is not None
