"""The ledger on SQL: SQLite (WAL, ``BEGIN IMMEDIATE``) or PostgreSQL (a transaction-scoped advisory lock).

Database errors become the ledger's own here and nowhere else.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import asyncpg
import orjson
from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Row,
    Select,
    String,
    Table,
    any_,
    bindparam,
    case,
    delete,
    func,
    insert,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import Mapped
from sqlalchemy.sql.dml import Insert

from ledger.errors import LedgerUnavailable, WriteConflict
from ledger.model import (
    GENESIS_HASH,
    Balance,
    BalanceKey,
    Command,
    Credit,
    Decision,
    Delivery,
    DueEvaluation,
    Entry,
    EntryKind,
    HeldId,
    HeldQuery,
    HeldRecord,
    HeldStatus,
    HoldDecision,
    Hours,
    Outcome,
    PendingReversal,
    PersonId,
    Quarantined,
    RecordKey,
    Replacement,
    Reversal,
    SequenceNumber,
    Source,
    SourcePosition,
    Subject,
    course_key,
)
from ledger.tables import (
    EvaluationDueRow,
    HeldRecordRow,
    HoldDecisionRow,
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
DECISION: Table = HoldDecisionRow.metadata.tables["ledger_hold_decision"]
RECEIPT: Table = ReceiptRow.metadata.tables["ledger_receipt"]
POSITION: Table = SourcePositionRow.metadata.tables["ledger_source_position"]
DUE: Table = EvaluationDueRow.metadata.tables["ledger_evaluation_due"]

CHAIN_LOCK_KEY = 0x4C454447  # "LEDG": the PostgreSQL advisory lock that serialises appenders
REVIEW_LOCK_SPACE = 0x52455657  # "REVW": with a person's year, the lock that serialises its reviews
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "55P03"})  # serialisation failure, deadlock, lock not available
INTEGRITY_SQLSTATE_CLASS = "23"  # a constraint refused the write: another writer got there first
UNAVAILABLE_SQLSTATE_CLASSES = ("08", "53", "57")  # connection, insufficient resources, operator intervention
DRIVER_CONNECTION_ERRORS = (asyncpg.InterfaceError, asyncpg.InternalClientError)
RECORDS_PER_QUERY_MAX = 500
_Item = TypeVar("_Item")


ENTRY_COLUMNS = tuple(column.name for column in ENTRY.columns)
BALANCE_COLUMNS = ("person_id", "year", "subject", "hours")
DUE_COLUMNS = ("person_id", "year", "seq", "due_since")
RECEIPT_COLUMNS = tuple(column.name for column in RECEIPT.columns if column.name != "id")
RECORD_IDS = ARRAY(String)
YearKey = tuple[PersonId, int]


def entry_from_row(row: Row[Any]) -> Entry:
    """An ``Entry`` from a row of ``ledger_entry``."""
    return _entry(row._mapping)


def _entry(values: Mapping[Any, Any]) -> Entry:
    """An ``Entry`` from the columns of ``ledger_entry``, its times as ``datetime`` values."""
    reverses_seq = values["reverses_seq"]
    return Entry(
        seq=SequenceNumber(values["seq"]),
        kind=EntryKind(values["kind"]),
        person_id=PersonId(values["person_id"]),
        year=values["year"],
        subject=Subject(values["subject"]),
        hours=Hours(values["hours"]),
        source=Source(values["source"]),
        record_id=values["record_id"],
        course_code=values["course_code"],
        course_title=values["course_title"],
        completed_at=values["completed_at"],
        recorded_at=values["recorded_at"],
        actor=values["actor"],
        payload_hash=values["payload_hash"],
        content_hash=values["content_hash"],
        reverses_seq=None if reverses_seq is None else SequenceNumber(reverses_seq),
        reason=values["reason"],
        prev_hash=values["prev_hash"],
        hash=values["hash"],
    )


def _entry_from_json(document: dict[str, Any]) -> Entry:
    """An ``Entry`` from PostgreSQL's JSON of a ``ledger_entry`` row (times as ISO 8601 text)."""
    for name in ("completed_at", "recorded_at"):
        document[name] = datetime.fromisoformat(document[name])
    return _entry(document)


