"""``python -m bench pages`` at a tiny size: the scratch shop's setup, gunicorn, the single client, locust's
saturated runs and the killed bench Redis all still run, and every page answers. No timing is asserted
here (the budget's verdicts included: a tiny run on a shared machine says nothing about them)."""

from tests.bench.harness import run_benchmark

# A hundred products and forty shoppers still train a model; a few requests per page, one locust run of
# each kind (3 s: a loaded machine answered none in 1 s) on one gunicorn worker.
TINY = {"BENCH_PAGES_PRODUCTS": "100", "BENCH_PAGES_CUSTOMERS": "40", "BENCH_PAGES_WARMUP": "2",
        "BENCH_PAGES_REQUESTS": "4", "BENCH_PAGES_INLINE_REQUESTS": "4", "BENCH_PAGES_REDIS_DOWN_REQUESTS": "2",
        "BENCH_PAGES_USERS": "2", "BENCH_PAGES_SECONDS": "3", "BENCH_PAGES_ROUNDS": "1", "BENCH_PAGES_WORKERS": "1"}
KINDS = {"ai", "plain", "grid", "inline"}
# The demo's own pages, and the copies without AI of those that have AI blocks.
REAL = {"home", "home-plain", "shop", "category", "search", "product", "product-plain", "fragment"}


def test_the_pages_benchmark_runs_end_to_end_at_a_tiny_size():
    report = run_benchmark("pages", TINY)

    assert report["setup"]["products"] == 100 and report["setup"]["model"] is not None
    checks = report["checks"]
    assert checks["ai_carousel_trending"] and checks["ai_no_fallback"] and checks["inline_personalised"]
    assert checks["ai_product_cards"] > 0 and checks["inline_product_cards"] > 0
    assert checks["home_ai_blocks"] > 0 and checks["home_plain_ai_blocks"] == 0
    assert checks["product_rows"] > 0 and checks["product_plain_rows"] == 0
    assert {kind: report["single_client"][kind]["statuses"] for kind in KINDS | REAL} == dict.fromkeys(
        KINDS | REAL, {"200": 4})
    saturated = report["saturated"]
    runs = saturated["ai_runs"] + saturated["plain_runs"] + [saturated["grid"], saturated["inline"]]
    assert len(runs) == 4
    every_run = [*(run for kind_runs in saturated["runs"].values() for run in kind_runs), *saturated["once"].values()]
    assert len(every_run) == 12  # six pages with and without AI, once each at this size; six pages once
    assert all(run["requests"] > 0 and run["failures"] == 0 for run in every_run)
    assert set(report["real_pages"]) == {"home", "shop", "category", "search", "product", "fragment"}
    assert {report["real_pages"][kind]["without_ai"] for kind in ("home", "product")} == {"home-plain", "product-plain"}
    redis_down = report["redis_down"]
    assert {kind: redis_down[kind]["statuses"] for kind in KINDS | REAL} == dict.fromkeys(KINDS | REAL, {"200": 2})
    assert redis_down["all_200"] and report["budget"]["redis_down_all_200"]
