"""The ingestion view on SQL (SQLite or PostgreSQL): refusal counts added with an upsert, and the
events and summaries read from them and from the ledger's receipts.

``ledger_receipt`` is the ledger's: it is written in the transaction that decides each delivery,
and only read here. Every page is read per vendor, so that each query walks an index that leads
with the vendor (``ix_ledger_receipt_source_received``, ``ix_ingestion_refusal_vendor_first_at``)
and stops after the page. Database errors become ``IngestionUnavailable`` here and nowhere else.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Delete,
    Integer,
    Row,
    Select,
    Table,
    and_,
    case,
    cast,
    delete,
    func,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.ingestion.errors import IngestionUnavailable
from adapters.ingestion.model import (
    ACTIVITY_PERIODS_MAX,
    VENDORS,
    ActivityPeriod,
    DeliveryCounts,
    EventOrigin,
    EventOutcome,
    EventPage,
    EventPosition,
    EventQuery,
    IngestionEvent,
    RefusalCount,
    VendorActivity,
    VendorSummary,
    Window,
    page_of,
)
from adapters.ingestion.tables import IngestionRefusalRow
from ledger.model import EntryKind, OutcomeKind, Source
from ledger.tables import HeldRecordRow, HoldDecisionRow, LedgerEntryRow, ReceiptRow

REFUSAL: Final[Table] = IngestionRefusalRow.metadata.tables["ingestion_refusal"]
RECEIPT: Final[Table] = ReceiptRow.metadata.tables["ledger_receipt"]
HELD: Final[Table] = HeldRecordRow.metadata.tables["ledger_held_record"]
DECISION: Final[Table] = HoldDecisionRow.metadata.tables["ledger_hold_decision"]
ENTRY: Final[Table] = LedgerEntryRow.metadata.tables["ledger_entry"]
RECEIPTS_WITH_DECISIONS: Final = RECEIPT.outerjoin(HELD, HELD.c.fingerprint == RECEIPT.c.held_fingerprint).outerjoin(
    DECISION, DECISION.c.held_id == HELD.c.id
)
"""Each receipt with the operator's decision about the record it was held as, if any."""
REFUSAL_RETENTION_DAYS: Final = 90
PRUNED_PER_WRITE_MAX: Final = 100
"""Expired buckets deleted by one write: more than one write adds, so the table cannot grow."""


