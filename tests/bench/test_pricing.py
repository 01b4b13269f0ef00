"""``python -m bench pricing`` at a tiny size, in its own scratch database: the catalogue and event
loads, the rules and demand model, demand signals and two pricing slots all still run. No timing is
asserted here."""

from tests.bench.harness import run_benchmark

TINY = {"BENCH_PRICING_PRODUCTS": "200", "BENCH_PRICING_EVENTS": "20000"}
OUTCOMES = ("held", "still_pending", "raced", "applied", "pending", "not_governed", "contradictory_bounds")


def test_the_pricing_benchmark_runs_end_to_end_at_a_tiny_size():
    report = run_benchmark("pricing", TINY)

    assert report["catalogue"]["products"] == 200
    partitions = report["events"]["partitions"]
    assert sum(month["rows"] for name, month in partitions.items() if name.startswith("events_")) == 20000
    assert partitions["catalogue_products_used"] == 200  # every event slot is one of the scratch products
    assert report["rules"]["model_rules"] == 2
    assert report["signals_s"]["rows"] == 200
    first, second = report["pricing_first_slot"], report["second_slot"]
    # Every product is decided once per slot, one way or another.
    assert first["products"] == 200 and sum(first.get(outcome, 0) for outcome in OUTCOMES) == 200
    assert report["changes_after_first_slot"] == {"applied": first.get("applied", 0),
                                                  "pending": first.get("pending", 0)}
    assert (second["signals"], second["products"]) == (200, 200)
    assert sum(second.get(outcome, 0) for outcome in OUTCOMES) == 200
