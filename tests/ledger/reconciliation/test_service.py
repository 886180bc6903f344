"""Runs and resolutions on SQLite and PostgreSQL, against a vendor that gives the records a test names."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.model import Balance, Credit, Entry, EntryKind, Source, new_credit, new_reversal
from ledger.reconciliation.errors import (
    AlreadyResolved,
    DiscrepancyNotFound,
    InvalidReconciliationRequest,
    ReconciliationRunning,
    RunNotFound,
    VendorReadFailed,
)
from ledger.reconciliation.model import (
    Counts,
    Discrepancy,
    DiscrepancyKind,
    DiscrepancyQuery,
    DiscrepancyStatus,
    ResolutionAction,
    RunRequest,
    RunStatus,
    Scope,
    VendorRecord,
    VendorState,
)
from ledger.reconciliation.service import Progress, Reconciliations
from ledger.reconciliation.store import RUN, STAGED, SqlReconciliationStore
from ledger.service import Ledger
from ledger.store import SqlLedgerStore

from ..conftest import RULES_2021

BEIJING = timezone(timedelta(hours=8))
JUNE = datetime(2021, 6, 1, 10, 0, tzinfo=BEIJING)
YEAR_2021 = RunRequest(Source.ISCHINESE, Scope.of_year(2021))


def credit(record_id: str, *, hours: str = "2", person: str = "person-1", day: int = 0) -> Credit:
    return new_credit(
        person_id=person,
        source="ischinese",
        record_id=record_id,
        course_code="XJP-2021-01",
        course_title="概论",
        subject="public",
        hours=hours,
        completed_at=JUNE + timedelta(days=day),
        actor="vendor:ischinese",
        payload_hash=hashlib.sha256(record_id.encode()).hexdigest(),
    )


def listed(record: Credit) -> VendorRecord:
    return VendorRecord(record.record_id, VendorState.COUNTED, record, record.completed_at, _print(record), "{}")


def revoked(record_id: str) -> VendorRecord:
    return VendorRecord(record_id, VendorState.REVOKED, None, JUNE, _print(record_id), "{}")


def unknown(record_id: str) -> VendorRecord:
    return VendorRecord(record_id, VendorState.UNKNOWN_LEARNER, None, JUNE, _print(record_id), "{}")


def unreadable(record_id: str) -> VendorRecord:
    return VendorRecord(record_id, VendorState.UNREADABLE, None, None, _print(record_id), "{}")


def _print(thing: object) -> str:
    return hashlib.sha256(repr(thing).encode()).hexdigest()


@dataclass
class FakeVendor:
    """The vendor's records in batches of two; ``fail_at`` breaks the read before that batch."""

    records: list[VendorRecord] = field(default_factory=list)
    fail_at: int | None = None
    gate: asyncio.Event | None = None

    async def batches(self, scope: Scope) -> AsyncGenerator[Sequence[VendorRecord], None]:
        for number, start in enumerate(range(0, len(self.records), 2)):
            if self.gate is not None:
                await self.gate.wait()
            if number == self.fail_at:
                raise VendorReadFailed("ischinese answered 503 to every try")
            yield self.records[start : start + 2]


@pytest.fixture
def vendor() -> FakeVendor:
    return FakeVendor()


@pytest.fixture
def ledger(engine: AsyncEngine) -> Ledger:
    return Ledger(SqlLedgerStore(engine), {2021: RULES_2021})


@pytest.fixture
def reconciliations(engine: AsyncEngine, ledger: Ledger, vendor: FakeVendor) -> Reconciliations:
    return Reconciliations(SqlReconciliationStore(engine), ledger, {Source.ISCHINESE: vendor})


async def seed_every_kind(ledger: Ledger, vendor: FakeVendor) -> None:
    """c-same agrees; c-lost never reached the ledger; c-gone is not at the vendor; c-hours and
    c-revoked differ; c-stranger's learner is unknown; c-broken cannot be read; c-off was reversed
    by the vendor and is agreed."""
    for record in (credit("c-same"), credit("c-gone"), credit("c-hours"), credit("c-revoked"), credit("c-off")):
        await ledger.record(record)
    await ledger.record(
        new_reversal(
            source="ischinese", record_id="c-off", reason="revoked", actor="vendor:ischinese", payload_hash="a" * 64
        )
    )
    vendor.records = [
        listed(credit("c-same")),
        listed(credit("c-lost")),
        listed(credit("c-hours", hours="3")),
        revoked("c-revoked"),
        unknown("c-stranger"),
        unreadable("c-broken"),
        revoked("c-off"),
    ]