class SqlIngestionStore:
    """Refusal counts and the events view on the hub's database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add_refusals(self, counts: Sequence[RefusalCount], now: datetime) -> None:
        """Add the counts to their buckets in one transaction, and prune buckets past the retention.

        Raises ``IngestionUnavailable`` when the database cannot take them.
        """
        if not counts:
            return
        # One order for every process: two writers of the same buckets never wait on each other in a circle.
        rows = sorted((_refusal_values(count) for count in counts), key=_bucket_key)
        async with _translated(), self._engine.begin() as connection:
            await connection.execute(_add_counts(connection.dialect.name), rows)
            await connection.execute(_prune(now - timedelta(days=REFUSAL_RETENTION_DAYS)))

    async def events(self, query: EventQuery) -> EventPage:
        """A page of events, newest first. Raises ``IngestionUnavailable``."""
        wanted = query.outcome
        candidates: list[IngestionEvent] = []
        async with _translated(), self._engine.connect() as connection:
            for vendor in query.vendors:
                if wanted is not EventOutcome.REFUSED:
                    rows = await connection.execute(_receipts(vendor, query))
                    candidates += (_receipt_event(row) for row in rows)
                if wanted in (None, EventOutcome.REFUSED):
                    rows = await connection.execute(_refusals(vendor, query))
                    candidates += (_refusal_event(row) for row in rows)
        return page_of(candidates, query.limit)

    async def delivery_counts(self) -> dict[Source, DeliveryCounts]:
        """Each vendor's deliveries of all time (refusals within their retention). Raises ``IngestionUnavailable``."""
        stored_outcomes = [kind.value for kind in (OutcomeKind.APPENDED, OutcomeKind.DUPLICATE, OutcomeKind.PENDING)]
        receipts = select(
            RECEIPT.c.source,
            func.max(RECEIPT.c.received_at).label("last_at"),
            func.count().filter(RECEIPT.c.outcome.in_(stored_outcomes)).label("stored"),
        ).group_by(RECEIPT.c.source)
        refused = select(REFUSAL.c.vendor, func.sum(REFUSAL.c["count"]).label("refused")).group_by(REFUSAL.c.vendor)
        quarantined = (
            select(HELD.c.source, func.count().label("quarantined"))
            .select_from(HELD.outerjoin(DECISION, DECISION.c.held_id == HELD.c.id))
            .where(DECISION.c.held_id.is_(None))
            .group_by(HELD.c.source)
        )
        async with _translated(), self._engine.connect() as connection:
            receipt_rows = {row.source: row for row in await connection.execute(receipts)}
            refused_rows = {row.vendor: int(row.refused) for row in await connection.execute(refused)}
            held_rows = {row.source: int(row.quarantined) for row in await connection.execute(quarantined)}
        counts = {}
        for vendor in VENDORS:
            receipt = receipt_rows.get(vendor.value)
            counts[vendor] = DeliveryCounts(
                last_delivery_at=None if receipt is None else receipt.last_at,
                stored=0 if receipt is None else int(receipt.stored),
                refused=refused_rows.get(vendor.value, 0),
                quarantined=held_rows.get(vendor.value, 0),
            )
        return counts

    async def summary(self, window: Window) -> tuple[VendorSummary, ...]:
        """What each vendor delivered in the window. Raises ``IngestionUnavailable``."""
        vendor_codes = [vendor.value for vendor in VENDORS]
        receipts = (
            select(
                RECEIPT.c.source,
                RECEIPT.c.outcome,
                RECEIPT.c.held_reason,
                DECISION.c.decision,
                func.count().label("deliveries"),
                func.max(RECEIPT.c.received_at).label("last_at"),
            )
            .select_from(RECEIPTS_WITH_DECISIONS)
            .where(RECEIPT.c.source.in_(vendor_codes), *_within(RECEIPT.c.received_at, window))
            .group_by(RECEIPT.c.source, RECEIPT.c.outcome, RECEIPT.c.held_reason, DECISION.c.decision)
        )
        refusals = (
            select(REFUSAL.c.vendor, REFUSAL.c.reason, func.sum(REFUSAL.c["count"]).label("refused"))
            .where(REFUSAL.c.vendor.in_(vendor_codes), *_within(REFUSAL.c.first_at, window))
            .group_by(REFUSAL.c.vendor, REFUSAL.c.reason)
        )
        async with _translated(), self._engine.connect() as connection:
            receipt_rows = (await connection.execute(receipts)).all()
            refusal_rows = (await connection.execute(refusals)).all()
        return tuple(_vendor_summary(vendor, receipt_rows, refusal_rows) for vendor in VENDORS)

    async def activity(self, bounds: Sequence[datetime]) -> tuple[VendorActivity, ...]:
        """Each vendor's deliveries in the periods between consecutive ``bounds`` (ascending, aware):
        receipts by the time they were received, refusals by the minute they were counted under, and
        the lag of each credit appended, from its completion to its receipt.

        Raises ``ValueError`` for fewer than two or more than ``ACTIVITY_PERIODS_MAX + 1`` bounds (a bug
        of the caller), and ``IngestionUnavailable``.
        """
        if not 2 <= len(bounds) <= ACTIVITY_PERIODS_MAX + 1 or list(bounds) != sorted(bounds):
            raise ValueError(f"activity is read in 1 to {ACTIVITY_PERIODS_MAX} periods between ascending bounds")
        vendor_codes = [vendor.value for vendor in VENDORS]
        received = _period_of(RECEIPT.c.received_at, bounds)
        deliveries = (
            select(RECEIPT.c.source, received.label("period"), func.count().label("delivered"))
            .where(RECEIPT.c.source.in_(vendor_codes), *_within(RECEIPT.c.received_at, _span(bounds)))
            .group_by(RECEIPT.c.source, received)
        )
        counted = _period_of(REFUSAL.c.minute, bounds)
        refusals = (
            select(REFUSAL.c.vendor, counted.label("period"), func.sum(REFUSAL.c["count"]).label("refused"))
            .where(REFUSAL.c.vendor.in_(vendor_codes), *_within(REFUSAL.c.minute, _span(bounds)))
            .group_by(REFUSAL.c.vendor, counted)
        )
        async with _translated(), self._engine.connect() as connection:
            lag = _lag_seconds(connection.dialect.name)
            credits = (
                select(
                    RECEIPT.c.source,
                    received.label("period"),
                    func.count().label("credits"),
                    func.sum(lag).label("lag_total"),
                    func.max(lag).label("lag_max"),
                )
                .select_from(RECEIPT.join(ENTRY, ENTRY.c.seq == RECEIPT.c.entry_seq))
                .where(
                    RECEIPT.c.source.in_(vendor_codes),
                    RECEIPT.c.outcome == OutcomeKind.APPENDED.value,
                    ENTRY.c.kind == EntryKind.CREDIT.value,
                    *_within(RECEIPT.c.received_at, _span(bounds)),
                )
                .group_by(RECEIPT.c.source, received)
            )
            figures: dict[tuple[str, int], dict[str, int]] = defaultdict(dict)
            for row in await connection.execute(deliveries):
                figures[row.source, row.period]["delivered"] = int(row.delivered)
            for row in await connection.execute(refusals):
                figures[row.vendor, row.period]["refused"] = int(row.refused)  # PostgreSQL sums a bigint as a numeric
            for row in await connection.execute(credits):
                figures[row.source, row.period].update(
                    credits=int(row.credits), lag_seconds_total=int(row.lag_total), lag_seconds_max=int(row.lag_max)
                )
        return tuple(
            VendorActivity(
                vendor,
                tuple(
                    ActivityPeriod(starts_at, ends_at, **figures.get((vendor.value, index), {}))
                    for index, (starts_at, ends_at) in enumerate(itertools.pairwise(bounds))
                ),
            )
            for vendor in VENDORS
        )


