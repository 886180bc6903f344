"""A small load driver on loopback: sends prepared requests with a fixed concurrency, bounded in
count and time, and reports throughput, latency percentiles and errors."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp

REQUEST_TIMEOUT_SECONDS = 30


@dataclass(frozen=True, slots=True)
class Request:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class LoadReport:
    requests: int
    errors: int
    seconds: float
    latencies_seconds: tuple[float, ...]

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @classmethod
    def combined(cls, reports: Sequence[LoadReport]) -> LoadReport:
        """Several runs' requests and time as one run."""
        return cls(
            sum(report.requests for report in reports),
            sum(report.errors for report in reports),
            sum(report.seconds for report in reports),
            tuple(latency for report in reports for latency in report.latencies_seconds),
        )

    def percentile_milliseconds(self, percent: int) -> float:
        cuts = statistics.quantiles(self.latencies_seconds, n=100, method="inclusive")
        return cuts[percent - 1] * 1000


def client(concurrency: int) -> aiohttp.ClientSession:
    """A client that keeps up to ``concurrency`` connections open between the runs it drives."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS))


async def drive(
    session: aiohttp.ClientSession,
    base_url: str,
    requests: Sequence[Request],
    *,
    concurrency: int,
    time_limit_seconds: float,
) -> LoadReport:
    """Send every request (or as many as fit in the time limit) with ``concurrency`` in flight.
    A non-2xx answer or a failed connection counts as an error."""
    queue = iter(requests)
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + time_limit_seconds

    async def worker() -> None:
        nonlocal errors
        for request in queue:
            if time.perf_counter() > deadline:
                return
            started = time.perf_counter()
            try:
                async with session.post(base_url + request.path, data=request.body, headers=request.headers) as answer:
                    await answer.read()
                    ok = 200 <= answer.status < 300
            except aiohttp.ClientError:
                ok = False
            latencies.append(time.perf_counter() - started)
            errors += not ok

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    return LoadReport(len(latencies), errors, seconds, tuple(latencies))
