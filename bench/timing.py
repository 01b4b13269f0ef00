"""Timing what a benchmark measures: one call in milliseconds, and the summaries the reports give."""

import statistics
import time
from collections.abc import Callable, Iterable
from typing import Any

from bench import percentile


def timed_ms(call: Callable, *args, **kwargs) -> tuple[Any, float]:
    """What ``call(*args, **kwargs)`` returned, and how long it took in milliseconds."""
    started = time.perf_counter()
    result = call(*args, **kwargs)
    return result, (time.perf_counter() - started) * 1000


def latency(timings_ms: list[float], *, digits: int = 2) -> dict:
    """p50, p99 (nearest rank) and mean of a list of milliseconds."""
    return {"p50_ms": round(percentile(timings_ms, 50), digits), "p99_ms": round(percentile(timings_ms, 99), digits),
            "mean_ms": round(statistics.mean(timings_ms), digits)}


def stage_medians(stages: dict[str, Callable], inputs: Iterable) -> dict[str, float]:
    """Median milliseconds of each stage called on every input (each input through every stage in turn),
    to see where a request's time goes."""
    timings = {name: [] for name in stages}
    for given in inputs:
        for name, stage in stages.items():
            timings[name].append(timed_ms(stage, given)[1])
    return {name: round(statistics.median(values), 2) for name, values in timings.items()}
