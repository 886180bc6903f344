"""Ingestion's use cases: count the deliveries refused at the door, and show operators what arrived.

A refusal is counted in memory and written by the request that refused it, unless a write is
already under way in this process: then it waits for the next write, which takes every count
gathered meanwhile. So however many refusals arrive, a process has at most one refusal write in
flight and holds at most ``PENDING_BUCKETS_MAX`` buckets: a flood of bad signatures costs neither
connections nor rows. Recording never raises and never waits long, so the answer to the vendor is
the same whether or not the count was written; counts a failed write could not store are kept for
the next one, and writes pause for ``WRITE_PAUSE_SECONDS`` after a failure. The readers write what
is waiting in this process first, so that a refusal is listed as soon as it is answered.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection
from datetime import UTC, datetime, tzinfo

import structlog
from sqlalchemy.exc import DBAPIError

from adapters.errors import AdapterError
from adapters.ingestion.errors import IngestionUnavailable
from adapters.ingestion.model import (
    VENDORS,
    ActivitySpan,
    EventPage,
    EventQuery,
    RefusalBucket,
    RefusalCount,
    VendorActivity,
    VendorHealth,
    VendorSummary,
    Window,
    activity_bounds,
    refusal_of,
)
from adapters.ingestion.ports import OpenDiscrepancies, PullRuns
from adapters.ingestion.store import SqlIngestionStore
from ledger.model import Source

HEALTH_READ_SECONDS_MAX = 5.0
"""How long reading the vendors' health may take: a scrape of the metrics must not hang."""
PENDING_BUCKETS_MAX = 1000
WRITE_ROUNDS_MAX = 3
"""Writes one recording request makes at most, for counts that arrived during its own writes."""
WRITE_TIMEOUT_SECONDS = 2.0
WRITE_PAUSE_SECONDS = 5.0

log = structlog.get_logger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Ingestion:
    """Refused deliveries counted, and the operators' view of every delivery."""

    def __init__(
        self,
        store: SqlIngestionStore,
        clock: Callable[[], datetime] = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._clock = clock
        self._monotonic = monotonic
        self._pending: dict[RefusalBucket, RefusalCount] = {}
        self._writing = asyncio.Lock()
        self._paused_until = 0.0
        self._dropped = 0

    async def refused(self, vendor: Source, error: AdapterError, delivery_id: str | None = None) -> None:
        """Count a delivery refused at the door with this error. Never raises.

        ``delivery_id`` is the vendor's id of the delivery, to be given only once the delivery's
        signature verified.
        """
        try:
            self._count(RefusalCount.of(refusal_of(vendor, error, self._clock(), delivery_id)))
            if self._writing.locked() or self._monotonic() < self._paused_until:
                return  # the write under way, or the next one, takes this count
            await self._write(WRITE_ROUNDS_MAX)
        # Counting a refusal must never change the answer the vendor gets, whatever goes wrong here.
        except Exception as exc:
            # The type only: a database error's text quotes its statement's parameters.
            log.error("refusal_not_counted", vendor=vendor.value, error=type(exc).__name__)  # noqa: TRY400

    async def flush_refusals(self) -> None:
        """Write every count waiting in this process, even during a pause after a failure. Never raises."""
        await self._write(rounds=1)

    async def events(self, query: EventQuery) -> EventPage:
        """A page of events, newest first. Raises ``IngestionUnavailable``."""
        await self.flush_refusals()
        return await self._store.events(query)

    async def summary(self, window: Window) -> tuple[VendorSummary, ...]:
        """What each vendor delivered in the window. Raises ``IngestionUnavailable``."""
        await self.flush_refusals()
        return await self._store.summary(window)

    async def activity(self, span: ActivitySpan, zone: tzinfo) -> tuple[VendorActivity, ...]:
        """Each vendor's deliveries, refusals and lag over the span up to now, period by period (days
        start at midnight in ``zone``), read within ``HEALTH_READ_SECONDS_MAX``.

        Raises ``IngestionUnavailable``, also when the database cannot be read in time.
        """
        try:
            async with asyncio.timeout(HEALTH_READ_SECONDS_MAX):
                await self.flush_refusals()
                return await self._store.activity(activity_bounds(self._clock(), span, zone))
        except TimeoutError:
            raise IngestionUnavailable(f"the activity was not read within {HEALTH_READ_SECONDS_MAX} s") from None

    async def health(
        self, configured: Collection[Source], pulls: PullRuns, discrepancies: OpenDiscrepancies
    ) -> tuple[VendorHealth, ...]:
        """How each vendor stands, read within ``HEALTH_READ_SECONDS_MAX``.

        Raises ``IngestionUnavailable`` when the database cannot be read in time.
        """
        try:
            async with asyncio.timeout(HEALTH_READ_SECONDS_MAX):
                await self.flush_refusals()
                counts = await self._store.delivery_counts()
                last_pulls = await pulls.last_pulls()
                open_discrepancies = await discrepancies.open_per_vendor()
        except TimeoutError:
            raise IngestionUnavailable(f"the vendors' health was not read within {HEALTH_READ_SECONDS_MAX} s") from None
        except (DBAPIError, OSError) as exc:
            raise IngestionUnavailable("the database cannot be reached") from exc
        return tuple(
            VendorHealth(
                vendor=vendor,
                configured=vendor in configured,
                deliveries=counts[vendor],
                last_pull_at=last_pulls.get(vendor),
                open_discrepancies=open_discrepancies.get(vendor, 0),
            )
            for vendor in VENDORS
        )

    def _count(self, count: RefusalCount) -> None:
        waiting = self._pending.get(count.bucket)
        if waiting is not None:
            self._pending[count.bucket] = waiting.plus(count)
        elif len(self._pending) < PENDING_BUCKETS_MAX:
            self._pending[count.bucket] = count
        else:
            self._dropped += count.count

    def _restore(self, batch: dict[RefusalBucket, RefusalCount]) -> None:
        """Put back counts a write did not store, before those counted since."""
        since, self._pending = self._pending, {}
        for count in (*batch.values(), *since.values()):
            self._count(count)

    async def _write(self, rounds: int) -> None:
        async with self._writing:
            for _round in range(rounds):
                if not self._pending:
                    break
                batch, self._pending = self._pending, {}
                try:
                    async with asyncio.timeout(WRITE_TIMEOUT_SECONDS):
                        await self._store.add_refusals(list(batch.values()), self._clock())
                except (IngestionUnavailable, TimeoutError) as exc:
                    self._restore(batch)
                    self._paused_until = self._monotonic() + WRITE_PAUSE_SECONDS
                    log.warning("refusals_not_written", buckets=len(batch), error=type(exc).__name__)
                    break
            if self._dropped:
                # More buckets than the limit waited (the database has been away): say how many were lost.
                log.warning("refusals_not_counted", refusals=self._dropped, buckets_max=PENDING_BUCKETS_MAX)
                self._dropped = 0
