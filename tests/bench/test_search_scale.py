"""``python -m bench search_scale`` at a small size, in its own scratch database: real sources embedded,
the catalogue grown from them, the served IVFFlat indexes built (the catalogue's and, in smoke mode, each
department's), recall against exact search (plain, wider scans, per department, after churn) and the API
all still run; the database kept (``BENCH_SCALE_KEEP``) serves a second, API-only run that profiles
requests and drops it. No timing is asserted here."""

import pytest
from django.db import connection

from ai.common import drop_database
from tests.bench.harness import run_benchmark

# The smallest catalogue that gets an IVFFlat index (vector_index.IVFFLAT_MIN_PRODUCTS is 10,000).
# Smoke mode: departments of 500 embeddings get their own index, and searches of more than 300 matches
# read it, so the department path runs at this size.
SMALL = {"BENCH_SCALE_PRODUCTS": "12000", "BENCH_SCALE_SOURCES": "200", "BENCH_SCALE_QUERIES": "4",
         "BENCH_SCALE_FILTERED_QUERIES": "2", "BENCH_SCALE_SMOKE": "1"}


@pytest.mark.django_db
def test_the_scale_benchmark_builds_the_served_index_measures_recall_and_keeps_its_database_for_the_api():
    report = run_benchmark("search_scale", {**SMALL, "BENCH_SCALE_KEEP": "1"}, timeout=900)

    assert report["catalogue"]["products"] == 12000 and report["queries"] == 4
    assert report["sources"]["sources"] == 200 and report["sources"]["held_out"] == 20
    index = report["index"]
    assert index["exists"] and 0 < index["probes"] < index["lists"] < 12000
    assert index["index_mb"] > 0 and index["table_mb"] > 0
    recalls = [report["semantic"]["recall@50"], report["churn"]["after"]["recall@50"],
               report["churn"]["queries_for_new_products"]["recall@50"],
               *(row["recall@50"] for row in report["semantic_wider_scans"]),
               *(row["recall@50"] for row in report["semantic_departments"])]
    # IVFFlat scanning a few lists of a catalogue grown around 200 real vectors finds nearly every true
    # neighbour (0.998–1.0 measured at this size); a broken probe or index setting falls far below
    assert min(recalls) >= 0.9
    assert report["semantic_departments"] and all(0 < row["share"] < 1 for row in report["semantic_departments"])
    # each department's queries asked twice (cold, then warm pages) find the same products
    assert all(row["second_pass"]["recall@50"] == row["recall@50"] and row["second_pass"]["p50_ms"] > 0
               for row in report["semantic_departments"])
    assert report["churn"]["products_added"] == 120 and not report["churn"]["index_rebuilt"]
    # every department got its own index, which its searches read
    departments = index["department_indexes"]
    assert departments["count"] == len(report["semantic_departments"]) // 2 > 0
    assert all(0 < entry["lists"] < entry["rows"] and entry["index_mb"] > 0 and entry["build_s"] >= 0
               for entry in departments["each"])
    built = {entry["index"] for entry in departments["each"]}
    alone = [row for row in report["semantic_departments"] if row["max_price"] is None]
    assert all(row["plan"] == "department" and built & set(row["indexes_read"]) for row in alone)
    assert databases_named(report["database"]) == 1  # kept

    try:
        again = run_benchmark("search_scale", {**SMALL, "BENCH_SCALE_DATABASE": report["database"],
                                               "BENCH_SCALE_PROFILE": "2", "BENCH_SCALE_DROP": "1"}, timeout=300)
    finally:  # never leave the kept database behind, whatever failed (outside the test's transaction)
        drop_database(report["database"])

    # the kept catalogue measured again, without rebuilding it: its rows, held-out ones and churn's included
    assert again["products"] == (report["catalogue"]["products"] + report["sources"]["held_out"]
                                 + report["churn"]["products_added"])
    assert again["queries"] == 4
    assert again["api_uncached_embedding"]["p50_ms"] > 0 and again["stages_median_ms"]["hybrid_rank"] > 0
    profile = again["api_profile"]
    assert profile["requests"] == 2 and profile["statements_per_request"] > 0
    assert all(entry["calls"] > 0 for entry in profile["statements_ms_per_request"])
    assert any("ai/search/api.py" in line and "(get)" in line for line in profile["cumulative"])
    assert databases_named(report["database"]) == 0  # dropped


def databases_named(name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_database WHERE datname = %s", [name])
        return cursor.fetchone()[0]
