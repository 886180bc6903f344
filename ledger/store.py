"""The ledger on SQL: SQLite (WAL, ``BEGIN IMMEDIATE``) or PostgreSQL (a transaction-scoped advisory lock).

Database errors become the ledger's own here and nowhere else.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Collection, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import (
    ARRAY,
    BigInteger,
    BindParameter,
    ColumnElement,
    Integer,
    Row,
    Select,
    String,
    Table,
    any_,
    bindparam,
    case,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ledger.errors import LedgerUnavailable, WriteConflict
from ledger.model import (
    GENESIS_HASH,
    Balance,
    BalanceKey,
    Command,
    Credit,
    Delivery,
    Entry,
    EntryKind,
    HeldRecord,
    Hours,
    Outcome,
    PendingReversal,
    PersonId,
    RecordKey,
    Reversal,
    SequenceNumber,
    Source,
    SourcePosition,
    Subject,
)
from ledger.tables import (
    HeldRecordRow,
    LedgerBalanceRow,
    LedgerEntryRow,
    PendingReversalRow,
    ReceiptRow,
    SourcePositionRow,
)

ENTRY: Table = LedgerEntryRow.metadata.tables["ledger_entry"]
BALANCE: Table = LedgerBalanceRow.metadata.tables["ledger_balance"]
PENDING: Table = PendingReversalRow.metadata.tables["ledger_pending_reversal"]
HELD: Table = HeldRecordRow.metadata.tables["ledger_held_record"]
RECEIPT: Table = ReceiptRow.metadata.tables["ledger_receipt"]
POSITION: Table = SourcePositionRow.metadata.tables["ledger_source_position"]

CHAIN_LOCK_KEY = 0x4C454447  # "LEDG": the PostgreSQL advisory lock that serialises appenders
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "55P03"})  # serialisation failure, deadlock, lock not available
RECORDS_PER_QUERY_MAX = 500
COPY_ROWS_MIN = 16
Upsert = TypeVar("Upsert", postgresql.Insert, sqlite.Insert)
_Item = TypeVar("_Item")


BALANCE_COLUMNS = ("person_id", "year", "subject", "hours")
BALANCE_TYPES = (String, Integer, String, BigInteger)
RECORD_IDS = ARRAY(String)


def entry_from_row(row: Row[Any]) -> Entry:
    """An ``Entry`` from a row of ``ledger_entry``."""
    reverses_seq = row.reverses_seq
    return Entry(
        seq=SequenceNumber(row.seq),
        kind=EntryKind(row.kind),
        person_id=PersonId(row.person_id),
        year=row.year,
        subject=Subject(row.subject),
        hours=Hours(row.hours),
        source=Source(row.source),
        record_id=row.record_id,
        course_code=row.course_code,
        course_title=row.course_title,
        completed_at=row.completed_at,
        recorded_at=row.recorded_at,
        actor=row.actor,
        payload_hash=row.payload_hash,
        content_hash=row.content_hash,
        reverses_seq=None if reverses_seq is None else SequenceNumber(reverses_seq),
        reason=row.reason,
        prev_hash=row.prev_hash,
        hash=row.hash,
        revision=row.revision,
    )


def _entry_values(entry: Entry) -> dict[str, object]:
    return {
        "seq": entry.seq,
        "kind": entry.kind.value,
        "person_id": entry.person_id,
        "year": entry.year,
        "subject": entry.subject.value,
        "hours": entry.hours,
        "source": entry.source.value,
        "record_id": entry.record_id,
        "course_code": entry.course_code,
        "course_title": entry.course_title,
        "completed_at": entry.completed_at,
        "recorded_at": entry.recorded_at,
        "actor": entry.actor,
        "payload_hash": entry.payload_hash,
        "content_hash": entry.content_hash,
        "reverses_seq": entry.reverses_seq,
        "reason": entry.reason,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
        "revision": entry.revision,
    }


def _chunks(items: list[_Item]) -> list[list[_Item]]:
    return [items[start : start + RECORDS_PER_QUERY_MAX] for start in range(0, len(items), RECORDS_PER_QUERY_MAX)]


def translate_database_error(exc: DBAPIError) -> WriteConflict | LedgerUnavailable | None:
    """The ledger's error for a database error that a caller can act on, or ``None`` for a bug."""
    sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if isinstance(exc, IntegrityError) or sqlstate in RETRYABLE_SQLSTATES:
        return WriteConflict("a concurrent write got in the way")
    if isinstance(exc, OperationalError) and "database is locked" in str(exc.orig):
        return WriteConflict("the SQLite database is locked by another writer")
    if exc.connection_invalidated or isinstance(exc, InterfaceError | OperationalError):
        return LedgerUnavailable("the database cannot be reached")
    return None


