"""Reconciliation on SQL (SQLite or PostgreSQL): runs, the record ids a run read from its vendor,
the ledger's side read in pages, and discrepancies kept up to date.

Every read of a run is bounded: the ledger's side of a vendor's batch is looked up by record id
(the ledger's unique index leads with ``record_id``), and the records the vendor did not list are
walked in pages of sequence numbers. Database errors become ``ReconciliationUnavailable`` here and
nowhere else.
"""

from __future__ import annotations

import json
import zlib
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Row,
    String,
    Table,
    any_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ledger.model import EntryKind, PersonId, Source
from ledger.reconciliation.errors import ReconciliationRunning, ReconciliationUnavailable
from ledger.reconciliation.model import (
    Comparison,
    Counts,
    Decision,
    Discrepancy,
    DiscrepancyKind,
    DiscrepancyPage,
    DiscrepancyQuery,
    DiscrepancyStatus,
    LedgerRecord,
    Resolution,
    ResolutionAction,
    Run,
    RunStatus,
    Scope,
    VendorState,
    credit_from_text,
    credit_text,
    decide,
    encode_cursor,
    latest_records,
    ledger_document,
)
from ledger.reconciliation.tables import DiscrepancyRow, ReconciliationRunRow, StagedRecordRow
from ledger.store import ENTRY, entry_from_row

RUN: Final[Table] = ReconciliationRunRow.metadata.tables["reconciliation_run"]
DISCREPANCY: Final[Table] = DiscrepancyRow.metadata.tables["reconciliation_discrepancy"]
STAGED: Final[Table] = StagedRecordRow.metadata.tables["reconciliation_staged_record"]
RECORD_IDS: Final = ARRAY(String)
ABANDONED: Final = "abandoned: the process running it stopped before it ended"


@asynccontextmanager
async def _translated() -> AsyncIterator[None]:
    try:
        yield
    except (DBAPIError, OSError) as exc:
        raise ReconciliationUnavailable("the database cannot be reached") from exc


