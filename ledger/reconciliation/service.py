"""Reconciliation's use cases: run a vendor's reconciliation (in the background or to completion),
read runs and discrepancies, and resolve a discrepancy by appending to the ledger.

Both sides are streamed, and a run holds one batch of each at a time, whatever the number of
records. The vendor's side comes first, batch by batch: each batch's record ids are staged in the
database, its ledger side is looked up by record id, and its records are compared and recorded at
once, so a vendor that fails half-way leaves a failed run with what it compared so far. The ledger's
records of the scope that the vendor did not list are walked afterwards, in pages of sequence
numbers, skipping the staged ids. Staging the vendor's ids in a table, rather than merging two
sorted streams, is forced by the vendors: none of them lists its records in the order of their ids
(ischinese in the order it kept them, webtrn by time of change, hnou day by day), and a record may
come twice in one run.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, aclosing
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog

from ledger.errors import FieldError, LedgerUnavailable, NoRulesForYear
from ledger.model import (
    Outcome,
    OutcomeKind,
    Replacement,
    SequenceNumber,
    Source,
    canonical_json,
    new_reversal,
    sha256_hex,
)
from ledger.reconciliation.errors import (
    AlreadyResolved,
    DiscrepancyNotFound,
    InvalidReconciliationRequest,
    LedgerMovedOn,
    ReconciliationRunning,
    ReconciliationUnavailable,
    RunNotFound,
    VendorReadFailed,
)
from ledger.reconciliation.model import (
    FITTING_ACTIONS,
    RECENT_RUNS_MAX,
    Comparison,
    Counts,
    Discrepancy,
    DiscrepancyKind,
    DiscrepancyPage,
    DiscrepancyQuery,
    DiscrepancyStatus,
    Resolution,
    ResolutionAction,
    Run,
    RunRequest,
    RunStatus,
    VendorRecord,
    VendorState,
    compare,
)
from ledger.reconciliation.ports import VENDOR_BATCH_RECORDS_MAX, VendorRecords
from ledger.reconciliation.store import SqlReconciliationStore
from ledger.service import Ledger

LEDGER_PAGE_RECORDS_MAX = 500
SHUTDOWN_NOTE = "cancelled: the hub shut down before the run ended"

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a run has come: records compared, discrepancies found or kept so far, and the side."""

    compared: int
    found: int
    side: str


Listener = Callable[[Progress], None]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class _Tally:
    compared: int = 0
    unreadable: int = 0
    found: int = 0


@dataclass
class _Lease:
    """A vendor's lease in this process: held by one run until it gives it up."""

    ended: bool = False
    """The run has recorded its end; the lease goes in a moment."""
    released: asyncio.Event = field(default_factory=asyncio.Event)


