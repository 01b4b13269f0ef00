"""``python -m bench [name ...]``: run the named benchmarks (default: all registered), print their results.

Results are printed as JSON, one block per benchmark. A benchmark that fails is reported and the
others still run; the exit status is 1 if any failed. Environment knobs are documented in each module
(e.g. ``BENCH_SKIP_AGG=1`` skips the 10M-event aggregation part of ``ingest``).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback

# Registered benchmark modules (bench/<name>.py, each with run() -> dict), in the order "all" runs them.
BENCHMARKS = ["ingest", "embeddings", "search", "search_scale", "search_calibration", "suggestions", "facets",
              "recommendations", "recommendation_surfaces", "recommendation_rules", "pricing", "pages", "freshness",
              "topology"]


def main(argv: list[str]) -> int:
    if any(arg in {"-h", "--help"} for arg in argv):
        print(__doc__.strip())
        print("\nRegistered: " + ", ".join(BENCHMARKS))
        return 0
    names = argv or BENCHMARKS
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; registered: {', '.join(BENCHMARKS)}",
              file=sys.stderr)
        return 2

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vitrine.settings")
    import django

    django.setup()

    failed = []
    for name in names:
        print(f"== {name}", flush=True)
        started = time.monotonic()
        try:
            result = importlib.import_module(f"bench.{name}").run()
        except Exception:  # report and go on with the next benchmark
            traceback.print_exc()
            failed.append(name)
            print(f"== {name} FAILED after {time.monotonic() - started:.1f} s", flush=True)
            continue
        print(json.dumps(result, indent=2, default=str))
        print(f"== {name} done in {time.monotonic() - started:.1f} s", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
