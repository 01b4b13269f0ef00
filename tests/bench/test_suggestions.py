"""``python -m bench suggestions`` at a tiny size, in its own scratch database: seeding, the query log and
both rounds of requests still run. No timing is asserted here."""

from tests.bench.harness import run_benchmark

TINY = {"BENCH_SUGGEST_PRODUCTS": "100", "BENCH_SUGGEST_LOGGED": "2000", "BENCH_SUGGEST_PREFIXES": "20"}


def test_the_suggestions_benchmark_runs_end_to_end_at_a_tiny_size():
    report = run_benchmark("suggestions", TINY)

    assert report["products"] == 100 and report["logged_searches"] == 2000
    # Every prefix is cut from a title or a logged query, so (nearly) all of them complete to something.
    assert 0 < report["prefixes"] <= 20 and report["prefixes_with_suggestions"] >= report["prefixes"] - 2
    assert set(report["uncached"]) == set(report["cached"]) == {"p50_ms", "p99_ms", "mean_ms"}