def _span(bounds: Sequence[datetime]) -> Window:
    return Window(bounds[0], bounds[-1])


def _period_of(column: Any, bounds: Sequence[datetime]) -> ColumnElement[int]:
    """The index of the period between ``bounds`` that the column's time falls in (rows within them)."""
    return case(*((column < end, index) for index, end in enumerate(bounds[1:-1])), else_=len(bounds) - 2)


def _lag_seconds(dialect: str) -> ColumnElement[int]:
    """Whole seconds from a credit's completion to its receipt, none below zero (a vendor's clock ahead)."""
    if dialect == "postgresql":
        difference: ColumnElement[int] = cast(
            func.floor(func.extract("epoch", RECEIPT.c.received_at - ENTRY.c.completed_at)), BigInteger
        )
    else:
        # SQLite keeps instants as UTC text, which strftime reads; '%s' is whole seconds since the epoch.
        difference = cast(func.strftime("%s", RECEIPT.c.received_at), Integer) - cast(
            func.strftime("%s", ENTRY.c.completed_at), Integer
        )
    return case((difference < 0, 0), else_=difference)


@asynccontextmanager
async def _translated() -> AsyncIterator[None]:
    try:
        yield
    except (DBAPIError, OSError) as exc:
        raise IngestionUnavailable("the database cannot be reached") from exc


# ---------------------------------------------------------------- writing refusal counts


def _refusal_values(count: RefusalCount) -> dict[str, object]:
    bucket = count.bucket
    return {
        "vendor": bucket.vendor.value,
        "reason": bucket.reason,
        "fields": bucket.fields,
        "minute": bucket.minute,
        "count": count.count,
        "first_at": count.first_at,
        "last_at": count.last_at,
        "last_delivery_id": count.last_delivery_id,
    }


def _bucket_key(values: dict[str, object]) -> tuple[str, str, str, str]:
    return (str(values["vendor"]), str(values["reason"]), str(values["fields"]), str(values["minute"]))


def _add_counts(dialect: str) -> Any:
    upsert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(REFUSAL)
    incoming = upsert.excluded
    # ``first_at`` stays as first written: it orders the events, and a cursor must not move under a reader.
    return upsert.on_conflict_do_update(
        index_elements=[REFUSAL.c.vendor, REFUSAL.c.reason, REFUSAL.c.fields, REFUSAL.c.minute],
        set_={
            "count": REFUSAL.c["count"] + incoming["count"],
            "last_at": case((incoming.last_at > REFUSAL.c.last_at, incoming.last_at), else_=REFUSAL.c.last_at),
            "last_delivery_id": func.coalesce(incoming.last_delivery_id, REFUSAL.c.last_delivery_id),
        },
    )


def _prune(cutoff: datetime) -> Delete:
    expired = (
        select(REFUSAL.c.id)
        .where(REFUSAL.c.minute < cutoff)
        .order_by(REFUSAL.c.minute)
        .limit(PRUNED_PER_WRITE_MAX)
        .with_for_update(skip_locked=True)  # PostgreSQL: leave rows another process is pruning
    )
    return delete(REFUSAL).where(REFUSAL.c.id.in_(expired))


# ---------------------------------------------------------------- reading events


def _within(column: Any, window: Window) -> list[ColumnElement[bool]]:
    conditions = []
    if window.since is not None:
        conditions.append(column >= window.since)
    if window.until is not None:
        conditions.append(column < window.until)
    return conditions


