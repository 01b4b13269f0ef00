"""``python -m bench search`` at a tiny size, in its own scratch database: seeding, the real indexing
pipeline, recall against exact search (plain and filtered), the API and the stage timings all still run.
No timing is asserted here."""

from tests.bench.harness import run_benchmark

TINY = {"BENCH_SEARCH_PRODUCTS": "100", "BENCH_SEARCH_QUERIES": "8", "BENCH_SEARCH_FILTERED_QUERIES": "2"}


def test_the_search_benchmark_runs_end_to_end_at_a_tiny_size():
    report = run_benchmark("search", TINY)

    assert report["index"]["products"] == 100 and report["queries"] == 8
    # A hundred products are few enough for every path to find (nearly) the exact top 50.
    served = report["semantic"]["served"]
    assert served["recall@50"] >= 0.9
    assert all(hnsw["recall@50"] >= 0.9 for hnsw in report["semantic"]["hnsw"])
    filtered = {row["filter"]: row for row in report["semantic_filtered"]}
    assert {"in stock", "price 10-30"} < set(filtered)
    assert any(name.startswith("department: ") for name in filtered)
    assert all(0 <= row["recall@50"] <= 1 and 0 < row["share"] <= 1 for row in filtered.values())
    assert filtered["in stock"]["recall@50"] >= 0.9
    assert set(report["stages_median_ms"]) == {"encode_query", "keyword_search", "semantic_search", "hybrid_rank"}
