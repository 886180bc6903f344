"""A per-client request throttle: a token bucket per client address, in this process's memory.

Each client may make ``per_minute`` requests in a burst and then one every ``60 / per_minute``
seconds. At most ``CLIENTS_TRACKED_MAX`` clients are remembered; past that the least recently seen
are forgotten (a forgotten client starts again with a full bucket). Several hub processes each
count their own requests.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

__all__ = ["CLIENTS_TRACKED_MAX", "ClientThrottle"]

CLIENTS_TRACKED_MAX: Final = 10_000
SECONDS_PER_MINUTE: Final = 60.0


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class ClientThrottle:
    """Admits or refuses each request of a client; the clock is monotonic seconds, passed in for tests."""

    def __init__(
        self,
        per_minute: int,
        *,
        clients_max: int = CLIENTS_TRACKED_MAX,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_minute < 1 or clients_max < 1:
            raise ValueError("a throttle admits at least one request a minute and tracks at least one client")
        self._capacity = float(per_minute)
        self._per_second = per_minute / SECONDS_PER_MINUTE
        self._clients_max = clients_max
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def retry_after(self, client: str) -> int | None:
        """``None`` when the request is admitted (it uses up a token); otherwise the whole seconds
        after which the client's next request will be."""
        now = self._clock()
        bucket = self._buckets.pop(client, None)
        if bucket is None:
            bucket = _Bucket(tokens=self._capacity, updated=now)
        bucket.tokens = min(self._capacity, bucket.tokens + (now - bucket.updated) * self._per_second)
        bucket.updated = now
        self._buckets[client] = bucket  # the most recently seen last
        while len(self._buckets) > self._clients_max:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        return max(1, math.ceil((1 - bucket.tokens) / self._per_second))