class SqlReconciliationStore:
    """Runs and discrepancies on the hub's database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    # ------------------------------------------------------------ one run of a vendor at a time

    @asynccontextmanager
    async def vendor_lease(self, vendor: Source) -> AsyncIterator[None]:
        """Hold the right to reconcile this vendor for as long as the context is open.

        On PostgreSQL a session advisory lock on a connection of its own, so that one process of
        all reconciles a vendor at a time; on SQLite (one hub process) the caller's own guard is
        enough. Raises ``ReconciliationRunning`` when another process holds it.
        """
        if self._engine.dialect.name != "postgresql":
            yield
            return
        key = zlib.crc32(f"hub-reconciliation:{vendor.value}".encode())
        async with _translated(), self._engine.connect() as connection:
            taken = await connection.scalar(select(func.pg_try_advisory_lock(key)))
            await connection.commit()
            if not taken:
                raise ReconciliationRunning(f"another hub process is reconciling {vendor.value}")
            try:
                yield
            finally:
                await connection.execute(select(func.pg_advisory_unlock(key)))
                await connection.commit()

    # ------------------------------------------------------------ runs

    async def create_run(self, vendor: Source, scope: Scope, started_by: str, now: datetime) -> Run:
        """A new running run, after marking any run of the vendor left running by a process that
        stopped as failed (the caller holds the vendor's lease) and deleting their record ids."""
        async with _translated(), self._engine.begin() as connection:
            await connection.execute(
                update(RUN)
                .where(RUN.c.vendor == vendor.value, RUN.c.status == RunStatus.RUNNING.value)
                .values(status=RunStatus.FAILED.value, finished_at=now, failure=ABANDONED)
            )
            finished = select(RUN.c.id).where(RUN.c.vendor == vendor.value)
            await connection.execute(delete(STAGED).where(STAGED.c.run_id.in_(finished)))
            result = await connection.execute(
                insert(RUN)
                .values(
                    vendor=vendor.value,
                    status=RunStatus.RUNNING.value,
                    year=scope.year,
                    first_day=scope.first_day,
                    last_day=scope.last_day,
                    started_by=started_by,
                    started_at=now,
                )
                .returning(RUN)
            )
            return _run(result.one())

    async def finish_run(
        self, run_id: int, status: RunStatus, counts: Counts, failure: str | None, now: datetime
    ) -> Run:
        """Record how the run ended, and delete the record ids it read."""
        async with _translated(), self._engine.begin() as connection:
            result = await connection.execute(
                update(RUN)
                .where(RUN.c.id == run_id)
                .values(
                    status=status.value,
                    finished_at=now,
                    failure=None if failure is None else failure[:500],
                    compared=counts.compared,
                    missing_in_ledger=counts.missing_in_ledger,
                    missing_at_vendor=counts.missing_at_vendor,
                    different=counts.different,
                    unknown_person=counts.unknown_person,
                    unreadable=counts.unreadable,
                )
                .returning(RUN)
            )
            await connection.execute(delete(STAGED).where(STAGED.c.run_id == run_id))
            return _run(result.one())

    async def run(self, run_id: int) -> Run | None:
        async with _translated(), self._engine.connect() as connection:
            row = (await connection.execute(select(RUN).where(RUN.c.id == run_id))).first()
        return None if row is None else _run(row)

    async def recent_runs(self, limit: int) -> tuple[Run, ...]:
        """The ``limit`` runs started last, the latest first."""
        async with _translated(), self._engine.connect() as connection:
            rows = (await connection.execute(select(RUN).order_by(RUN.c.id.desc()).limit(limit))).all()
        return tuple(_run(row) for row in rows)

    # ------------------------------------------------------------ the two sides

    async def stage(self, run_id: int, record_ids: Sequence[str]) -> int:
        """Note that the vendor listed these records in this run; how many it had not listed before."""
        fresh = list(dict.fromkeys(record_ids))
        if not fresh:
            return 0
        async with _translated(), self._engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # One statement for the whole batch, the ids as one array; the primary key decides
                # what is new, whatever plan the server would choose for a lookup.
                ids = func.unnest(bindparam("ids", fresh, type_=RECORD_IDS))
                added = await connection.execute(
                    postgresql.insert(STAGED)
                    .from_select(["record_id", "run_id"], select(ids, literal(run_id)))
                    .on_conflict_do_nothing()
                    .returning(STAGED.c.record_id)
                )
                return len(added.all())
            seen = await connection.execute(
                select(STAGED.c.record_id).where(_among(connection, STAGED, fresh), STAGED.c.run_id == run_id)
            )
            known = {row.record_id for row in seen}
            new = [record_id for record_id in fresh if record_id not in known]
            if new:
                await connection.execute(insert(STAGED), [{"run_id": run_id, "record_id": item} for item in new])
            return len(new)

    async def ledger_records(self, source: Source, record_ids: Sequence[str]) -> dict[str, LedgerRecord]:
        """The ledger's current version of each of these records it holds."""
        async with _translated(), self._engine.connect() as connection:
            return await _ledger_records(connection, source, record_ids)

    async def unlisted_ledger_records(
        self, source: Source, run_id: int, scope: Scope, after_seq: int, limit: int
    ) -> LedgerPage:
        """The next page of the ledger's credits of the source completed within the scope, after
        ``after_seq`` (at most ``limit``), and of them the records the vendor did not list in this
        run, each at its current version (a record is taken at its latest credit).

        Each statement is a walk of the primary key or a lookup by record id, so that no plan the
        server may choose for it can make a page cost more than its rows.
        """
        page = (
            select(ENTRY.c.seq, ENTRY.c.record_id)
            .where(
                ENTRY.c.seq > after_seq,
                ENTRY.c.source == source.value,
                ENTRY.c.kind == EntryKind.CREDIT.value,
                ENTRY.c.completed_at >= scope.start,
                ENTRY.c.completed_at < scope.end,
            )
            .order_by(ENTRY.c.seq)
            .limit(limit)
        )
        async with _translated(), self._engine.connect() as connection:
            credits = (await connection.execute(page)).all()
            if not credits:
                return LedgerPage((), None)
            record_ids = list(dict.fromkeys(credit.record_id for credit in credits))
            listed = await connection.execute(
                select(STAGED.c.record_id).where(_among(connection, STAGED, record_ids), STAGED.c.run_id == run_id)
            )
            staged = {row.record_id for row in listed}
            latest = await _ledger_records(connection, source, [item for item in record_ids if item not in staged])
        records = tuple(
            latest[credit.record_id]
            for credit in credits
            if credit.record_id in latest and latest[credit.record_id].credit.seq == credit.seq
        )
        return LedgerPage(records, credits[-1].seq)

    # ------------------------------------------------------------ discrepancies found by a run

    async def record(self, vendor: Source, run_id: int, comparisons: Sequence[Comparison], now: datetime) -> None:
        """Keep, open or close the discrepancies of these compared records, in one transaction."""
        if not comparisons:
            return
        async with _translated(), self._engine.begin() as connection:
            earlier = await connection.execute(
                select(DISCREPANCY).where(
                    DISCREPANCY.c.vendor == vendor.value,
                    _among(connection, DISCREPANCY, [item.record_id for item in comparisons]),
                    or_(
                        DISCREPANCY.c.status == DiscrepancyStatus.OPEN.value,
                        DISCREPANCY.c.resolution_action == ResolutionAction.ACCEPT.value,
                    ),
                )
            )
            open_ones: dict[str, Discrepancy] = {}
            accepted: dict[str, list[Discrepancy]] = defaultdict(list)
            for row in earlier:
                discrepancy = _discrepancy(row)
                if discrepancy.status is DiscrepancyStatus.OPEN:
                    open_ones[discrepancy.record_id] = discrepancy
                else:
                    accepted[discrepancy.record_id].append(discrepancy)
            opened = []
            for item in comparisons:
                open_one = open_ones.get(item.record_id)
                decision = decide(item.finding, item.fingerprint, open_one, accepted[item.record_id])
                if decision in (Decision.CLOSE, Decision.CLOSE_AND_OPEN) and open_one is not None:
                    await connection.execute(_closing(open_one.id, f"reconciliation:{run_id}", now))
                if decision is Decision.KEEP and open_one is not None:
                    await connection.execute(
                        update(DISCREPANCY)
                        .where(DISCREPANCY.c.id == open_one.id, DISCREPANCY.c.status == DiscrepancyStatus.OPEN.value)
                        .values(last_run_id=run_id, **_sides(item))
                    )
                if decision in (Decision.OPEN, Decision.CLOSE_AND_OPEN):
                    opened.append(_opening(vendor, run_id, item, now))
            if opened:
                await connection.execute(insert(DISCREPANCY), opened)

    async def keep_open(self, vendor: Source, run_id: int, record_ids: Sequence[str]) -> None:
        """Count the open discrepancies of these records as found by this run: the vendor lists them,
        unreadable, so the run cannot tell that they no longer hold."""
        if not record_ids:
            return
        async with _translated(), self._engine.begin() as connection:
            await connection.execute(
                update(DISCREPANCY)
                .where(
                    DISCREPANCY.c.vendor == vendor.value,
                    _among(connection, DISCREPANCY, record_ids),
                    DISCREPANCY.c.status == DiscrepancyStatus.OPEN.value,
                )
                .values(last_run_id=run_id)
            )

    async def close_unseen(self, vendor: Source, run_id: int, scope: Scope, now: datetime) -> int:
        """Close the open discrepancies of records completed within the scope that this run did not
        find again: the run compared every such record, so they no longer hold."""
        async with _translated(), self._engine.begin() as connection:
            result = await connection.execute(
                update(DISCREPANCY)
                .where(
                    DISCREPANCY.c.vendor == vendor.value,
                    DISCREPANCY.c.status == DiscrepancyStatus.OPEN.value,
                    DISCREPANCY.c.last_run_id != run_id,
                    DISCREPANCY.c.completed_at >= scope.start,
                    DISCREPANCY.c.completed_at < scope.end,
                )
                .values(**_closed(f"reconciliation:{run_id}", now))
            )
            return int(result.rowcount)

    async def open_counts(self, run_id: int) -> dict[DiscrepancyKind, int]:
        """The open discrepancies this run found (new or kept), by kind."""
        async with _translated(), self._engine.connect() as connection:
            rows = await connection.execute(
                select(DISCREPANCY.c.kind, func.count().label("found"))
                .where(DISCREPANCY.c.last_run_id == run_id, DISCREPANCY.c.status == DiscrepancyStatus.OPEN.value)
                .group_by(DISCREPANCY.c.kind)
            )
            return {DiscrepancyKind(row.kind): int(row.found) for row in rows}

    async def open_per_vendor(self) -> dict[Source, int]:
        """How many discrepancies with each vendor are open; a vendor with none is absent."""
        async with _translated(), self._engine.connect() as connection:
            rows = await connection.execute(
                select(DISCREPANCY.c.vendor, func.count().label("open"))
                .where(DISCREPANCY.c.status == DiscrepancyStatus.OPEN.value)
                .group_by(DISCREPANCY.c.vendor)
            )
            return {Source(row.vendor): int(row.open) for row in rows}

    # ------------------------------------------------------------ reading and resolving

    async def discrepancy(self, discrepancy_id: int) -> Discrepancy | None:
        async with _translated(), self._engine.connect() as connection:
            row = (await connection.execute(select(DISCREPANCY).where(DISCREPANCY.c.id == discrepancy_id))).first()
        return None if row is None else _discrepancy(row)

    async def discrepancies(self, query: DiscrepancyQuery) -> DiscrepancyPage:
        statement = select(DISCREPANCY).where(DISCREPANCY.c.id > query.after)
        if query.status is not None:
            statement = statement.where(DISCREPANCY.c.status == query.status.value)
        if query.vendor is not None:
            statement = statement.where(DISCREPANCY.c.vendor == query.vendor.value)
        statement = statement.order_by(DISCREPANCY.c.id).limit(query.limit + 1)
        async with _translated(), self._engine.connect() as connection:
            found = [_discrepancy(row) for row in await connection.execute(statement)]
        page = tuple(found[: query.limit])
        return DiscrepancyPage(page, encode_cursor(page[-1].id) if len(found) > query.limit else None)

    async def mark_resolved(self, discrepancy_id: int, resolution: Resolution) -> bool:
        """Record the resolution of an open discrepancy; ``False`` when it was resolved already."""
        async with _translated(), self._engine.begin() as connection:
            result = await connection.execute(
                update(DISCREPANCY)
                .where(DISCREPANCY.c.id == discrepancy_id, DISCREPANCY.c.status == DiscrepancyStatus.OPEN.value)
                .values(
                    status=DiscrepancyStatus.RESOLVED.value,
                    resolution_action=resolution.action.value,
                    resolution_reason=resolution.reason,
                    resolved_by=resolution.resolved_by,
                    resolved_at=resolution.resolved_at,
                    resolution_entries=",".join(str(seq) for seq in resolution.entry_seqs),
                )
            )
            return bool(result.rowcount == 1)


@dataclass(frozen=True, slots=True)
class LedgerPage:
    """A page of the ledger's walk: the unlisted records it holds, and where the next page starts
    (``None`` once the walk is over)."""

    records: tuple[LedgerRecord, ...]
    last_seq: int | None


async def _ledger_records(
    connection: AsyncConnection, source: Source, record_ids: Sequence[str]
) -> dict[str, LedgerRecord]:
    if not record_ids:
        return {}
    rows = await connection.execute(
        select(ENTRY).where(_among(connection, ENTRY, record_ids), ENTRY.c.source == source.value)
    )
    return latest_records(entry_from_row(row) for row in rows)


def _among(connection: AsyncConnection, table: Table, record_ids: Sequence[str]) -> ColumnElement[bool]:
    """``record_id`` is one of these: an array on PostgreSQL, so that the statement stays one plan."""
    if connection.dialect.name == "postgresql":
        return table.c.record_id == any_(bindparam("record_ids", list(record_ids), type_=RECORD_IDS))
    return table.c.record_id.in_(record_ids)


def _closed(resolved_by: str, now: datetime) -> dict[str, object]:
    return {
        "status": DiscrepancyStatus.RESOLVED.value,
        "resolution_action": ResolutionAction.NO_LONGER_HOLDS.value,
        "resolution_reason": "a later reconciliation no longer finds it",
        "resolved_by": resolved_by,
        "resolved_at": now,
        "resolution_entries": "",
    }


def _closing(discrepancy_id: int, resolved_by: str, now: datetime) -> Any:
    return (
        update(DISCREPANCY)
        .where(DISCREPANCY.c.id == discrepancy_id, DISCREPANCY.c.status == DiscrepancyStatus.OPEN.value)
        .values(**_closed(resolved_by, now))
    )


def _sides(item: Comparison) -> dict[str, object]:
    """What a discrepancy keeps of both sides, as this run saw them."""
    vendor, ledger, finding = item.vendor, item.ledger, item.finding
    if finding is None:
        raise ValueError("only a finding is kept")
    completed_at = vendor.completed_at if vendor is not None and vendor.completed_at is not None else None
    if completed_at is None and ledger is not None:
        completed_at = ledger.credit.completed_at
    if completed_at is None:
        raise ValueError("a discrepancy's record has a completion time on one side at least")
    person_id: str | None = None
    if vendor is not None and vendor.credit is not None:
        person_id = vendor.credit.person_id
    elif ledger is not None:
        person_id = ledger.credit.person_id
    return {
        "kind": finding.kind.value,
        "differences": ",".join(finding.differences),
        "person_id": person_id,
        "vendor_state": None if vendor is None else vendor.state.value,
        "vendor_record": None if vendor is None else vendor.shown,
        "vendor_credit": None if vendor is None or vendor.credit is None else credit_text(vendor.credit),
        "vendor_fingerprint": item.fingerprint,
        "ledger_record": None if ledger is None else _json(ledger_document(ledger)),
        "completed_at": completed_at,
    }


def _opening(vendor: Source, run_id: int, item: Comparison, now: datetime) -> dict[str, object]:
    return {
        "vendor": vendor.value,
        "record_id": item.record_id,
        "status": DiscrepancyStatus.OPEN.value,
        "opened_at": now,
        "opened_by_run": run_id,
        "last_run_id": run_id,
        **_sides(item),
    }


def _json(document: dict[str, object]) -> str:
    return json.dumps(document, ensure_ascii=False, sort_keys=True)


def _run(row: Row[Any]) -> Run:
    scope = Scope(row.first_day, row.last_day, row.year)
    counts = Counts(
        compared=row.compared,
        missing_in_ledger=row.missing_in_ledger,
        missing_at_vendor=row.missing_at_vendor,
        different=row.different,
        unknown_person=row.unknown_person,
        unreadable=row.unreadable,
    )
    return Run(
        id=row.id,
        vendor=Source(row.vendor),
        scope=scope,
        status=RunStatus(row.status),
        started_by=row.started_by,
        started_at=row.started_at,
        finished_at=row.finished_at,
        counts=counts,
        failure=row.failure,
    )


def _discrepancy(row: Row[Any]) -> Discrepancy:
    resolution = None
    if row.resolution_action is not None:
        resolution = Resolution(
            action=ResolutionAction(row.resolution_action),
            reason=row.resolution_reason or "",
            resolved_by=row.resolved_by or "",
            resolved_at=row.resolved_at,
            entry_seqs=tuple(int(seq) for seq in (row.resolution_entries or "").split(",") if seq),
        )
    return Discrepancy(
        id=row.id,
        vendor=Source(row.vendor),
        kind=DiscrepancyKind(row.kind),
        record_id=row.record_id,
        person_id=None if row.person_id is None else PersonId(row.person_id),
        differences=tuple(name for name in row.differences.split(",") if name),
        vendor_state=None if row.vendor_state is None else VendorState(row.vendor_state),
        vendor_record=row.vendor_record,
        vendor_credit=None if row.vendor_credit is None else credit_from_text(row.vendor_credit),
        vendor_fingerprint=row.vendor_fingerprint,
        ledger_record=row.ledger_record,
        completed_at=row.completed_at,
        status=DiscrepancyStatus(row.status),
        opened_at=row.opened_at,
        opened_by_run=row.opened_by_run,
        last_run_id=row.last_run_id,
        resolution=resolution,
    )