def _pending(values: Mapping[Any, Any]) -> PendingReversal:
    """A ``PendingReversal`` from the columns of ``ledger_pending_reversal``, its time a ``datetime``."""
    return PendingReversal(
        source=Source(values["source"]),
        record_id=values["record_id"],
        reason=values["reason"],
        actor=values["actor"],
        payload_hash=values["payload_hash"],
        received_at=values["received_at"],
    )


def _pending_from_json(document: dict[str, Any]) -> PendingReversal:
    """A ``PendingReversal`` from PostgreSQL's JSON of a ``ledger_pending_reversal`` row."""
    document["received_at"] = datetime.fromisoformat(document["received_at"])
    return _pending(document)


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
    }


def _by_source(records: Collection[RecordKey]) -> list[tuple[Source, list[str]]]:
    """The record ids of each source, the sources in order."""
    ids: dict[Source, list[str]] = defaultdict(list)
    for source, record_id in records:
        ids[source].append(record_id)
    return sorted(ids.items())


def _balance_rows(deltas: Mapping[BalanceKey, int]) -> list[dict[str, object]]:
    return [
        {"person_id": person_id, "year": year, "subject": subject.value, "hours": hours}
        for (person_id, year, subject), hours in sorted(deltas.items())
        if hours
    ]


def _due_rows(entries: list[Entry], now: datetime) -> list[dict[str, object]]:
    """A row for each year these entries change, with the last of its entries."""
    last: dict[tuple[str, int], int] = {}
    for entry in entries:
        last[(entry.person_id, entry.year)] = max(entry.seq, last.get((entry.person_id, entry.year), 0))
    return [
        {"person_id": person_id, "year": year, "seq": seq, "due_since": now}
        for (person_id, year), seq in sorted(last.items())
    ]


def _receipt_rows(receipts: list[tuple[Delivery, Outcome]]) -> list[dict[str, object]]:
    recorded_at = datetime.now(UTC)
    return [
        {
            "source": delivery.command.source.value,
            "delivery_id": delivery.delivery_id,
            "record_id": delivery.command.record_id,
            "kind": _kind_of(delivery.command).value,
            "outcome": outcome.kind.value,
            "entry_seq": outcome.entries[0].seq if outcome.entries else None,
            "held_reason": outcome.held.reason if outcome.held else None,
            "held_fingerprint": outcome.held.fingerprint if outcome.held else None,
            "received_at": delivery.received_at,
            "recorded_at": recorded_at,
        }
        for delivery, outcome in receipts
    ]


def _recordsets(rows: Mapping[Table, list[dict[str, object]]]) -> list[str]:
    """``POSTGRESQL_APPEND``'s parameters: each table's rows as one JSON array of objects."""
    return [orjson.dumps(rows[table]).decode() for table in APPENDED_TABLES]


def _chunks(items: list[_Item]) -> list[list[_Item]]:
    return [items[start : start + RECORDS_PER_QUERY_MAX] for start in range(0, len(items), RECORDS_PER_QUERY_MAX)]