@asynccontextmanager
async def translated_errors() -> AsyncIterator[None]:
    try:
        yield
    except DBAPIError as exc:
        translated = translate_database_error(exc)
        if translated is None:
            raise
        raise translated from exc
    except OSError as exc:
        raise LedgerUnavailable("the database cannot be reached") from exc


def _balances_upsert() -> postgresql.Insert:
    """Add a batch of balance changes, given as one array per column, in one statement."""
    arrays: list[BindParameter[Any]] = [
        bindparam(column, type_=ARRAY(kind)) for column, kind in zip(BALANCE_COLUMNS, BALANCE_TYPES, strict=True)
    ]
    incoming = func.unnest(*arrays).table_valued(*BALANCE_COLUMNS).render_derived(name="incoming")
    batch = postgresql.insert(BALANCE).from_select(
        list(BALANCE_COLUMNS), select(*(incoming.c[name] for name in BALANCE_COLUMNS))
    )
    return _add_on_conflict(batch, batch.excluded.hours)


def _add_on_conflict(upsert: Upsert, incoming_hours: ColumnElement[int]) -> Upsert:
    return upsert.on_conflict_do_update(
        index_elements=[BALANCE.c.person_id, BALANCE.c.year, BALANCE.c.subject],
        set_={"hours": BALANCE.c.hours + incoming_hours},
    )


# Built once: constructing it per batch costs more than running it.
POSTGRESQL_BALANCES_UPSERT = _balances_upsert()


