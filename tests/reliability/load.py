"""A small load driver on loopback: kinds of requests sent by workers in a loop until a deadline, each
answer timed and judged; the report gives throughput, the p50 and p99 latencies and the errors."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field

Request = Callable[[], Awaitable[bool]]
"""Sends one request and says whether its answer was the one due."""


@dataclass
class LoadReport:
    """How long the load was held, and each kind's latencies and errors."""

    seconds: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def count(self, kinds: Collection[str]) -> int:
        return sum(len(self.latencies[kind]) for kind in kinds)

    def percentile_milliseconds(self, percent: int, kinds: Collection[str]) -> float:
        """The latency under which ``percent`` of these kinds' requests were answered."""
        latencies = [latency for kind in kinds for latency in self.latencies[kind]]
        if len(latencies) < 2:
            return latencies[0] * 1000 if latencies else 0.0
        return statistics.quantiles(latencies, n=100, method="inclusive")[percent - 1] * 1000


async def drive(kinds: dict[str, tuple[Request, int]], seconds: float) -> LoadReport:
    """Run each kind's request with its number of workers, each worker sending one request after
    another until ``seconds`` have passed; a request under way then finishes."""
    report = LoadReport()
    deadline = time.perf_counter() + seconds

    async def worker(kind: str, request: Request) -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            fine = await request()
            report.latencies[kind].append(time.perf_counter() - started)
            if not fine:
                report.errors[kind] += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(kind, request) for kind, (request, workers) in kinds.items() for _ in range(workers)))
    report.seconds = time.perf_counter() - started
    return report
