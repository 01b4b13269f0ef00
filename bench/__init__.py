"""Benchmarks, run with ``python -m bench [name ...]`` (``make bench``); figures go in docs/benchmarks.md.

Each module exposes ``run() -> dict`` and is registered in ``bench.__main__.BENCHMARKS``. They run
against the development database and Redis (``vitrine.settings``) and remove every row they create.
"""


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile (0–100) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]