def _older_than(at: Any, row_id: Any, origin: EventOrigin, position: EventPosition) -> ColumnElement[bool]:
    """Rows of one origin that come after ``position`` in the listing (newest first)."""
    if origin < position.origin:
        return at <= position.at  # type: ignore[no-any-return]
    if origin > position.origin:
        return at < position.at  # type: ignore[no-any-return]
    return or_(at < position.at, and_(at == position.at, row_id < position.id))


def _receipts(vendor: Source, query: EventQuery) -> Select[Any]:
    statement = (
        select(RECEIPT, DECISION.c.decision)
        .select_from(RECEIPTS_WITH_DECISIONS)
        .where(RECEIPT.c.source == vendor.value, *_within(RECEIPT.c.received_at, query.window))
    )
    if query.outcome is not None:
        statement = statement.where(*_with_outcome(query.outcome))
    if query.after is not None:
        statement = statement.where(_older_than(RECEIPT.c.received_at, RECEIPT.c.id, EventOrigin.RECEIPT, query.after))
    return statement.order_by(RECEIPT.c.received_at.desc(), RECEIPT.c.id.desc()).limit(query.limit + 1)


def _with_outcome(outcome: EventOutcome) -> list[ColumnElement[bool]]:
    """Receipts whose event has this outcome: a held one only while undecided."""
    if outcome is EventOutcome.HELD:
        return [RECEIPT.c.outcome == OutcomeKind.HELD.value, DECISION.c.decision.is_(None)]
    if outcome in (EventOutcome.RELEASED, EventOutcome.REJECTED):
        return [RECEIPT.c.outcome == OutcomeKind.HELD.value, DECISION.c.decision == outcome.value]
    return [RECEIPT.c.outcome == outcome.value]


def _refusals(vendor: Source, query: EventQuery) -> Select[Any]:
    statement = select(REFUSAL).where(REFUSAL.c.vendor == vendor.value, *_within(REFUSAL.c.first_at, query.window))
    if query.after is not None:
        statement = statement.where(_older_than(REFUSAL.c.first_at, REFUSAL.c.id, EventOrigin.REFUSAL, query.after))
    return statement.order_by(REFUSAL.c.first_at.desc(), REFUSAL.c.id.desc()).limit(query.limit + 1)


def _receipt_event(row: Row[Any]) -> IngestionEvent:
    return IngestionEvent(
        position=EventPosition(row.received_at, EventOrigin.RECEIPT, row.id),
        vendor=Source(row.source),
        outcome=EventOutcome(row.decision or row.outcome),
        delivery_id=row.delivery_id,
        record_id=row.record_id,
        kind=EntryKind(row.kind),
        reason=row.held_reason,
        fields=(),
        count=1,
        received_at=row.received_at,
        last_received_at=row.received_at,
        entry_seq=row.entry_seq,
    )


def _refusal_event(row: Row[Any]) -> IngestionEvent:
    return IngestionEvent(
        position=EventPosition(row.first_at, EventOrigin.REFUSAL, row.id),
        vendor=Source(row.vendor),
        outcome=EventOutcome.REFUSED,
        delivery_id=row.last_delivery_id,
        record_id=None,
        kind=None,
        reason=row.reason,
        fields=tuple(row.fields.split(",")) if row.fields else (),
        count=row._mapping["count"],  # ``row.count`` is the tuple's method
        received_at=row.first_at,
        last_received_at=row.last_at,
        entry_seq=None,
    )


def _vendor_summary(vendor: Source, receipt_rows: Sequence[Any], refusal_rows: Sequence[Any]) -> VendorSummary:
    outcomes: dict[EventOutcome, int] = defaultdict(int)
    held: dict[str, int] = defaultdict(int)
    refusals: dict[str, int] = defaultdict(int)
    last_stored_at: datetime | None = None
    for row in receipt_rows:
        if row.source != vendor.value:
            continue
        outcomes[EventOutcome(row.decision or row.outcome)] += row.deliveries
        if row.held_reason is not None and row.decision is None:
            held[row.held_reason] += row.deliveries
        last_stored_at = row.last_at if last_stored_at is None else max(last_stored_at, row.last_at)
    for row in refusal_rows:
        if row.vendor == vendor.value:
            refusals[row.reason] += int(row.refused)  # PostgreSQL sums a bigint as a numeric
            outcomes[EventOutcome.REFUSED] += int(row.refused)
    return VendorSummary(
        vendor,
        MappingProxyType(dict(outcomes)),
        MappingProxyType(dict(held)),
        MappingProxyType(dict(refusals)),
        last_stored_at,
    )
