"""``python -m bench recommendation_surfaces`` at a small size: the measurement's whole code path runs and
reports shares. No timing is asserted here."""

from tests.bench.harness import run_benchmark

SMALL = {"BENCH_SURFACES_PRODUCTS": "120", "BENCH_SURFACES_CUSTOMERS": "40"}


def test_the_surfaces_benchmark_measures_every_available_product():
    report = run_benchmark("recommendation_surfaces", SMALL, timeout=600)

    assert report["products_available"] > 0
    for share in ("similar_rows_with_4_or_more", "bought_together_rows_with_4_or_more",
                  "products_with_an_associated_product"):
        assert 0 <= report[share] <= 1
    assert 0 < report["similar_same_category_share_mean"] <= 1