@dataclass(slots=True)
class SqlLedgerWriter:
    """The ``LedgerWriter`` of one open transaction."""

    connection: AsyncConnection

    @property
    def _dialect(self) -> str:
        return self.connection.dialect.name

    async def head(self) -> tuple[int, str]:
        result = await self.connection.execute(select(ENTRY.c.seq, ENTRY.c.hash).order_by(ENTRY.c.seq.desc()).limit(1))
        row = result.first()
        return (0, GENESIS_HASH) if row is None else (row.seq, row.hash)

    def _record_queries(
        self, table: Table, records: Collection[RecordKey], *conditions: ColumnElement[bool]
    ) -> list[Select[Any]]:
        """Queries for the rows of these records, one per source and chunk, each looking up the
        index that leads with ``record_id``."""
        by_source: dict[Source, list[str]] = defaultdict(list)
        for source, record_id in records:
            by_source[source].append(record_id)
        queries = []
        for source, record_ids in sorted(by_source.items()):
            for chunk in _chunks(record_ids):
                if self._dialect != "postgresql":
                    queries.append(
                        select(table).where(table.c.record_id.in_(chunk), table.c.source == source.value, *conditions)
                    )
                    continue
                queries.append(
                    select(table).where(
                        table.c.record_id == any_(bindparam("record_ids", chunk, type_=RECORD_IDS)),
                        table.c.source == source.value,
                        *conditions,
                    )
                )
        return queries

    async def entries_for(self, records: Collection[RecordKey]) -> dict[tuple[Source, str, EntryKind], Entry]:
        """The latest revision's credit and the latest reversal of each record the ledger holds."""
        found: dict[tuple[Source, str, EntryKind], Entry] = {}
        for query in self._record_queries(ENTRY, records):
            for row in await self.connection.execute(query):
                entry = entry_from_row(row)
                key = (entry.source, entry.record_id, entry.kind)
                if key not in found or found[key].revision < entry.revision:
                    found[key] = entry
        return found

    async def pending_for(self, records: Collection[RecordKey]) -> dict[RecordKey, PendingReversal]:
        found: dict[RecordKey, PendingReversal] = {}
        for query in self._record_queries(PENDING, records, PENDING.c.applied_seq.is_(None)):
            for row in await self.connection.execute(query):
                source = Source(row.source)
                found[(source, row.record_id)] = PendingReversal(
                    source=source,
                    record_id=row.record_id,
                    reason=row.reason,
                    actor=row.actor,
                    payload_hash=row.payload_hash,
                    received_at=row.received_at,
                )
        return found

    async def insert_entries(self, entries: list[Entry]) -> None:
        await self._insert_many(ENTRY, [_entry_values(entry) for entry in entries])

    async def _insert_many(self, table: Table, rows: list[dict[str, object]]) -> None:
        """Insert rows that all have the same keys, in this transaction."""
        if not rows:
            return
        if self._dialect != "postgresql" or len(rows) < COPY_ROWS_MIN:
            await self.connection.execute(insert(table), rows)
            return
        # PostgreSQL loads many rows fastest through COPY, on the transaction's own connection.
        raw = await self.connection.get_raw_connection()
        await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
            table.name, records=[tuple(row.values()) for row in rows], columns=list(rows[0])
        )

    async def add_to_balances(self, deltas: Mapping[BalanceKey, int]) -> None:
        rows = [
            {"person_id": person_id, "year": year, "subject": subject.value, "hours": hours}
            for (person_id, year, subject), hours in sorted(deltas.items())
            if hours
        ]
        if not rows:
            return
        if self._dialect != "postgresql":
            upsert = sqlite.insert(BALANCE)
            await self.connection.execute(_add_on_conflict(upsert, upsert.excluded.hours), rows)
            return
        # One statement for the whole batch: the rows travel as four arrays.
        await self.connection.execute(
            POSTGRESQL_BALANCES_UPSERT, {column: [row[column] for row in rows] for column in BALANCE_COLUMNS}
        )

    async def keep_pending(self, pending: list[PendingReversal]) -> None:
        if pending:
            await self.connection.execute(
                insert(PENDING),
                [
                    {
                        "source": item.source.value,
                        "record_id": item.record_id,
                        "reason": item.reason,
                        "actor": item.actor,
                        "payload_hash": item.payload_hash,
                        "received_at": item.received_at,
                    }
                    for item in pending
                ],
            )

    async def mark_applied(self, applied: Mapping[RecordKey, SequenceNumber]) -> None:
        for (source, record_id), seq in applied.items():
            await self.connection.execute(
                update(PENDING)
                .where(PENDING.c.source == source.value, PENDING.c.record_id == record_id)
                .values(applied_seq=seq)
            )

    async def hold(self, records: list[HeldRecord]) -> None:
        if not records:
            return
        upsert = (postgresql.insert if self._dialect == "postgresql" else sqlite.insert)(HELD)
        await self.connection.execute(
            upsert.on_conflict_do_nothing(index_elements=[HELD.c.fingerprint]),
            [
                {
                    "fingerprint": record.fingerprint,
                    "reason": record.reason,
                    "source": record.source.value,
                    "record_id": record.record_id,
                    "kind": record.kind.value,
                    "existing_seq": record.existing_seq,
                    "payload": record.payload,
                    "detail": record.detail,
                    "received_at": record.received_at,
                    "status": "held",
                }
                for record in records
            ],
        )

    async def keep_receipts(self, receipts: list[tuple[Delivery, Outcome]]) -> None:
        """A receipt of each delivery with the outcome the ledger decided for it."""
        recorded_at = datetime.now(UTC)
        await self._insert_many(
            RECEIPT,
            [
                {
                    "source": delivery.command.source.value,
                    "delivery_id": delivery.delivery_id,
                    "record_id": delivery.command.record_id,
                    "kind": _kind_of(delivery.command).value,
                    "outcome": outcome.kind.value,
                    "entry_seq": outcome.entries[0].seq if outcome.entries else None,
                    "held_reason": outcome.held.reason if outcome.held else None,
                    "received_at": delivery.received_at,
                    "recorded_at": recorded_at,
                }
                for delivery, outcome in receipts
            ],
        )

    async def move_position(self, position: SourcePosition, now: datetime) -> None:
        upsert = (postgresql.insert if self._dialect == "postgresql" else sqlite.insert)(POSITION)
        await self.connection.execute(
            upsert.values(
                source=position.source.value, position=position.position, updated_at=now
            ).on_conflict_do_update(
                index_elements=[POSITION.c.source],
                set_={"position": upsert.excluded.position, "updated_at": upsert.excluded.updated_at},
            )
        )


def _kind_of(command: Command) -> EntryKind:
    if isinstance(command, Credit):
        return EntryKind.CREDIT
    if isinstance(command, Reversal):
        return EntryKind.REVERSAL
    return command.kind