async def open_by_record(reconciliations: Reconciliations) -> dict[str, Discrepancy]:
    page = await reconciliations.discrepancies(DiscrepancyQuery(status=DiscrepancyStatus.OPEN, limit=200))
    return {item.record_id: item for item in page.items}


async def test_a_run_finds_exactly_the_discrepancies_of_every_kind(
    reconciliations: Reconciliations, ledger: Ledger, vendor: FakeVendor
) -> None:
    await seed_every_kind(ledger, vendor)

    run = await reconciliations.run(YEAR_2021, "command_line")

    assert (run.status, run.failure, run.started_by) == (RunStatus.SUCCEEDED, None, "command_line")
    assert run.counts == Counts(
        compared=8, missing_in_ledger=1, missing_at_vendor=1, different=2, unknown_person=1, unreadable=1
    )
    found = await open_by_record(reconciliations)
    assert {record_id: (item.kind, item.differences) for record_id, item in found.items()} == {
        "c-lost": (DiscrepancyKind.MISSING_IN_LEDGER, ()),
        "c-gone": (DiscrepancyKind.MISSING_AT_VENDOR, ()),
        "c-hours": (DiscrepancyKind.DIFFERENT, ("hours",)),
        "c-revoked": (DiscrepancyKind.DIFFERENT, ("status",)),
        "c-stranger": (DiscrepancyKind.UNKNOWN_PERSON, ()),
    }
    assert found["c-gone"].vendor_record is None
    assert found["c-lost"].ledger_record is None
    assert found["c-hours"].person_id == "person-1"
    assert await reconciliations.run_of(run.id) == run


async def test_a_rerun_keeps_each_discrepancys_id_and_adds_none(
    reconciliations: Reconciliations, ledger: Ledger, vendor: FakeVendor
) -> None:
    await seed_every_kind(ledger, vendor)
    first = await open_by_record(await _ran(reconciliations))

    again = await open_by_record(await _ran(reconciliations))

    assert {record_id: item.id for record_id, item in again.items()} == {
        record_id: item.id for record_id, item in first.items()
    }
    everything = await reconciliations.discrepancies(DiscrepancyQuery(limit=200))
    assert len(everything.items) == 5


async def test_a_discrepancy_that_no_longer_holds_is_closed(
    reconciliations: Reconciliations, ledger: Ledger, vendor: FakeVendor
) -> None:
    await seed_every_kind(ledger, vendor)
    first = await open_by_record(await _ran(reconciliations))
    await ledger.record(credit("c-lost"))  # the lost webhook arrives after all
    vendor.records = [record for record in vendor.records if record.record_id != "c-stranger"]

    second_run = await reconciliations.run(YEAR_2021, "command_line")

    remaining = await open_by_record(reconciliations)
    assert sorted(remaining) == ["c-gone", "c-hours", "c-revoked"]
    closed = await reconciliations.discrepancy(first["c-lost"].id)
    assert closed.status is DiscrepancyStatus.RESOLVED
    assert closed.resolution is not None
    assert (closed.resolution.action, closed.resolution.resolved_by) == (
        ResolutionAction.NO_LONGER_HOLDS,
        f"reconciliation:{second_run.id}",
    )
    stranger = await reconciliations.discrepancy(first["c-stranger"].id)
    assert stranger.status is DiscrepancyStatus.RESOLVED  # out of the listing: closed by the scope's sweep


async def test_each_resolution_appends_the_expected_entries_and_a_rerun_is_clean(
    reconciliations: Reconciliations, ledger: Ledger, vendor: FakeVendor, engine: AsyncEngine
) -> None:
    await seed_every_kind(ledger, vendor)
    found = await open_by_record(await _ran(reconciliations))
    head = (await ledger.verify_chain()).head_seq

    lost = await reconciliations.resolve(found["c-lost"].id, ResolutionAction.INGEST, "webhook lost", "operator:1")
    gone = await reconciliations.resolve(found["c-gone"].id, ResolutionAction.REVERSE, "not at ischinese", "operator:1")
    hours = await reconciliations.resolve(found["c-hours"].id, ResolutionAction.INGEST, "corrected", "operator:1")
    revoked_one = await reconciliations.resolve(
        found["c-revoked"].id, ResolutionAction.INGEST, "revoked there", "operator:1"
    )
    stranger = await reconciliations.resolve(
        found["c-stranger"].id, ResolutionAction.ACCEPT, "waits for registration", "operator:1"
    )

    entries = [entry for entry in await ledger.entries_of("person-1", 2021) if entry.seq > head]
    assert [(entry.kind, entry.record_id, _revision(entry), entry.hours, entry.actor) for entry in entries] == [
        (EntryKind.CREDIT, "c-lost", 1, 200, "operator:1"),
        (EntryKind.REVERSAL, "c-gone", 1, 200, "operator:1"),
        (EntryKind.REVERSAL, "c-hours", 1, 200, "operator:1"),
        (EntryKind.CREDIT, "c-hours", 2, 300, "operator:1"),
        (EntryKind.REVERSAL, "c-revoked", 1, 200, "operator:1"),
    ]
    assert [entry.reason for entry in entries if entry.kind is EntryKind.REVERSAL] == [
        "not at ischinese",
        "corrected",
        "revoked there",
    ]
    assert [item.resolution.entry_seqs for item in (lost, gone, hours, revoked_one, stranger) if item.resolution] == [
        (head + 1,),
        (head + 2,),
        (head + 3, head + 4),
        (head + 5,),
        (),
    ]
    assert await ledger.balance("person-1", 2021) == Balance(public=200 + 200 + 300)
    assert (await ledger.verify_chain()).intact

    rerun = await reconciliations.run(YEAR_2021, "command_line")

    assert rerun.counts == Counts(compared=8, unreadable=1)
    assert await open_by_record(reconciliations) == {}


