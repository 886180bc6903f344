"""Counting refusals on SQLite and PostgreSQL: one row per vendor, reason, fields and minute however
many arrive, one write in flight, and counts that survive a database that is away for a while."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.errors import DeliveryInvalid, SignatureRefused
from adapters.hnou.errors import FieldsInvalid, InvalidSign
from adapters.ingestion.errors import IngestionUnavailable
from adapters.ingestion.model import EventOutcome, EventQuery, RefusalCount, Window
from adapters.ingestion.service import PENDING_BUCKETS_MAX, WRITE_PAUSE_SECONDS, Ingestion
from adapters.ingestion.store import REFUSAL, REFUSAL_RETENTION_DAYS, SqlIngestionStore
from ledger.errors import FieldError
from ledger.model import Source

NOON = datetime(2021, 6, 1, 12, 0, tzinfo=UTC)


class Clock:
    """A clock that stands still until moved."""

    def __init__(self, now: datetime = NOON) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Ticks:
    """A monotonic clock that stands still until moved."""

    def __init__(self) -> None:
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds


class WatchedStore(SqlIngestionStore):
    """The real store, which can be told to fail or to hold a write open, and which counts the
    writes in flight at once."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.failures = 0
        self.in_flight = 0
        self.in_flight_max = 0
        self.writes = 0
        self.gate: asyncio.Event | None = None

    async def add_refusals(self, counts: Sequence[RefusalCount], now: datetime) -> None:
        self.in_flight += 1
        self.in_flight_max = max(self.in_flight_max, self.in_flight)
        try:
            if self.gate is not None:
                await self.gate.wait()
            if self.failures:
                self.failures -= 1
                raise IngestionUnavailable("the database cannot be reached")
            self.writes += 1
            await super().add_refusals(counts, now)
        finally:
            self.in_flight -= 1


async def rows(engine: AsyncEngine) -> list[tuple[str, str, str, int, str | None]]:
    async with engine.connect() as connection:
        result = await connection.execute(
            select(
                REFUSAL.c.vendor, REFUSAL.c.reason, REFUSAL.c.fields, REFUSAL.c["count"], REFUSAL.c.last_delivery_id
            ).order_by(REFUSAL.c.minute, REFUSAL.c.vendor, REFUSAL.c.reason)
        )
        return [tuple(row) for row in result]  # type: ignore[misc]


async def test_refusals_of_one_minute_are_one_row_with_their_count(engine: AsyncEngine) -> None:
    clock = Clock()
    ingestion = Ingestion(SqlIngestionStore(engine), clock)

    for second in range(3):
        clock.now = NOON + timedelta(seconds=second * 10)
        await ingestion.refused(Source.ISCHINESE, SignatureRefused("no valid v1 signature"))
    await ingestion.refused(Source.ISCHINESE, DeliveryInvalid([FieldError("type", "bad")]), "msg-7")
    await ingestion.refused(Source.HNOU, FieldsInvalid([FieldError("xs", "bad"), FieldError("kmlx", "bad")]))
    clock.now = NOON + timedelta(minutes=1)
    await ingestion.refused(Source.ISCHINESE, SignatureRefused("no valid v1 signature"))

    assert await rows(engine) == [
        ("hnou", "invalid_field", "xs,kmlx", 1, None),
        ("ischinese", "delivery_invalid", "type", 1, "msg-7"),
        ("ischinese", "signature_refused", "", 3, None),
        ("ischinese", "signature_refused", "", 1, None),
    ]


async def test_a_bucket_keeps_its_first_time_and_moves_its_last(engine: AsyncEngine) -> None:
    clock = Clock()
    ingestion = Ingestion(SqlIngestionStore(engine), clock)
    refused = DeliveryInvalid([FieldError("type", "bad")])

    await ingestion.refused(Source.ISCHINESE, refused, "msg-1")
    clock.now = NOON + timedelta(seconds=30)
    await ingestion.refused(Source.ISCHINESE, refused, "msg-2")
    clock.now = NOON + timedelta(seconds=40)
    await ingestion.refused(Source.ISCHINESE, SignatureRefused("stale"))

    page = await ingestion.events(EventQuery())
    bucket = next(event for event in page.events if event.reason == "delivery_invalid")
    assert (bucket.count, bucket.received_at, bucket.last_received_at) == (2, NOON, NOON + timedelta(seconds=30))
    assert (bucket.outcome, bucket.delivery_id, bucket.fields) == (EventOutcome.REFUSED, "msg-2", ("type",))


