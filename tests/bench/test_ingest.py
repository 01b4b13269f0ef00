"""``python -m bench ingest`` at a tiny size, on the suite's test database and Redis database: recording
from web-worker processes, the drainer subprocesses, the SIGKILLed drainer and the aggregations over
generated partitions all still run. No timing is asserted here. Most of its half minute is the killed
drainer's lease expiring (15 s) before its batch is reclaimed, as in production."""

import pytest
from django.db import connection

from bench.servers import database_url
from commerce.events import partitions
from commerce.events.models import CustomerEvent
from tests.bench.harness import run_benchmark

# Committed by the benchmark's own processes: they must see the test database, which is flushed after.
pytestmark = pytest.mark.django_db(transaction=True)

TINY = {"BENCH_INGEST_EVENTS": "2000", "BENCH_CAPACITY_EVENTS": "1000", "BENCH_AGG_EVENTS": "20000",
        "BENCH_KILL_EVENTS": "15000",  # the fewest that let it kill a drainer after a committed batch
        "BENCH_DRAIN_INTERVAL": "0.2"}


def test_the_ingest_benchmark_runs_end_to_end_at_a_tiny_size_and_removes_what_it_created():
    report = run_benchmark("ingest", {**TINY, "DATABASE_URL": database_url(connection.settings_dict)})

    sustained, alone, killed = report["sustained"], report["each_side_alone"], report["killed_drainer"]
    assert (sustained["rows"], sustained["lost"], sustained["duplicated"]) == (2000, 0, 0)
    assert sustained["recorders"] == 3 and sustained["drainers"] == 2  # the web tier's workers; two drainers
    assert sustained["drainer_rows"] == sum(sustained["rows_per_drainer"]) == 2000
    assert killed["second_drainer_rows"] == 15000 - killed["at_kill"]["rows_committed"]
    assert (alone["lost"], alone["duplicated"]) == (0, 0)
    assert (killed["rows"], killed["lost"], killed["duplicated"]) == (15000, 0, 0)
    # Killed with a batch taken and not acknowledged, after at least one batch was committed.
    assert killed["at_kill"]["processing_after_kill"] > 0 and killed["at_kill"]["rows_committed"] > 0
    aggregations = report["aggregations"]
    assert sum(month["rows"] for name, month in aggregations["load"].items() if name.startswith("events_")) == 20000
    assert set(aggregations["queries"]) == {
        "product_demand (8 days; pricing's demand signals)", "preferred_categories (1 customer, 90 days)",
        "recently_viewed (1 customer, 30 days)", "popular_products (all, 7 days)"}
    assert aggregations["queries"]["product_demand (8 days; pricing's demand signals)"]["rows"] > 0
    assert CustomerEvent.objects.count() == 0
    assert not any(name.startswith("events_customerevent_y2199") for name in partitions.existing_partitions())
