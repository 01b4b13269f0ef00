"""``python -m bench facets`` at a tiny size, in its own scratch database: seeding, the search page's and
both category pages' rounds still run. No timing is asserted here."""

from tests.bench.harness import run_benchmark

TINY = {"BENCH_FACETS_PRODUCTS": "200", "BENCH_FACETS_ROUNDS": "3"}


def test_the_facets_benchmark_runs_end_to_end_at_a_tiny_size():
    report = run_benchmark("facets", TINY)

    assert report["products"] == 200 and 0 < report["active"] <= 200
    assert set(report["search_page_96_candidates"]) == {"none", "one_material", "materials_price_in_stock"}
    assert 0 < report["subcategory"]["products"] <= report["department"]["products"] < 200
    assert set(report["department"]["one_material"]) == {"counts", "page"}