def one_of(column: ColumnElement[str] | Mapped[str], values: list[str], dialect: str) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL as ``= ANY`` of one array parameter, which spares compiling one
    parameter per value (a tenth of a page's time at 500 values)."""
    if dialect != "postgresql":
        return column.in_(values)
    return column == any_(bindparam(None, values, type_=RECORD_IDS))


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


def _translate_driver_error(exc: Exception) -> WriteConflict | LedgerUnavailable | None:
    """``translate_database_error`` for an error of a statement run on the driver's connection."""
    sqlstate = getattr(exc, "sqlstate", None) or ""
    if sqlstate in RETRYABLE_SQLSTATES or sqlstate.startswith(INTEGRITY_SQLSTATE_CLASS):
        return WriteConflict("a concurrent write got in the way")
    # A connection the server closed under us fails the next statement with an InterfaceError, or,
    # when the server's farewell arrived first, with an InternalClientError: either way it is gone.
    if isinstance(exc, DRIVER_CONNECTION_ERRORS) or sqlstate.startswith(UNAVAILABLE_SQLSTATE_CLASSES):
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
    except (asyncpg.PostgresError, *DRIVER_CONNECTION_ERRORS) as exc:
        driver_translated = _translate_driver_error(exc)
        if driver_translated is None:
            raise
        raise driver_translated from exc
    except OSError as exc:
        raise LedgerUnavailable("the database cannot be reached") from exc


APPENDED_TABLES = (ENTRY, BALANCE, DUE, RECEIPT)
APPENDED_COLUMNS = {
    ENTRY.name: ENTRY_COLUMNS,
    BALANCE.name: BALANCE_COLUMNS,
    DUE.name: DUE_COLUMNS,
    RECEIPT.name: RECEIPT_COLUMNS,
}


def _recordset_insert(table: Table) -> str:
    """``INSERT`` of rows that arrive as one JSON array of objects, its parameter numbered by the
    table's place in ``APPENDED_TABLES``; PostgreSQL reads each value as its column's type."""
    columns = ", ".join(APPENDED_COLUMNS[table.name])
    return (
        f"INSERT INTO {table.name} ({columns}) SELECT {columns}"  # noqa: S608  (names, no values)
        f" FROM json_populate_recordset(NULL::{table.name}, ${APPENDED_TABLES.index(table) + 1}::json)"
    )


def _sqlite_append() -> dict[Table, Insert]:
    """``POSTGRESQL_APPEND``'s parts on SQLite, one statement a table, each run with its rows."""
    balance_upsert, due_upsert = sqlite.insert(BALANCE), sqlite.insert(DUE)
    return {
        ENTRY: insert(ENTRY),
        BALANCE: balance_upsert.on_conflict_do_update(
            index_elements=[BALANCE.c.person_id, BALANCE.c.year, BALANCE.c.subject],
            set_={"hours": BALANCE.c.hours + balance_upsert.excluded.hours},
        ),
        DUE: due_upsert.on_conflict_do_update(
            index_elements=[DUE.c.person_id, DUE.c.year], set_={"seq": due_upsert.excluded.seq}
        ),
        RECEIPT: insert(RECEIPT),
    }


def _postgresql_append() -> str:
    """A batch's entries, its balance changes, the years it makes due and its deliveries' receipts, in
    one statement and one round trip; a part without rows (an empty array) inserts nothing. A year due
    again keeps the moment it first became due and takes the newest entry."""
    before = {
        "entries": _recordset_insert(ENTRY),
        "balances": _recordset_insert(BALANCE) + " ON CONFLICT (person_id, year, subject)"
        " DO UPDATE SET hours = ledger_balance.hours + excluded.hours",
        "due": _recordset_insert(DUE) + " ON CONFLICT (person_id, year) DO UPDATE SET seq = excluded.seq",
    }
    # The receipts are the statement itself, not a part returning a row: a result costs more to set up.
    parts = ", ".join(f"{name} AS ({sql})" for name, sql in before.items())
    return f"WITH {parts} {_recordset_insert(RECEIPT)}"


# Built once: constructing a statement per write costs more than running it.
# Every read in a write is a lookup by key, so the planner may not scan: without column statistics (a
# young or fast-growing table) it guesses that ``record_id = ANY(500 ids)`` matches everything.
CHAIN_LOCK_SQL = (  # enable_seqscan off for this transaction only
    f"SELECT pg_advisory_xact_lock({CHAIN_LOCK_KEY}), set_config('enable_seqscan', 'off', true)"
)
POSTGRESQL_CHAIN_LOCK = text(CHAIN_LOCK_SQL)
# The same with the transaction's start, in one round trip on the driver's connection (the group
# committer's writes: ``holding_connection``).
POSTGRESQL_BEGIN_AND_CHAIN_LOCK = f"BEGIN; {CHAIN_LOCK_SQL}"
# Run on the driver's connection (asyncpg), inside the transaction SQLAlchemy began: a write's hot
# statements pay no statement compiling, no result set-up and no greenlet switch.
POSTGRESQL_APPEND = _postgresql_append()
SQLITE_APPEND = _sqlite_append()
# What a write decides against, in one round trip: the head as [seq, hash], then the entries and the
# waiting reversals of the records (``$1`` their sources, ``$2`` their ids), each part one JSON array.
POSTGRESQL_STATE = """
WITH wanted AS (SELECT * FROM unnest($1::text[], $2::text[]) AS wanted (source, record_id))
SELECT
  (SELECT json_build_array(seq, hash) FROM ledger_entry ORDER BY seq DESC LIMIT 1),
  (SELECT json_agg(entry ORDER BY entry.seq) FROM ledger_entry AS entry JOIN wanted USING (record_id, source)),
  (SELECT json_agg(pending) FROM ledger_pending_reversal AS pending JOIN wanted USING (record_id, source)
   WHERE pending.applied_seq IS NULL)
"""


async def _driver_connection(connection: AsyncConnection) -> asyncpg.Connection:
    """asyncpg's connection under an SQLAlchemy connection to PostgreSQL."""
    driver: asyncpg.Connection = (await connection.get_raw_connection()).driver_connection
    return driver


@dataclass(frozen=True, slots=True)
class ChainState:
    """What a write decides against, read under the chain's lock: the head, and the latest credit and
    reversal and the waiting reversal of each record the write is about."""

    seq: int
    prev_hash: str
    stored: dict[tuple[Source, str, EntryKind], Entry]
    pending: dict[RecordKey, PendingReversal]


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

    def _record_queries(self, table: Table, records: Collection[RecordKey]) -> list[Select[Any]]:
        """SQLite's queries for the rows of these records (a waiting reversal's only while it waits),
        one per source and chunk of ids, each looking up the index that leads with ``record_id``."""
        waiting = [PENDING.c.applied_seq.is_(None)] if table is PENDING else []
        return [
            select(table).where(table.c.record_id.in_(chunk), table.c.source == source.value, *waiting)
            for source, record_ids in _by_source(records)
            for chunk in _chunks(record_ids)
        ]

    async def state_for(self, records: Collection[RecordKey]) -> ChainState:
        """The head, and the stored entries and waiting reversals of these records."""
        if self._dialect == "postgresql":
            return await self._postgresql_state(records)
        (seq, prev_hash), stored = await self.head(), await self._entries_for(records)
        return ChainState(seq, prev_hash, stored, await self._pending_for(records))

    async def _postgresql_state(self, records: Collection[RecordKey]) -> ChainState:
        """``state_for`` on PostgreSQL, in one statement (``POSTGRESQL_STATE``)."""
        wanted = list(records)
        driver = await _driver_connection(self.connection)
        head, entries, pending = await driver.fetchrow(
            POSTGRESQL_STATE, [source.value for source, _id in wanted], [record_id for _source, record_id in wanted]
        )
        # The JSON comes back decoded: SQLAlchemy sets a JSON codec on every connection it opens.
        seq, prev_hash = (0, GENESIS_HASH) if head is None else head
        stored = {}
        for document in entries or []:  # by sequence number: the latest of each kind wins
            entry = _entry_from_json(document)
            stored[(entry.source, entry.record_id, entry.kind)] = entry
        waiting = [_pending_from_json(document) for document in pending or []]
        return ChainState(seq, prev_hash, stored, {(item.source, item.record_id): item for item in waiting})

    async def _entries_for(self, records: Collection[RecordKey]) -> dict[tuple[Source, str, EntryKind], Entry]:
        """The latest credit and the latest reversal of each record (a replaced credit is not the latest)."""
        found: dict[tuple[Source, str, EntryKind], Entry] = {}
        for query in self._record_queries(ENTRY, records):
            for row in await self.connection.execute(query.order_by(ENTRY.c.seq)):
                entry = entry_from_row(row)
                found[(entry.source, entry.record_id, entry.kind)] = entry
        return found

    async def _pending_for(self, records: Collection[RecordKey]) -> dict[RecordKey, PendingReversal]:
        found: dict[RecordKey, PendingReversal] = {}
        for query in self._record_queries(PENDING, records):
            for row in await self.connection.execute(query):
                pending = _pending(row._mapping)
                found[(pending.source, pending.record_id)] = pending
        return found

    async def append(
        self,
        entries: list[Entry],
        balance_deltas: Mapping[BalanceKey, int],
        receipts: list[tuple[Delivery, Outcome]],
        now: datetime,
    ) -> None:
        """Insert the entries, add them to the balances, mark the years they change due for review
        (as of ``now``) and keep a receipt of each delivery with its outcome: on PostgreSQL in one
        statement."""
        rows = {
            ENTRY: [_entry_values(entry) for entry in entries],
            BALANCE: _balance_rows(balance_deltas),
            DUE: _due_rows(entries, now),
            RECEIPT: _receipt_rows(receipts),
        }
        if self._dialect == "postgresql":
            if any(rows.values()):
                await (await _driver_connection(self.connection)).execute(POSTGRESQL_APPEND, *_recordsets(rows))
            return
        for table, table_rows in rows.items():
            if table_rows:
                await self.connection.execute(SQLITE_APPEND[table], table_rows)

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
                }
                for record in records
            ],
        )

    async def held(self, held_id: HeldId) -> Quarantined | None:
        """A held record and its decision, or ``None``."""
        result = await self.connection.execute(_held_with_decisions().where(HELD.c.id == held_id))
        row = result.first()
        return None if row is None else quarantined_from_row(row)

    async def decide(self, decision: HoldDecision) -> None:
        await self.connection.execute(
            insert(DECISION).values(
                held_id=decision.held_id,
                decision=decision.decision.value,
                actor=decision.actor,
                reason=decision.reason,
                decided_at=decision.decided_at,
                entry_seqs=",".join(str(seq) for seq in decision.entry_seqs),
            )
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


def _held_with_decisions() -> Select[Any]:
    return select(
        HELD,
        DECISION.c.decision,
        DECISION.c.actor,
        DECISION.c.reason.label("decision_reason"),
        DECISION.c.decided_at,
        DECISION.c.entry_seqs,
    ).join(DECISION, DECISION.c.held_id == HELD.c.id, isouter=True)


def held_from_row(row: Row[Any]) -> HeldRecord:
    return HeldRecord(
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


def quarantined_from_row(row: Row[Any]) -> Quarantined:
    """A row of ``_held_with_decisions``."""
    decision = None
    if row.decision is not None:
        decision = HoldDecision(
            held_id=HeldId(row.id),
            decision=Decision(row.decision),
            actor=row.actor,
            reason=row.decision_reason,
            decided_at=row.decided_at,
            entry_seqs=tuple(SequenceNumber(int(seq)) for seq in row.entry_seqs.split(",") if seq),
        )
    return Quarantined(HeldId(row.id), held_from_row(row), decision)


def _kind_of(command: Command) -> EntryKind:
    if isinstance(command, (Credit, Replacement)):  # a tuple: half the time of a union, once per receipt
        return EntryKind.CREDIT
    if isinstance(command, Reversal):
        return EntryKind.REVERSAL
    return command.kind


@dataclass(frozen=True, slots=True)
class SqlYearReview:
    """A person's year read under its review lock, in an open transaction that the reviewer may
    write in (``connection``); ``settle`` ends the year's due mark up to the entries read."""

    connection: AsyncConnection
    person_id: PersonId
    year: int
    entries: tuple[Entry, ...]

    async def settle(self) -> None:
        await _settle(self.connection, self.person_id, self.year, max((entry.seq for entry in self.entries), default=0))


@dataclass(frozen=True, slots=True)
class SqlYearStanding:
    """A person's year summed up under its review lock, in an open transaction that the reviewer may
    write in (``connection``): the hours and the ``source:course_code`` keys of its counted credits
    (those no reversal withdrew), and its last entry; ``settle`` ends the due mark up to that entry."""

    connection: AsyncConnection
    person_id: PersonId
    year: int
    earned: Balance
    courses: frozenset[str]
    last_seq: int

    async def settle(self) -> None:
        await settle_standings(self.connection, [self])


async def _settle(connection: AsyncConnection, person_id: PersonId, year: int, seen: int) -> None:
    await connection.execute(delete(DUE).where(DUE.c.person_id == person_id, DUE.c.year == year, DUE.c.seq <= seen))


def _standing_query(years: Sequence[YearKey]) -> Select[Any]:
    """The entries of these years grouped by course and by whether they count (a credit no reversal
    withdrew): one statement, so one snapshot, whose groups give each year's hours, courses and last
    entry. A credit is reversed at most once (``uq_ledger_entry_reverses``), so the join repeats no entry."""
    reversal = ENTRY.alias("reversal")
    counted = (ENTRY.c.kind == EntryKind.CREDIT.value) & reversal.c.seq.is_(None)
    grouped = (ENTRY.c.person_id, ENTRY.c.year, ENTRY.c.subject, ENTRY.c.source, ENTRY.c.course_code, counted)
    return (
        select(
            *grouped[:-1],
            counted.label("counted"),
            func.sum(ENTRY.c.hours).label("hours"),
            func.max(ENTRY.c.seq).label("last_seq"),
        )
        .select_from(
            ENTRY.outerjoin(
                reversal,
                (reversal.c.reverses_seq == ENTRY.c.seq) & (reversal.c.kind == EntryKind.REVERSAL.value),
            )
        )
        .where(tuple_(ENTRY.c.person_id, ENTRY.c.year).in_(list(years)))
        .group_by(*grouped)
    )


async def _standings(connection: AsyncConnection, years: Sequence[YearKey]) -> tuple[SqlYearStanding, ...]:
    hours: dict[YearKey, dict[Subject, int]] = {key: {Subject.PUBLIC: 0, Subject.PROFESSIONAL: 0} for key in years}
    courses: dict[YearKey, set[str]] = {key: set() for key in years}
    last_seq = dict.fromkeys(years, 0)
    for row in await connection.execute(_standing_query(years)):
        key = (PersonId(row.person_id), row.year)
        last_seq[key] = max(last_seq[key], row.last_seq)
        if row.counted:
            hours[key][Subject(row.subject)] += int(row.hours)
            courses[key].add(course_key(Source(row.source), row.course_code))
    return tuple(
        SqlYearStanding(
            connection,
            *key,
            Balance(public=hours[key][Subject.PUBLIC], professional=hours[key][Subject.PROFESSIONAL]),
            frozenset(courses[key]),
            last_seq[key],
        )
        for key in years
    )


async def settle_standings(connection: AsyncConnection, standings: Sequence[SqlYearStanding]) -> None:
    """``settle`` for each of these years, in one statement."""
    if standings:
        await connection.execute(
            delete(DUE).where(
                DUE.c.person_id == bindparam("settled_person_id"),
                DUE.c.year == bindparam("settled_year"),
                DUE.c.seq <= bindparam("settled_seq"),
            ),
            [
                {"settled_person_id": item.person_id, "settled_year": item.year, "settled_seq": item.last_seq}
                for item in standings
            ],
        )


async def _take_review_locks(connection: AsyncConnection, years: Sequence[YearKey]) -> None:
    """Reviews of one year take turns: on PostgreSQL each year's transaction-scoped advisory lock, in
    a key space of its own, taken in the order of the keys so that two transactions reviewing
    overlapping years never wait for each other in a circle; SQLite's transaction began
    ``IMMEDIATE`` and holds the write lock."""
    if connection.dialect.name != "postgresql":
        return
    keys = sorted({review_lock_key(person_id, year) for person_id, year in years})
    await connection.execute(
        text("SELECT pg_advisory_xact_lock(:space, key) FROM unnest(CAST(:keys AS integer[])) AS key"),
        {"space": REVIEW_LOCK_SPACE, "keys": keys},
    )


def review_lock_key(person_id: str, year: int) -> int:
    """The second half of a year's review lock: a signed 32-bit hash (a collision only serialises more)."""
    unsigned = zlib.crc32(f"{person_id}:{year}".encode())
    return unsigned - (1 << 32) if unsigned >= 1 << 31 else unsigned


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
    async def holding_connection(self) -> AsyncIterator[SqlLedgerStore]:
        """This store with its writes on one connection of its own, kept between them: for a writer
        that writes one batch after another (the group committer), which then spends no round trip
        per write on taking a connection from the pool and checking that it still works. A write
        that fails gives the connection back, and the next takes a checked one: after the database
        restarts, one write fails and the next recovers."""
        held = _HeldConnectionStore(self.engine)
        try:
            yield held
        finally:
            await held.give_back()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.begin() as connection:
            yield connection

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[SqlLedgerWriter]:
        async with translated_errors(), self._transaction() as connection:
            if connection.dialect.name == "postgresql":
                await connection.execute(POSTGRESQL_CHAIN_LOCK)
            yield SqlLedgerWriter(connection)

    @asynccontextmanager
    async def reviewing(self, person_id: PersonId, year: int) -> AsyncIterator[SqlYearReview]:
        """The year's entries, read in a transaction that holds the year's review lock until it ends.

        Reviews of one year take turns (PostgreSQL: a transaction-scoped advisory lock in a key space
        of its own; SQLite: every transaction begins ``IMMEDIATE``), so a decision is made and written
        against entries no other review is deciding on. The chain's lock is not taken: appends go on.
        """
        async with translated_errors(), self.engine.begin() as connection:
            await _take_review_locks(connection, [(person_id, year)])
            result = await connection.execute(
                select(ENTRY).where(ENTRY.c.person_id == person_id, ENTRY.c.year == year).order_by(ENTRY.c.seq)
            )
            yield SqlYearReview(connection, person_id, year, tuple(entry_from_row(row) for row in result))

    @asynccontextmanager
    async def standings(self, years: Sequence[YearKey]) -> AsyncIterator[tuple[SqlYearStanding, ...]]:
        """``reviewing`` of several years at once, each summed up in the database instead of read
        entry by entry: one transaction holding every year's review lock, one read for all of them.
        The standings come in the order of ``years``, which must not repeat a year."""
        async with translated_errors(), self.engine.begin() as connection:
            await _take_review_locks(connection, years)
            yield await _standings(connection, years)

    async def due_evaluations(self, limit: int) -> list[DueEvaluation]:
        """Up to ``limit`` years due for review, those due the longest first."""
        async with self.reading() as connection:
            result = await connection.execute(select(DUE).order_by(DUE.c.due_since, DUE.c.seq).limit(limit))
            return [DueEvaluation(PersonId(row.person_id), row.year, SequenceNumber(row.seq)) for row in result]

    async def forget_due(self, due: DueEvaluation) -> None:
        """End a year's due mark up to ``due.seq`` without a review (there is nothing to decide)."""
        async with translated_errors(), self.engine.begin() as connection:
            await connection.execute(
                delete(DUE).where(DUE.c.person_id == due.person_id, DUE.c.year == due.year, DUE.c.seq <= due.seq)
            )

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

    async def balances_of(self, person_ids: Sequence[str], year: int) -> dict[PersonId, Balance]:
        """The balance of each of these people in the year who has one."""
        hours: dict[PersonId, dict[Subject, int]] = defaultdict(dict)
        async with self.reading() as connection:
            for chunk in _chunks(list(person_ids)):
                result = await connection.execute(
                    select(BALANCE.c.person_id, BALANCE.c.subject, BALANCE.c.hours).where(
                        one_of(BALANCE.c.person_id, chunk, connection.dialect.name), BALANCE.c.year == year
                    )
                )
                for row in result:
                    hours[PersonId(row.person_id)][Subject(row.subject)] = row.hours
        return {
            person_id: Balance(
                public=by_subject.get(Subject.PUBLIC, 0), professional=by_subject.get(Subject.PROFESSIONAL, 0)
            )
            for person_id, by_subject in hours.items()
        }

    async def courses_counted_of(
        self, person_ids: Sequence[str], year: int, course_codes: Collection[str]
    ) -> dict[PersonId, frozenset[str]]:
        """For each of these people, the ``source:course_code`` keys among ``course_codes`` they have a
        credit of in the year that no reversal withdrew."""
        credits: dict[int, tuple[PersonId, str]] = {}
        reversed_seqs: set[int] = set()
        async with self.reading() as connection:
            for chunk in _chunks(list(person_ids)):
                result = await connection.execute(
                    select(
                        ENTRY.c.seq,
                        ENTRY.c.kind,
                        ENTRY.c.person_id,
                        ENTRY.c.source,
                        ENTRY.c.course_code,
                        ENTRY.c.reverses_seq,
                    ).where(
                        one_of(ENTRY.c.person_id, chunk, connection.dialect.name),
                        ENTRY.c.year == year,
                        ENTRY.c.course_code.in_(list(course_codes)),
                    )
                )
                for row in result:
                    if row.kind == EntryKind.REVERSAL.value:
                        reversed_seqs.add(row.reverses_seq)
                    else:
                        credits[row.seq] = (PersonId(row.person_id), course_key(Source(row.source), row.course_code))
        counted: dict[PersonId, set[str]] = defaultdict(set)
        for seq, (person_id, key) in credits.items():
            if seq not in reversed_seqs:
                counted[person_id].add(key)
        return {person_id: frozenset(keys) for person_id, keys in counted.items()}

    async def hours_by_source(
        self, person_ids: Sequence[str], year: int, sources: Collection[Source]
    ) -> dict[PersonId, dict[Source, int]]:
        """For each of these people, the hours counted in the year from each of ``sources`` they have entries of."""
        signed = case((ENTRY.c.kind == EntryKind.CREDIT.value, ENTRY.c.hours), else_=-ENTRY.c.hours)
        found: dict[PersonId, dict[Source, int]] = defaultdict(dict)
        async with self.reading() as connection:
            for chunk in _chunks(list(person_ids)):
                result = await connection.execute(
                    select(ENTRY.c.person_id, ENTRY.c.source, func.sum(signed).label("hours"))
                    .where(
                        one_of(ENTRY.c.person_id, chunk, connection.dialect.name),
                        ENTRY.c.year == year,
                        ENTRY.c.source.in_([source.value for source in sources]),
                    )
                    .group_by(ENTRY.c.person_id, ENTRY.c.source)
                )
                for row in result:
                    found[PersonId(row.person_id)][Source(row.source)] = int(row.hours)
        return dict(found)

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

    async def held_records(self) -> list[HeldRecord]:
        """Every held record without a decision, oldest first."""
        undecided = ~select(DECISION.c.held_id).where(DECISION.c.held_id == HELD.c.id).exists()
        async with self.reading() as connection:
            result = await connection.execute(select(HELD).where(undecided).order_by(HELD.c.id))
            return [held_from_row(row) for row in result]

    async def held(self, held_id: HeldId) -> Quarantined | None:
        async with self.reading() as connection:
            return await SqlLedgerWriter(connection).held(held_id)

    async def held_page(self, query: HeldQuery) -> list[Quarantined]:
        """The held records of the query, oldest first."""
        statement = _held_with_decisions()
        if query.status is HeldStatus.HELD:
            statement = statement.where(DECISION.c.held_id.is_(None))
        else:
            statement = statement.where(DECISION.c.decision == query.status.value)
        if query.source is not None:
            statement = statement.where(HELD.c.source == query.source.value)
        if query.reason is not None:
            statement = statement.where(HELD.c.reason == query.reason.value)
        if query.after is not None:
            statement = statement.where(HELD.c.id > query.after)
        async with self.reading() as connection:
            result = await connection.execute(statement.order_by(HELD.c.id).limit(query.limit))
            return [quarantined_from_row(row) for row in result]

    async def entry(self, seq: int) -> Entry | None:
        async with self.reading() as connection:
            row = (await connection.execute(select(ENTRY).where(ENTRY.c.seq == seq))).first()
        return None if row is None else entry_from_row(row)

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


class _HeldConnectionStore(SqlLedgerStore):
    """``SqlLedgerStore.holding_connection``'s store.

    On PostgreSQL its connection is in SQLAlchemy's AUTOCOMMIT mode, and each write is a transaction
    begun on the driver's connection: ``BEGIN`` and the chain's lock in one round trip, ``COMMIT`` in
    one more (SQLAlchemy's own transaction takes three, each through its execution layer). Statements
    run through SQLAlchemy in between are part of that transaction. A write that fails drops the
    connection (the server rolls back what it had begun), and the next write takes a checked one.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self._connection: AsyncConnection | None = None

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[SqlLedgerWriter]:
        if self.engine.dialect.name != "postgresql":
            async with super().writing() as writer:
                yield writer
            return
        async with translated_errors():
            connection = await self._held(isolation_level="AUTOCOMMIT")
            try:
                driver = await _driver_connection(connection)
                await driver.execute(POSTGRESQL_BEGIN_AND_CHAIN_LOCK)
                yield SqlLedgerWriter(connection)
                await driver.execute("COMMIT")
            except BaseException:
                await self._drop()
                raise

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        connection = await self._held()
        try:
            async with connection.begin():
                yield connection
        except BaseException:
            await self.give_back()
            raise

    async def _held(self, **options: str) -> AsyncConnection:
        if self._connection is None:
            connection = await self.engine.connect()
            self._connection = await connection.execution_options(**options) if options else connection
        return self._connection

    async def _drop(self) -> None:
        """Close the connection for good, with whatever transaction it had begun."""
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.invalidate()
            await connection.close()

    async def give_back(self) -> None:
        """Return the connection to the pool (which discards it if it broke)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()
