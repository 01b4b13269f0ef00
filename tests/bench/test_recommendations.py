"""``python -m bench recommendations`` at a tiny size: the benchmark's whole code path still runs (a raw
insert that predated ``Order.experiments`` broke it once, unnoticed). No timing is asserted here."""

from tests.bench.harness import run_benchmark

TINY = {"BENCH_RECS_CUSTOMERS": "600", "BENCH_RECS_PRODUCTS": "200", "BENCH_RECS_EVENTS": "6000",
        "BENCH_RECS_ORDERS": "300", "BENCH_RECS_REFRESHES": "3"}


def test_the_recommendations_benchmark_runs_end_to_end_at_a_tiny_size():
    report = run_benchmark("recommendations", TINY)

    assert report["data"]["orders"] == 300
    # Random data: a customer may draw no event, or end with nothing left to recommend.
    assert report["training"]["model_customers"] >= 590
    assert report["training"]["customers_with_lists"] >= 0.95 * report["training"]["model_customers"]
    assert report["realtime"]["refreshes"] == 3
    # memory is reported, the lists are in Redis, and the retrain ran (BENCH_RECS_RETRAIN defaults on)
    assert report["training"]["peak_rss_mb"] > 0 and report["training"]["redis_used_memory_mb"] > 0
    assert report["training"]["redis_keys"] >= report["training"]["customers_with_lists"]
    assert report["training"]["retrain_end_to_end_s"] > 0
    # selection ran and chose among its candidates, its cost reported apart from the rest of training
    assert report["training"]["candidates"] > 1 and report["training"]["selected"]
    assert 0 < report["training"]["of_which_selection_s"] <= report["training"]["load_and_select_s"]
    # and so did each product-page surface's, on the same events and on the orders
    surfaces = report["training"]["surfaces"]
    assert set(surfaces) == {"similar", "bought_together"}
    assert all((surface["winner"] and surface["validation_seeds"] > 0) or surface["reason"]
               for surface in surfaces.values())