async def test_an_accepted_discrepancy_is_not_reopened_unless_the_vendors_record_changes(
    reconciliations: Reconciliations, ledger: Ledger, vendor: FakeVendor
) -> None:
    await ledger.record(credit("c-hours"))
    vendor.records = [listed(credit("c-hours", hours="3"))]
    found = await open_by_record(await _ran(reconciliations))
    await reconciliations.resolve(found["c-hours"].id, ResolutionAction.ACCEPT, "agreed by phone", "operator:1")

    assert await open_by_record(await _ran(reconciliations)) == {}

    vendor.records = [listed(credit("c-hours", hours="4"))]
    reopened = await open_by_record(await _ran(reconciliations))
    assert list(reopened) == ["c-hours"]
    assert reopened["c-hours"].id != found["c-hours"].id


async def test_resolving_twice_or_with_an_action_that_does_not_fit_changes_nothing(
    reconciliations: Reconciliations, ledger: Ledger, vendor: FakeVendor
) -> None:
    await seed_every_kind(ledger, vendor)
    found = await open_by_record(await _ran(reconciliations))
    head = (await ledger.verify_chain()).head_seq

    with pytest.raises(InvalidReconciliationRequest) as unfit:
        await reconciliations.resolve(found["c-stranger"].id, ResolutionAction.INGEST, "try", "operator:1")
    with pytest.raises(InvalidReconciliationRequest):
        await reconciliations.resolve(found["c-lost"].id, ResolutionAction.REVERSE, "try", "operator:1")
    await reconciliations.resolve(found["c-gone"].id, ResolutionAction.ACCEPT, "fine", "operator:1")
    with pytest.raises(AlreadyResolved):
        await reconciliations.resolve(found["c-gone"].id, ResolutionAction.REVERSE, "again", "operator:1")
    with pytest.raises(DiscrepancyNotFound):
        await reconciliations.resolve(9999, ResolutionAction.ACCEPT, "none", "operator:1")

    assert [error.field for error in unfit.value.errors] == ["action"]
    assert (await ledger.verify_chain()).head_seq == head


async def test_a_year_without_rules_or_a_vendor_not_configured_is_refused_and_nothing_is_recorded(
    reconciliations: Reconciliations, engine: AsyncEngine
) -> None:
    with pytest.raises(InvalidReconciliationRequest) as no_rules:
        await reconciliations.run(RunRequest(Source.ISCHINESE, Scope.of_year(2022)), "command_line")
    with pytest.raises(InvalidReconciliationRequest) as no_vendor:
        await reconciliations.start(RunRequest(Source.HNOU, Scope.of_year(2021)), "command_line")

    assert [error.field for error in no_rules.value.errors] == ["year"]
    assert [error.field for error in no_vendor.value.errors] == ["vendor"]
    async with engine.connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(RUN)) == 0
    with pytest.raises(RunNotFound):
        await reconciliations.run_of(1)