@dataclass(frozen=True, slots=True)
class BalanceMismatch:
    """A balance that differs from the sum of its entries."""

    person_id: str
    year: int
    subject: Subject
    stored: int
    recomputed: int


class SqlLedgerStore:
    """The ledger's storage on an async SQLAlchemy engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[SqlLedgerWriter]:
        async with translated_errors(), self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Every read in a write is a lookup by key, so the planner may not scan: without
                # column statistics (a young or fast-growing table) it guesses that
                # ``record_id = ANY(500 ids)`` matches everything and would scan the table.
                await connection.execute(
                    select(
                        func.pg_advisory_xact_lock(CHAIN_LOCK_KEY),
                        func.set_config("enable_seqscan", "off", True),  # for this transaction only
                    )
                )
            yield SqlLedgerWriter(connection)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncConnection]:
        async with translated_errors(), self.engine.connect() as connection:
            yield connection

    async def balance(self, person_id: str, year: int) -> Balance:
        async with self.reading() as connection:
            result = await connection.execute(
                select(BALANCE.c.subject, BALANCE.c.hours).where(
                    BALANCE.c.person_id == person_id, BALANCE.c.year == year
                )
            )
            hours = {Subject(row.subject): row.hours for row in result}
        return Balance(public=hours.get(Subject.PUBLIC, 0), professional=hours.get(Subject.PROFESSIONAL, 0))

    async def entries_of(self, person_id: str, year: int) -> list[Entry]:
        async with self.reading() as connection:
            result = await connection.execute(
                select(ENTRY).where(ENTRY.c.person_id == person_id, ENTRY.c.year == year).order_by(ENTRY.c.seq)
            )
            return [entry_from_row(row) for row in result]

    async def entries_after(self, seq: int, limit: int) -> list[Entry]:
        """Up to ``limit`` entries with a sequence number above ``seq``, in order."""
        async with self.reading() as connection:
            result = await connection.execute(select(ENTRY).where(ENTRY.c.seq > seq).order_by(ENTRY.c.seq).limit(limit))
            return [entry_from_row(row) for row in result]

    async def head(self) -> tuple[int, str]:
        async with self.reading() as connection:
            return await SqlLedgerWriter(connection).head()

    async def position(self, source: Source) -> str | None:
        async with self.reading() as connection:
            result = await connection.execute(select(POSITION.c.position).where(POSITION.c.source == source.value))
            return result.scalar_one_or_none()

    async def held_records(self, status: str = "held") -> list[HeldRecord]:
        async with self.reading() as connection:
            result = await connection.execute(select(HELD).where(HELD.c.status == status).order_by(HELD.c.id))
            return [
                HeldRecord(
                    fingerprint=row.fingerprint,
                    reason=row.reason,
                    source=Source(row.source),
                    record_id=row.record_id,
                    kind=EntryKind(row.kind),
                    existing_seq=None if row.existing_seq is None else SequenceNumber(row.existing_seq),
                    payload=row.payload,
                    detail=row.detail,
                    received_at=row.received_at,
                )
                for row in result
            ]

    async def balance_mismatches(self) -> list[BalanceMismatch]:
        """Every stored balance that differs from a full recomputation over the entries."""
        signed = case((ENTRY.c.kind == EntryKind.CREDIT.value, ENTRY.c.hours), else_=-ENTRY.c.hours)
        async with self.reading() as connection:
            recomputed_rows = await connection.execute(
                select(ENTRY.c.person_id, ENTRY.c.year, ENTRY.c.subject, func.sum(signed).label("hours")).group_by(
                    ENTRY.c.person_id, ENTRY.c.year, ENTRY.c.subject
                )
            )
            recomputed = {(row.person_id, row.year, row.subject): int(row.hours) for row in recomputed_rows}
            stored_rows = await connection.execute(select(BALANCE))
            stored = {(row.person_id, row.year, row.subject): row.hours for row in stored_rows}
        return [
            BalanceMismatch(
                person_id=key[0],
                year=key[1],
                subject=Subject(key[2]),
                stored=stored.get(key, 0),
                recomputed=recomputed.get(key, 0),
            )
            for key in sorted(stored.keys() | recomputed.keys())
            if stored.get(key, 0) != recomputed.get(key, 0)
        ]
