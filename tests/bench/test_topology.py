"""``python -m bench topology`` at a tiny size: its own PostgreSQL and Redis on TCP ports, one gunicorn, one
Celery worker per queue plus a second realtime worker SIGKILLed mid-load, beat, a second event drainer,
and a few seconds of mixed load. Every page kind answers, no event is lost or stored twice, and the
realtime tasks the killed worker held are run by the other. No timing is asserted here."""

from tests.bench.harness import run_benchmark

# A hundred products still train a model; four shoppers for 8 s, each starting with one request of every
# kind, queue realtime refreshes on first product views and add-to-carts: the killed worker is killed as
# soon as it holds one, and its tasks come back after the visibility timeout (5 s) and a sweep (10 s).
TINY = {"BENCH_TOPOLOGY_WEB": "1", "BENCH_TOPOLOGY_WEB_WORKERS": "1", "BENCH_TOPOLOGY_REALTIME_WORKERS": "2",
        "BENCH_TOPOLOGY_PRODUCTS": "100", "BENCH_TOPOLOGY_CUSTOMERS": "40", "BENCH_TOPOLOGY_USERS": "4",
        "BENCH_TOPOLOGY_SECONDS": "8", "BENCH_TOPOLOGY_KILL_AT": "0.3", "BENCH_TOPOLOGY_VISIBILITY_TIMEOUT": "5",
        "BENCH_TOPOLOGY_WARMUP": "0"}
KINDS = {"home", "category", "product", "search", "add_to_cart", "beacon"}


def test_the_topology_runs_on_its_own_servers_and_a_killed_realtime_worker_loses_nothing():
    report = run_benchmark("topology", TINY)

    load = report["load"]
    assert KINDS <= set(load)
    assert {kind: load[kind]["failures"] for kind in KINDS} == dict.fromkeys(KINDS, 0)
    assert all(load[kind]["requests"] > 0 for kind in KINDS)
    events = report["events"]
    assert events["sent"] > 0 and (events["lost"], events["duplicated"]) == (0, 0)
    assert events["rows"] == events["sent"]
    assert {"view", "search", "add_to_cart", "recommendation_impression"} <= set(events["by_type"])
    realtime = report["realtime"]
    assert realtime["in_hand_when_killed"] > 0
    assert realtime["in_hand_finished_by_others"] == realtime["in_hand_when_killed"]
    assert realtime["unfinished"] == 0 and realtime["tasks_finished"] == realtime["tasks_received"]
    assert report["kill"]["worker"] == "realtime-2" and report["realtime"]["finished_per_worker"]["realtime-1"] > 0
    assert report["drainers"]["celery_drain_rows"] + report["drainers"]["second_drainer_rows"] >= events["rows"]