class Reconciliations:
    """Reconciliation of the ledger with the vendors whose readers it is given."""

    def __init__(
        self,
        store: SqlReconciliationStore,
        ledger: Ledger,
        readers: Mapping[Source, VendorRecords],
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._ledger = ledger
        self._readers = dict(readers)
        self._clock = clock
        self._leases: dict[Source, _Lease] = {}
        self._tasks: set[asyncio.Task[Run]] = set()

    async def open_per_vendor(self) -> Mapping[Source, int]:
        """How many discrepancies with each vendor are open (the ``OpenDiscrepancies`` of vendor health)."""
        return await self._store.open_per_vendor()

    # ------------------------------------------------------------ running

    async def start(self, request: RunRequest, started_by: str) -> Run:
        """Begin a run that goes on in the background, tracked until it ends or ``close``.

        Raises ``InvalidReconciliationRequest`` (a vendor not configured, a year without rules),
        ``ReconciliationRunning`` and ``ReconciliationUnavailable``; nothing is recorded then.
        """
        run, lease = await self._begin(request, started_by)
        task = asyncio.create_task(self._carry_out(run, lease, None), name=f"reconciliation-{run.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        # Let the task take its first step: a task cancelled before it starts never runs its own
        # code, and would leave its run "running" and its vendor's lease held.
        await asyncio.sleep(0)
        return run

    async def run(self, request: RunRequest, started_by: str, listener: Listener | None = None) -> Run:
        """Run a reconciliation to its end in the calling task (tracked as ``start``'s are); the run
        as it ended, succeeded or failed. Raises as ``start`` does."""
        run, lease = await self._begin(request, started_by)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            return await self._carry_out(run, lease, listener)
        finally:
            self._tasks.discard(task)

    async def close(self) -> None:
        """Cancel every run under way and wait until each has recorded its end."""
        tasks = [task for task in self._tasks if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _begin(self, request: RunRequest, started_by: str) -> tuple[Run, AsyncExitStack]:
        """The new run and its vendor's lease, which the run gives up when it ends."""
        self._check(request)
        held = self._leases.get(request.vendor)
        if held is not None and held.ended:
            # The last run says it has ended: the next may start as soon as that run lets go.
            await held.released.wait()
            held = self._leases.get(request.vendor)
        if held is not None:
            raise ReconciliationRunning(f"a reconciliation of {request.vendor.value} is under way")
        lease = AsyncExitStack()
        lease.callback(self._let_go, request.vendor, self._leases.setdefault(request.vendor, _Lease()))
        try:
            await lease.enter_async_context(self._store.vendor_lease(request.vendor))
            run = await self._store.create_run(request.vendor, request.scope, started_by, self._clock())
        except BaseException:
            await lease.aclose()
            raise
        log.info("reconciliation_started", run_id=run.id, vendor=run.vendor.value, started_by=started_by)
        return run, lease

    def _let_go(self, vendor: Source, lease: _Lease) -> None:
        del self._leases[vendor]
        lease.released.set()

    def _check(self, request: RunRequest) -> None:
        errors = []
        if request.vendor not in self._readers:
            errors.append(FieldError("vendor", f"{request.vendor.value} is not configured on this hub"))
        named = "year" if request.scope.year is not None else "from"
        for year in request.scope.years:
            try:
                self._ledger.rules_for(year)
            except NoRulesForYear:
                errors.append(FieldError(named, f"the training year {year} has no rules"))
        if errors:
            raise InvalidReconciliationRequest(errors)

    async def _carry_out(self, run: Run, lease: AsyncExitStack, listener: Listener | None) -> Run:
        """Compare both sides and record how the run ended; the lease is given up at the end."""
        tally = _Tally()
        async with lease:
            try:
                await self._compare_vendor_side(run, tally, listener)
                await self._compare_ledger_side(run, tally, listener)
                await self._store.close_unseen(run.vendor, run.id, run.scope, self._clock())
            except asyncio.CancelledError:
                await asyncio.shield(self._finish(run, tally, SHUTDOWN_NOTE))
                raise
            except (VendorReadFailed, ReconciliationUnavailable, LedgerUnavailable) as failure:
                return await self._finish(run, tally, f"{failure.code}: {failure}")
            # The run is a job of its own: whatever breaks it is recorded as its failure, and the
            # hub goes on. The message is the error's type only, as its text may quote data.
            except Exception as failure:
                log.exception("reconciliation_broke", run_id=run.id, vendor=run.vendor.value)
                return await self._finish(run, tally, f"internal_error: {type(failure).__name__}")
            return await self._finish(run, tally, None)

    async def _finish(self, run: Run, tally: _Tally, failure: str | None) -> Run:
        status = RunStatus.SUCCEEDED if failure is None else RunStatus.FAILED
        try:
            kinds = await self._store.open_counts(run.id)
            counts = Counts.of(tally.compared, tally.unreadable, kinds)
            finished = await self._store.finish_run(run.id, status, counts, failure, self._clock())
            self._leases[run.vendor].ended = True
        except ReconciliationUnavailable:
            # The run stays "running" until the next run of its vendor marks it abandoned.
            log.warning("reconciliation_end_not_recorded", run_id=run.id, vendor=run.vendor.value)
            return dataclasses.replace(run, status=status, failure=failure, counts=Counts(tally.compared))
        log.info(
            "reconciliation_finished",
            run_id=run.id,
            vendor=run.vendor.value,
            status=status.value,
            compared=counts.compared,
            discrepancies=counts.discrepancies,
            failure=failure,
        )
        return finished

    async def _compare_vendor_side(self, run: Run, tally: _Tally, listener: Listener | None) -> None:
        reader = self._readers[run.vendor]
        async with aclosing(_batches(reader, run)) as batches:
            async for batch in batches:
                latest = {record.record_id: record for record in batch}  # a later version in a batch wins
                tally.compared += await self._store.stage(run.id, list(latest))
                readable = [record for record in latest.values() if record.state is not VendorState.UNREADABLE]
                unreadable = [
                    record_id for record_id, record in latest.items() if record.state is VendorState.UNREADABLE
                ]
                tally.unreadable += len(unreadable)
                await self._store.keep_open(run.vendor, run.id, unreadable)
                ledger = await self._store.ledger_records(run.vendor, [record.record_id for record in readable])
                comparisons = [
                    Comparison(
                        record.record_id,
                        compare(run.vendor, record, ledger.get(record.record_id)),
                        record,
                        ledger.get(record.record_id),
                    )
                    for record in readable
                ]
                await self._record(run, comparisons, tally, listener, "vendor")

    async def _compare_ledger_side(self, run: Run, tally: _Tally, listener: Listener | None) -> None:
        after: int | None = 0
        while after is not None:
            page = await self._store.unlisted_ledger_records(
                run.vendor, run.id, run.scope, after, LEDGER_PAGE_RECORDS_MAX
            )
            tally.compared += len(page.records)
            comparisons = [
                Comparison(record.credit.record_id, compare(run.vendor, None, record), None, record)
                for record in page.records
            ]
            await self._record(run, comparisons, tally, listener, "ledger")
            after = page.last_seq

    async def _record(
        self, run: Run, comparisons: list[Comparison], tally: _Tally, listener: Listener | None, side: str
    ) -> None:
        await self._store.record(run.vendor, run.id, comparisons, self._clock())
        tally.found += sum(1 for item in comparisons if item.finding is not None)
        if listener is not None:
            listener(Progress(tally.compared, tally.found, side))

    # ------------------------------------------------------------ reading

    async def run_of(self, run_id: int) -> Run:
        """Raises ``RunNotFound``."""
        run = await self._store.run(run_id)
        if run is None:
            raise RunNotFound(f"no reconciliation has the id {run_id}")
        return run

    async def recent_runs(self, limit: int = RECENT_RUNS_MAX) -> tuple[Run, ...]:
        """The runs started last, the latest first: at most ``limit``, itself held to 1 to ``RECENT_RUNS_MAX``."""
        return await self._store.recent_runs(min(max(1, limit), RECENT_RUNS_MAX))

    async def discrepancies(self, query: DiscrepancyQuery) -> DiscrepancyPage:
        return await self._store.discrepancies(query)

    async def discrepancy(self, discrepancy_id: int) -> Discrepancy:
        """Raises ``DiscrepancyNotFound``."""
        found = await self._store.discrepancy(discrepancy_id)
        if found is None:
            raise DiscrepancyNotFound(f"no discrepancy has the id {discrepancy_id}")
        return found

    # ------------------------------------------------------------ resolving

    async def resolve(self, discrepancy_id: int, action: ResolutionAction, reason: str, actor: str) -> Discrepancy:
        """Resolve an open discrepancy with a fitting action; the ledger changes only by appending.

        Raises ``DiscrepancyNotFound``, ``AlreadyResolved`` (nothing changed),
        ``InvalidReconciliationRequest`` for an action that does not fit the kind,
        ``LedgerMovedOn`` when the ledger holds another version now, and the ledger's errors.
        """
        discrepancy = await self.discrepancy(discrepancy_id)
        if discrepancy.status is DiscrepancyStatus.RESOLVED:
            raise AlreadyResolved(f"discrepancy {discrepancy_id} is already resolved")
        fitting = FITTING_ACTIONS[discrepancy.kind]
        if action not in fitting:
            allowed = ", ".join(item.value for item in fitting)
            message = f"does not fit a {discrepancy.kind.value} discrepancy: {allowed}"
            raise InvalidReconciliationRequest([FieldError("action", message)])
        if (
            action is ResolutionAction.INGEST
            and discrepancy.vendor_credit is None
            and discrepancy.vendor_state is not VendorState.REVOKED
        ):
            message = "does not fit: the vendor's learner is not known to the hub, so there is nothing to take"
            raise InvalidReconciliationRequest([FieldError("action", message)])
        outcome = await self._apply(discrepancy, action, reason, actor)
        resolution = Resolution(action, reason, actor, self._clock(), _appended(outcome))
        if not await self._store.mark_resolved(discrepancy.id, resolution):
            raise AlreadyResolved(f"discrepancy {discrepancy_id} was resolved meanwhile")
        log.info(
            "discrepancy_resolved",
            discrepancy_id=discrepancy.id,
            vendor=discrepancy.vendor.value,
            action=action.value,
            entries=len(resolution.entry_seqs),
        )
        return dataclasses.replace(discrepancy, status=DiscrepancyStatus.RESOLVED, resolution=resolution)

    async def _apply(
        self, discrepancy: Discrepancy, action: ResolutionAction, reason: str, actor: str
    ) -> Outcome | None:
        """What the action appends to the ledger; ``None`` for an acceptance."""
        if action is ResolutionAction.ACCEPT:
            return None
        if action is ResolutionAction.REVERSE or discrepancy.vendor_state is VendorState.REVOKED:
            return await self._ledger.record(
                new_reversal(
                    source=discrepancy.vendor.value,
                    record_id=discrepancy.record_id,
                    reason=reason,
                    actor=actor,
                    payload_hash=_resolution_hash(discrepancy, action),
                )
            )
        credit = discrepancy.vendor_credit
        if credit is None:
            raise LedgerMovedOn(f"discrepancy {discrepancy.id} holds no vendor's version to take")
        credit = dataclasses.replace(credit, actor=actor)
        if discrepancy.kind is DiscrepancyKind.MISSING_IN_LEDGER:
            return await self._ledger.record(credit)
        if discrepancy.ledger_record is None:
            raise LedgerMovedOn(f"discrepancy {discrepancy.id} holds no ledger entry to replace")
        replaces_seq = SequenceNumber(int(json.loads(discrepancy.ledger_record)["seq"]))
        return await self._ledger.record(Replacement(credit, replaces_seq, reason))


def _appended(outcome: Outcome | None) -> tuple[int, ...]:
    """The sequence numbers an action appended: none for an acceptance, or when the ledger already
    agreed (a duplicate: a resolution tried again after it reached the ledger)."""
    if outcome is None or outcome.kind is OutcomeKind.DUPLICATE:
        return ()
    if outcome.kind is not OutcomeKind.APPENDED:
        raise LedgerMovedOn(f"the ledger did not take the record ({outcome.kind.value}): reconcile again")
    return tuple(entry.seq for entry in outcome.entries)


def _resolution_hash(discrepancy: Discrepancy, action: ResolutionAction) -> str:
    """What an operator's reversal is made from: the discrepancy and the action."""
    return sha256_hex(canonical_json({"discrepancy": discrepancy.id, "action": action.value}))


async def _batches(reader: VendorRecords, run: Run) -> AsyncGenerator[Sequence[VendorRecord], None]:
    """The reader's batches, each checked against the port's limit."""
    async with aclosing(reader.batches(run.scope)) as batches:
        async for batch in batches:
            if len(batch) > VENDOR_BATCH_RECORDS_MAX:
                raise VendorReadFailed(f"the {run.vendor.value} reader gave a batch over {VENDOR_BATCH_RECORDS_MAX}")
            yield batch
