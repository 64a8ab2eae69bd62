"""Closed-loop load generators: N concurrent callers, each waits for its answer.

Both the ceiling (plain kombu request/reply) and the gateway measurement use
the same loop, so their ratio compares the systems, not the clients.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import eventlet


@dataclass
class Result:
    name: str
    concurrency: int
    requests: int
    seconds: float
    latencies_ms: list[float]
    errors: int

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
        return ordered[index]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms)

    @property
    def p99(self) -> float:
        return self.percentile(99)


def closed_loop(
    name: str,
    make_caller: Callable[[], Callable[[], bool]],
    concurrency: int,
    requests: int,
    warmup: int = 200,
) -> Result:
    """Run ``requests`` calls over ``concurrency`` green callers; time each call."""
    callers = [make_caller() for _ in range(concurrency)]
    for index in range(min(warmup, requests)):
        callers[index % concurrency]()
    latencies: list[float] = []
    errors = 0
    remaining = [requests]

    def worker(call: Callable[[], bool]) -> None:
        nonlocal errors
        while remaining[0] > 0:
            remaining[0] -= 1
            started = time.perf_counter()
            ok = call()
            latencies.append((time.perf_counter() - started) * 1000)
            if not ok:
                errors += 1

    pool = eventlet.GreenPool(concurrency)
    started = time.perf_counter()
    for call in callers:
        pool.spawn(worker, call)
    pool.waitall()
    return Result(name, concurrency, len(latencies), time.perf_counter() - started, latencies, errors)