async def test_a_vendor_that_fails_mid_run_leaves_a_failed_run_with_what_it_compared_and_the_next_starts_clean(
    reconciliations: Reconciliations, ledger: Ledger, vendor: FakeVendor, engine: AsyncEngine
) -> None:
    await seed_every_kind(ledger, vendor)
    vendor.fail_at = 1
    heard: list[Progress] = []

    failed = await reconciliations.run(YEAR_2021, "scheduler", heard.append)

    assert (failed.status, failed.failure) == (
        RunStatus.FAILED,
        "vendor_read_failed: ischinese answered 503 to every try",
    )
    assert failed.finished_at is not None
    assert failed.counts == Counts(compared=2, missing_in_ledger=1)
    assert [(progress.compared, progress.found, progress.side) for progress in heard] == [(2, 1, "vendor")]
    assert list(await open_by_record(reconciliations)) == ["c-lost"]  # nothing closed from half a view

    vendor.fail_at = None
    clean = await reconciliations.run(YEAR_2021, "scheduler")

    assert clean.status is RunStatus.SUCCEEDED
    assert clean.counts.compared == 8
    async with engine.connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(STAGED)) == 0


async def test_a_background_run_is_tracked_one_per_vendor_and_cancelled_on_close(
    reconciliations: Reconciliations, ledger: Ledger, vendor: FakeVendor
) -> None:
    await seed_every_kind(ledger, vendor)
    vendor.gate = asyncio.Event()

    started = await reconciliations.start(YEAR_2021, "operator:1")
    with pytest.raises(ReconciliationRunning):
        await reconciliations.start(YEAR_2021, "operator:1")
    await reconciliations.close()

    ended = await reconciliations.run_of(started.id)
    assert (started.status, ended.status) == (RunStatus.RUNNING, RunStatus.FAILED)
    assert ended.failure == "cancelled: the hub shut down before the run ended"
    vendor.gate.set()
    assert (await reconciliations.run(YEAR_2021, "operator:1")).status is RunStatus.SUCCEEDED


async def test_a_run_left_running_by_a_process_that_stopped_is_marked_abandoned_by_the_next(
    engine: AsyncEngine, ledger: Ledger, vendor: FakeVendor
) -> None:
    store = SqlReconciliationStore(engine)
    left = await store.create_run(Source.ISCHINESE, Scope.of_year(2021), "operator:1", datetime.now(UTC))
    await store.stage(left.id, ["c-1", "c-2"])

    await Reconciliations(store, ledger, {Source.ISCHINESE: vendor}).run(YEAR_2021, "scheduler")

    abandoned = await store.run(left.id)
    assert abandoned is not None
    assert (abandoned.status, abandoned.failure) == (
        RunStatus.FAILED,
        "abandoned: the process running it stopped before it ended",
    )
    async with engine.connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(STAGED)) == 0


async def _ran(reconciliations: Reconciliations) -> Reconciliations:
    run = await reconciliations.run(YEAR_2021, "command_line")
    assert run.status is RunStatus.SUCCEEDED, run.failure
    return reconciliations


async def test_a_record_the_vendor_lists_unreadable_keeps_its_open_discrepancy(
    reconciliations: Reconciliations, ledger: Ledger, vendor: FakeVendor
) -> None:
    await ledger.record(credit("c-hours"))
    vendor.records = [listed(credit("c-hours", hours="3"))]
    found = await open_by_record(await _ran(reconciliations))
    vendor.records = [unreadable("c-hours")]

    again = await open_by_record(await _ran(reconciliations))

    assert {record_id: item.id for record_id, item in again.items()} == {"c-hours": found["c-hours"].id}


def _revision(entry: Entry) -> int:
    """1 for a record's first credit and reversals of it; 2 for a credit that replaces another."""
    return 2 if entry.kind is EntryKind.CREDIT and entry.reverses_seq is not None else 1


async def test_the_next_run_waits_for_a_run_that_has_recorded_its_end_to_let_go_of_the_vendor(
    engine: AsyncEngine, ledger: Ledger, vendor: FakeVendor
) -> None:
    await seed_every_kind(ledger, vendor)
    store = SqlReconciliationStore(engine)
    ended, letting_go, lease = asyncio.Event(), asyncio.Event(), store.vendor_lease

    @asynccontextmanager
    async def slow_lease(source: Source) -> AsyncIterator[None]:
        async with lease(source):
            yield
            ended.set()  # the run has recorded its end
            await letting_go.wait()  # giving the lease up takes until the test says

    store.vendor_lease = slow_lease  # type: ignore[method-assign]
    reconciliations = Reconciliations(store, ledger, {Source.ISCHINESE: vendor})
    first = await reconciliations.start(YEAR_2021, "operator:1")
    await ended.wait()

    second = asyncio.create_task(reconciliations.start(YEAR_2021, "operator:1"))
    for _ in range(10):
        await asyncio.sleep(0)
    waited = not second.done()
    letting_go.set()
    started = await second
    await reconciliations.close()

    assert (await reconciliations.run_of(first.id)).status is RunStatus.SUCCEEDED
    assert waited
    assert (started.id, started.status) == (first.id + 1, RunStatus.RUNNING)
