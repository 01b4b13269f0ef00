"""``python -m bench recommendations`` at a tiny size: the benchmark's whole code path still runs (a raw
insert that predated ``Order.experiments`` broke it once, unnoticed). No timing is asserted here."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
TINY = {"BENCH_RECS_CUSTOMERS": "600", "BENCH_RECS_PRODUCTS": "200", "BENCH_RECS_EVENTS": "6000",
        "BENCH_RECS_ORDERS": "300", "BENCH_RECS_REFRESHES": "3"}


def test_the_recommendations_benchmark_runs_end_to_end_at_a_tiny_size():
    completed = subprocess.run([sys.executable, "-m", "bench", "recommendations"], cwd=ROOT,
                               env={**os.environ, **TINY, "HF_HUB_OFFLINE": "1"},
                               capture_output=True, text=True, timeout=600)

    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    report = json.loads(completed.stdout[completed.stdout.index("\n{") + 1:completed.stdout.rindex("}") + 1])
    assert report["data"]["orders"] == 300
    # Random data: a customer may draw no event, or end with nothing left to recommend.
    assert report["training"]["model_customers"] >= 590
    assert report["training"]["customers_with_lists"] >= 0.95 * report["training"]["model_customers"]
    assert report["realtime"]["refreshes"] == 3
