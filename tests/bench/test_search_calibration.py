"""``python -m bench search_calibration`` at a tiny size, without the database part (typo correction reads
the shop's indexed catalogue): the similarity spreads and the floor's shares of both catalogues."""

from ai.search.retrieval import SEMANTIC_SIMILARITY_FLOOR
from tests.bench.harness import run_benchmark


def test_the_calibration_measures_relevant_and_nonsense_similarities_at_a_tiny_size(tmp_path):
    retail = tmp_path / "interactions.csv"
    retail.write_text("user_id,item_id,timestamp,event_type,quantity,price,description\n" + "".join(
        f"1,{i},2011-01-01T10:00:00,purchase,1,1.25,{name}\n" for i, name in enumerate([
            "WHITE HANGING HEART T-LIGHT HOLDER", "RED HANGING HEART T-LIGHT HOLDER", "WHITE METAL LANTERN",
            "CREAM CUPID HEARTS COAT HANGER", "KNITTED UNION FLAG HOT WATER BOTTLE"])))

    report = run_benchmark("search_calibration", {"BENCH_CALIBRATION_PRODUCTS": "100",
                                                  "BENCH_CALIBRATION_TYPOS": "0", "BENCH_RETAIL_CSV": str(retail)})

    demo = report["demo"]
    assert demo["best_relevant_kept"]["head"]["0.30"] >= 0.9  # a product's noun is near it
    assert set(demo["relevant_pairs_kept"]["all"]) == {"0.25", "0.30", "0.35", "0.40"}
    assert report["retail"]["products"] == 5 and 0 < report["retail"]["best_relevant"]["p50"] <= 1
    nonsense = report["best_match_of_queries_nothing_matches"]
    assert nonsense["demo"]["written"]["xyzzy qwfp plorth"] < SEMANTIC_SIMILARITY_FLOOR
    assert set(nonsense) == {"demo", "retail"}