async def test_a_flood_has_one_write_in_flight_and_every_refusal_counted(engine: AsyncEngine) -> None:
    store = WatchedStore(engine)
    ingestion = Ingestion(store, Clock())
    store.gate = asyncio.Event()
    first = asyncio.create_task(ingestion.refused(Source.HNOU, InvalidSign("no")))
    await asyncio.sleep(0)  # the first refusal's write is now held open

    await asyncio.gather(*(ingestion.refused(Source.HNOU, InvalidSign("no")) for _ in range(200)))
    store.gate.set()
    await first

    assert (store.in_flight_max, store.writes) == (1, 2)  # the first refusal's, then the other 200 at once
    assert await rows(engine) == [("hnou", "invalid_sign", "", 201, None)]


async def test_counts_a_failed_write_could_not_store_are_written_later(engine: AsyncEngine) -> None:
    store, ticks = WatchedStore(engine), Ticks()
    ingestion = Ingestion(store, Clock(), ticks)
    store.failures = 1

    await ingestion.refused(Source.HNOU, InvalidSign("no"))  # the write fails: no exception, the count waits
    await ingestion.refused(Source.HNOU, InvalidSign("no"))  # the writes pause after a failure
    assert (store.writes, await rows(engine)) == (0, [])

    ticks.seconds += WRITE_PAUSE_SECONDS
    await ingestion.refused(Source.HNOU, InvalidSign("no"))

    assert await rows(engine) == [("hnou", "invalid_sign", "", 3, None)]


async def test_while_the_database_is_away_the_waiting_buckets_are_bounded(engine: AsyncEngine) -> None:
    store, clock = WatchedStore(engine), Clock()
    ingestion = Ingestion(store, clock)
    store.failures = 10**6
    for minute in range(PENDING_BUCKETS_MAX + 10):
        clock.now = NOON + timedelta(minutes=minute)
        await ingestion.refused(Source.ISCHINESE, SignatureRefused("no"))
    store.failures = 0

    await ingestion.flush_refusals()

    async with engine.connect() as connection:
        stored = (await connection.execute(select(func.count(), func.sum(REFUSAL.c["count"])))).one()
    assert (stored[0], int(stored[1])) == (PENDING_BUCKETS_MAX, PENDING_BUCKETS_MAX)


async def test_buckets_past_the_retention_are_pruned_by_later_writes(engine: AsyncEngine) -> None:
    clock = Clock()
    ingestion = Ingestion(SqlIngestionStore(engine), clock)
    await ingestion.refused(Source.HNOU, InvalidSign("no"))

    clock.now = NOON + timedelta(days=REFUSAL_RETENTION_DAYS, minutes=1)
    await ingestion.refused(Source.WEBTRN, SignatureRefused("no"))

    assert [row[:2] for row in await rows(engine)] == [("webtrn", "signature_refused")]


async def test_the_summary_counts_refusals_by_reason_in_the_window(engine: AsyncEngine) -> None:
    clock = Clock()
    ingestion = Ingestion(SqlIngestionStore(engine), clock)
    for _ in range(3):
        await ingestion.refused(Source.HNOU, InvalidSign("no"))
    clock.now = NOON + timedelta(hours=1)
    await ingestion.refused(Source.HNOU, FieldsInvalid([FieldError("xs", "bad")]))

    everything = {summary.vendor: summary for summary in await ingestion.summary(Window())}
    early = {summary.vendor: summary for summary in await ingestion.summary(Window(until=NOON + timedelta(minutes=5)))}

    assert dict(everything[Source.HNOU].refusals) == {"invalid_sign": 3, "invalid_field": 1}
    assert (everything[Source.HNOU].arrived, everything[Source.HNOU].last_stored_at) == (4, None)
    assert dict(early[Source.HNOU].refusals) == {"invalid_sign": 3}
    assert everything[Source.ISCHINESE].arrived == 0
