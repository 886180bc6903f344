"""The ledger's use cases: record credits and reversals exactly once, hold what is doubtful,
read balances, evaluate a year against its rules, and verify the chain.

Every write is one transaction under the chain's lock: the check and the write cannot drift apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import random
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.errors import (
    EntryNotCurrent,
    FieldError,
    HoldAlreadyDecided,
    HoldNotFound,
    InvalidCommand,
    LedgerCorrupted,
    LedgerUnavailable,
    NoRulesForYear,
    RecordsDiffer,
    WriteConflict,
)
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
    Evaluation,
    HeldId,
    HeldQuery,
    HeldRecord,
    Hold,
    HoldDecision,
    HoldReason,
    Outcome,
    OutcomeKind,
    PendingReversal,
    PersonId,
    Quarantined,
    RecordKey,
    Replacement,
    Reversal,
    SequenceNumber,
    Source,
    SourcePosition,
    YearRules,
    canonical_json,
    chain_hash,
    counted_credits,
    course_key,
    evaluate,
    evaluate_credits,
    format_hours,
    new_credit,
    reversal_content_hash,
    sealed,
    sha256_hex,
    utc_text,
)
from ledger.store import (
    BalanceMismatch,
    SqlLedgerStore,
    SqlLedgerWriter,
    SqlYearReview,
    SqlYearStanding,
    settle_standings,
)

WRITE_ATTEMPTS_MAX = 8
RETRY_DELAY_SECONDS_BASE = 0.01
COMMANDS_PER_BATCH_MAX = 1000
VERIFY_ENTRIES_PER_READ = 1000
ONLINE_SOURCES = tuple(source for source in Source if source.is_vendor)
DUE_EVALUATIONS_PER_READ = 500


@dataclass(frozen=True, slots=True)
class YearReview:
    """A person's year under review: its rules, its entries in ledger order, its evaluation, and the
    open transaction (``connection``) in which the reviewer writes what it decided."""

    rules: YearRules
    stored: SqlYearReview

    @property
    def person_id(self) -> PersonId:
        return self.stored.person_id

    @property
    def entries(self) -> tuple[Entry, ...]:
        return self.stored.entries

    @property
    def connection(self) -> AsyncConnection:
        return self.stored.connection

    @property
    def last_seq(self) -> int:
        """The last entry of the year that the review saw; 0 for a year without entries."""
        return max((entry.seq for entry in self.entries), default=0)

    @property
    def evaluation(self) -> Evaluation:
        """The whole year against its rules."""
        return evaluate_credits(self.rules, counted_credits(self.entries))

    async def settle(self) -> None:
        """The year is decided as of the entries read: end its due mark up to them."""
        await self.stored.settle()


@dataclass(frozen=True, slots=True)
class YearStanding:
    """A person's year under review as its sums: what ``YearReview`` tells without the entries one
    by one, for a reviewer that needs only the evaluation and the last entry."""

    rules: YearRules
    stored: SqlYearStanding

    @property
    def person_id(self) -> PersonId:
        return self.stored.person_id

    @property
    def year(self) -> int:
        return self.stored.year

    @property
    def connection(self) -> AsyncConnection:
        return self.stored.connection

    @property
    def last_seq(self) -> int:
        """The last entry of the year that the review saw; 0 for a year without entries."""
        return self.stored.last_seq

    @property
    def evaluation(self) -> Evaluation:
        """The whole year against its rules."""
        return evaluate(self.rules, self.stored.earned, self.stored.courses)

    async def settle(self) -> None:
        """The year is decided as of the entries summed: end its due mark up to them."""
        await self.stored.settle()


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The result of walking the chain: intact, or the first sequence number that breaks it."""

    entries_checked: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.first_bad_seq is None


@dataclass
class _Plan:
    """The decisions for one batch, made against the state read under the lock."""

    seq: int
    prev_hash: str
    stored: dict[tuple[Source, str, EntryKind], Entry]
    pending: dict[RecordKey, PendingReversal]
    now: datetime
    entries: list[Entry] = field(default_factory=list)
    balance_deltas: dict[BalanceKey, int] = field(default_factory=lambda: defaultdict(int))
    new_pending: list[PendingReversal] = field(default_factory=list)
    applied: dict[RecordKey, SequenceNumber] = field(default_factory=dict)
    held: list[HeldRecord] = field(default_factory=list)

    def take(self, command: Command) -> Outcome:
        if isinstance(command, Credit):
            return self._take_credit(command)
        if isinstance(command, Reversal):
            return self._take_reversal(command)
        if isinstance(command, Replacement):
            return self._take_replacement(command)
        return self._take_hold(command)

    def _take_hold(self, hold: Hold) -> Outcome:
        record = HeldRecord(
            fingerprint=_fingerprint(hold.reason, hold.source, hold.record_id, hold.payload_hash),
            reason=hold.reason.value,
            source=hold.source,
            record_id=hold.record_id,
            kind=hold.kind,
            existing_seq=None,
            payload=hold.payload,
            detail=hold.detail,
            received_at=self.now,
        )
        self.held.append(record)
        return Outcome(OutcomeKind.HELD, held=record)

    def _take_credit(self, credit: Credit) -> Outcome:
        stored = self.stored.get((credit.source, credit.record_id, EntryKind.CREDIT))
        if stored is not None:
            if stored.content_hash == credit.content_hash:
                return Outcome(OutcomeKind.DUPLICATE, (stored,))
            return self._hold_conflict(credit, stored)
        entry = self._append_credit(credit)
        waiting = self.pending.pop((credit.source, credit.record_id), None)
        if waiting is None:
            return Outcome(OutcomeKind.APPENDED, (entry,))
        reversal = self._append_reversal(entry, waiting.reason, waiting.actor, waiting.payload_hash)
        self.applied[(credit.source, credit.record_id)] = reversal.seq
        return Outcome(OutcomeKind.APPENDED, (entry, reversal))

    def _take_reversal(self, reversal: Reversal) -> Outcome:
        key = (reversal.source, reversal.record_id)
        credit = self.stored.get((*key, EntryKind.CREDIT))
        done = self.stored.get((*key, EntryKind.REVERSAL))
        if credit is not None and done is not None and done.reverses_seq == credit.seq:
            return Outcome(OutcomeKind.DUPLICATE, (done,))
        if credit is not None:
            return Outcome(
                OutcomeKind.APPENDED,
                (self._append_reversal(credit, reversal.reason, reversal.actor, reversal.payload_hash),),
            )
        if key not in self.pending:
            waiting = PendingReversal(
                source=reversal.source,
                record_id=reversal.record_id,
                reason=reversal.reason,
                actor=reversal.actor,
                payload_hash=reversal.payload_hash,
                received_at=self.now,
            )
            self.pending[key] = waiting
            self.new_pending.append(waiting)
        return Outcome(OutcomeKind.PENDING)

    def _take_replacement(self, replacement: Replacement) -> Outcome:
        credit = replacement.credit
        current = self.stored.get((credit.source, credit.record_id, EntryKind.CREDIT))
        if current is not None and current.content_hash == credit.content_hash:
            return Outcome(OutcomeKind.DUPLICATE, (current,))
        if current is None or current.seq != replacement.replaces_seq:
            raise EntryNotCurrent(replacement.replaces_seq, None if current is None else current.seq)
        entries = []
        done = self.stored.get((credit.source, credit.record_id, EntryKind.REVERSAL))
        if done is None or done.reverses_seq != current.seq:
            entries.append(self._append_reversal(current, replacement.reason, credit.actor, credit.payload_hash))
        entries.append(
            self._append(
                kind=EntryKind.CREDIT,
                template=credit,
                content_hash=credit.content_hash,
                actor=credit.actor,
                payload_hash=credit.payload_hash,
                reverses_seq=current.seq,
                reason=replacement.reason,
            )
        )
        return Outcome(OutcomeKind.APPENDED, tuple(entries))

    def _append_credit(self, credit: Credit) -> Entry:
        return self._append(
            kind=EntryKind.CREDIT,
            template=credit,
            content_hash=credit.content_hash,
            actor=credit.actor,
            payload_hash=credit.payload_hash,
            reverses_seq=None,
            reason=None,
        )

    def _append_reversal(self, credit: Entry, reason: str, actor: str, payload_hash: str) -> Entry:
        return self._append(
            kind=EntryKind.REVERSAL,
            template=credit,
            content_hash=reversal_content_hash(credit.source, credit.record_id),
            actor=actor,
            payload_hash=payload_hash,
            reverses_seq=credit.seq,
            reason=reason,
        )

    def _append(
        self,
        *,
        kind: EntryKind,
        template: Credit | Entry,
        content_hash: str,
        actor: str,
        payload_hash: str,
        reverses_seq: SequenceNumber | None,
        reason: str | None,
    ) -> Entry:
        seq = SequenceNumber(self.seq + 1)
        entry = sealed(
            Entry(
                seq=seq,
                kind=kind,
                person_id=template.person_id,
                year=template.year,
                subject=template.subject,
                hours=template.hours,
                source=template.source,
                record_id=template.record_id,
                course_code=template.course_code,
                course_title=template.course_title,
                completed_at=template.completed_at,
                recorded_at=self.now,
                actor=actor,
                payload_hash=payload_hash,
                content_hash=content_hash,
                reverses_seq=reverses_seq,
                reason=reason,
                prev_hash=self.prev_hash,
                hash="",
            )
        )
        self.seq, self.prev_hash = seq, entry.hash
        self.entries.append(entry)
        self.stored[(entry.source, entry.record_id, kind)] = entry
        self.balance_deltas[(entry.person_id, entry.year, entry.subject)] += entry.signed_hours
        return entry

    def _hold_conflict(self, credit: Credit, stored: Entry) -> Outcome:
        record = HeldRecord(
            fingerprint=_fingerprint(HoldReason.CONFLICT, credit.source, credit.record_id, credit.content_hash),
            reason=HoldReason.CONFLICT.value,
            source=credit.source,
            record_id=credit.record_id,
            kind=EntryKind.CREDIT,
            existing_seq=stored.seq,
            payload=canonical_json(credit_document(credit)).decode(),
            detail=f"differs from entry {stored.seq}",
            received_at=self.now,
        )
        self.held.append(record)
        return Outcome(OutcomeKind.HELD, held=record)


def _admit_all(_plan: _Plan) -> None:
    """Deliveries from sources: a record that conflicts is held for an operator with the rest."""


def _refuse_conflicts(plan: _Plan) -> None:
    """An upload goes in whole or not at all: a record that conflicts refuses it."""
    stored = [
        plan.stored[(held.source, held.record_id, EntryKind.CREDIT)]
        for held in plan.held
        if held.reason == HoldReason.CONFLICT.value
    ]
    if stored:
        raise RecordsDiffer(stored)


def _fingerprint(reason: HoldReason, source: Source, record_id: str, content: str) -> str:
    """What makes holding the same version of a record again a no-op."""
    return sha256_hex(
        canonical_json({"reason": reason.value, "source": source.value, "record_id": record_id, "content": content})
    )


def credit_document(credit: Credit) -> dict[str, object]:
    """A credit as plain data, for a held record."""
    return {
        "person_id": credit.person_id,
        "source": credit.source.value,
        "record_id": credit.record_id,
        "course_code": credit.course_code,
        "course_title": credit.course_title,
        "subject": credit.subject.value,
        "hours": format_hours(credit.hours),
        "completed_at": utc_text(credit.completed_at),
        "actor": credit.actor,
        "payload_hash": credit.payload_hash,
    }


def held_credit(record: HeldRecord) -> Credit:
    """The credit of a conflicting version the ledger held (``credit_document``'s inverse).

    Raises ``InvalidCommand`` for a held record that is not such a version.
    """
    document = json.loads(record.payload) if record.reason == HoldReason.CONFLICT.value else None
    if not isinstance(document, dict):
        raise InvalidCommand([FieldError("held", "is not a conflicting version of a credit")])
    return new_credit(
        person_id=str(document.get("person_id")),
        source=str(document.get("source")),
        record_id=str(document.get("record_id")),
        course_code=str(document.get("course_code")),
        course_title=str(document.get("course_title")),
        subject=str(document.get("subject")),
        hours=str(document.get("hours")),
        completed_at=datetime.fromisoformat(str(document.get("completed_at"))),
        actor=str(document.get("actor")),
        payload_hash=str(document.get("payload_hash")),
    )


@dataclass(frozen=True, slots=True)
class _Verdict:
    """A decision to record about a held record, in the transaction that acts on it."""

    held_id: HeldId
    decision: Decision
    actor: str
    reason: str | None


def utc_now() -> datetime:
    return datetime.now(UTC)


class Ledger:
    """The authoritative record of hours."""

    def __init__(
        self,
        store: SqlLedgerStore,
        rules: Mapping[int, YearRules],
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._rules = dict(rules)
        self._clock = clock
        self._appended = asyncio.Event()

    @asynccontextmanager
    async def holding_connection(self) -> AsyncIterator[Ledger]:
        """This ledger writing on one connection kept between its writes (see
        ``SqlLedgerStore.holding_connection``), for one writer at a time: the group committer."""
        async with self._store.holding_connection() as store:
            held = copy.copy(self)
            held._store = store
            yield held

    def rules_for(self, year: int) -> YearRules:
        """The rules of a training year; raises ``NoRulesForYear``."""
        try:
            return self._rules[year]
        except KeyError:
            raise NoRulesForYear(year) from None

    async def record(self, command: Command) -> Outcome:
        """Record one command; see ``record_batch``."""
        (outcome,) = await self.record_batch([command])
        return outcome

    async def receive(self, deliveries: list[Delivery], position: SourcePosition | None = None) -> list[Outcome]:
        """Record what sources delivered, in one transaction, with a receipt of each delivery
        and of what the ledger made of it; with ``position``, move the source's read position in
        the same transaction. Raises as ``record_batch`` does."""
        commands = [delivery.command for delivery in deliveries]
        self._check_batch(commands)
        outcomes, _decision = await self._write(commands, deliveries, position)
        return outcomes

    async def position(self, source: Source) -> str | None:
        """Where the next read of a pulled source starts, or ``None`` before the first."""
        return await self._store.position(source)

    def check(self, command: Command) -> None:
        """Refuse a command that could never be recorded; raises ``InvalidCommand`` or ``NoRulesForYear``."""
        self._check_against_rules(command, None)

    async def record_batch(self, commands: list[Command]) -> list[Outcome]:
        """Record commands in one transaction, all or none, with an outcome for each.

        Raises ``InvalidCommand`` or ``NoRulesForYear`` before writing anything, and
        ``LedgerUnavailable`` when the store keeps failing.
        """
        self._check_batch(commands)
        outcomes, _decision = await self._write(commands, (), None)
        return outcomes

    async def release(
        self, held_id: HeldId, command: Credit | Reversal | Replacement, *, actor: str, reason: str | None
    ) -> tuple[Outcome, HoldDecision]:
        """Take a held record into the ledger as ``command`` (its translation now), and record the
        decision with the entries it led to, in one transaction.

        Raises ``HoldNotFound``, ``HoldAlreadyDecided``, ``InvalidCommand`` (a command of another
        record), ``NoRulesForYear``, ``EntryNotCurrent`` and ``LedgerUnavailable``; nothing is
        written then.
        """
        self._check_batch([command])
        verdict = _Verdict(held_id, Decision.RELEASED, actor, reason)
        (outcome,), decision = await self._write([command], (), None, verdict)
        if decision is None:  # a bug: a write with a verdict records it
            raise RuntimeError("the release was written without its decision")
        return outcome, decision

    async def reject(self, held_id: HeldId, *, actor: str, reason: str) -> HoldDecision:
        """Dismiss a held record with a reason; the ledger's entries are unchanged.

        Raises ``HoldNotFound``, ``HoldAlreadyDecided`` and ``LedgerUnavailable``.
        """
        _outcomes, decision = await self._write([], (), None, _Verdict(held_id, Decision.REJECTED, actor, reason))
        if decision is None:  # a bug: a write with a verdict records it
            raise RuntimeError("the rejection was written without its decision")
        return decision

    async def held(self, held_id: HeldId) -> Quarantined:
        """One held record with its decision, if any. Raises ``HoldNotFound``."""
        found = await self._store.held(held_id)
        if found is None:
            raise HoldNotFound(held_id)
        return found

    async def held_page(self, query: HeldQuery) -> list[Quarantined]:
        """Held records in the query's status, oldest first, at most ``query.limit``."""
        return await self._store.held_page(query)

    async def entry(self, seq: SequenceNumber) -> Entry | None:
        return await self._store.entry(seq)

    async def record_whole(self, credits: list[Credit]) -> list[Outcome]:
        """Record the credits of a file a person uploaded, in one transaction, all or none.

        Each outcome is ``APPENDED`` or ``DUPLICATE`` (the same record with the same content is
        already counted). A credit that differs from the stored credit of its record refuses the
        whole batch with ``RecordsDiffer``, which names the stored entries: an upload never leaves a
        record held for an operator. Raises as ``record_batch`` does otherwise.
        """
        commands: list[Command] = list(credits)
        self._check_batch(commands)
        outcomes, _decision = await self._write(commands, (), None, admit=_refuse_conflicts)
        return outcomes

    def _check_batch(self, commands: list[Command]) -> None:
        if len(commands) > COMMANDS_PER_BATCH_MAX:
            raise InvalidCommand([FieldError("commands", f"at most {COMMANDS_PER_BATCH_MAX} in one batch")])
        for index, command in enumerate(commands):
            self._check_against_rules(command, index if len(commands) > 1 else None)

    def _check_against_rules(self, command: Command, index: int | None) -> None:
        if isinstance(command, Replacement):
            command = command.credit
        if not isinstance(command, Credit):
            return
        rules = self.rules_for(command.year)
        limit = rules.record_hours_max(command.source)
        if command.hours > limit:
            prefix = "" if index is None else f"commands[{index}]."
            raise InvalidCommand(
                [FieldError(f"{prefix}hours", f"must be at most {format_hours(limit)} for a {command.source} record")]
            )

    async def _write(
        self,
        commands: list[Command],
        deliveries: Sequence[Delivery],
        position: SourcePosition | None,
        verdict: _Verdict | None = None,
        admit: Callable[[_Plan], None] = _admit_all,
    ) -> tuple[list[Outcome], HoldDecision | None]:
        for attempt in range(WRITE_ATTEMPTS_MAX):
            try:
                async with self._store.writing() as writer:
                    if verdict is not None:
                        await _check_undecided(writer, verdict.held_id, commands)
                    state = await writer.state_for({(command.source, command.record_id) for command in commands})
                    plan = _Plan(
                        seq=state.seq,
                        prev_hash=state.prev_hash,
                        stored=state.stored,
                        pending=state.pending,
                        now=self._clock(),
                    )
                    outcomes = [plan.take(command) for command in commands]
                    admit(plan)  # raising here rolls the transaction back: nothing of the batch is written
                    receipts = list(zip(deliveries, outcomes, strict=False))
                    await writer.append(plan.entries, plan.balance_deltas, receipts, plan.now)
                    await writer.keep_pending(plan.new_pending)
                    await writer.mark_applied(plan.applied)
                    await writer.hold(plan.held)
                    if position is not None:
                        await writer.move_position(position, plan.now)
                    decision = None if verdict is None else _decision(verdict, outcomes, plan.now)
                    if decision is not None:
                        await writer.decide(decision)
            except WriteConflict:
                jitter = random.uniform(0.5, 1.5)  # noqa: S311  (spreads retries; nothing secret)
                await asyncio.sleep(RETRY_DELAY_SECONDS_BASE * 2**attempt * jitter)
            else:
                if plan.entries:
                    self._appended.set()
                return outcomes, decision
        raise LedgerUnavailable(f"the write kept conflicting after {WRITE_ATTEMPTS_MAX} attempts")

    async def balance(self, person_id: str, year: int) -> Balance:
        return await self._store.balance(person_id, year)

    async def entries_of(self, person_id: str, year: int) -> list[Entry]:
        return await self._store.entries_of(person_id, year)

    async def evaluate(self, person_id: str, year: int) -> Evaluation:
        """Whether the person's year meets its rules; raises ``NoRulesForYear``."""
        rules = self.rules_for(year)
        entries = await self._store.entries_of(person_id, year)
        reversed_seqs = {entry.reverses_seq for entry in entries if entry.kind is EntryKind.REVERSAL}
        completed = frozenset(
            course_key(entry.source, entry.course_code)
            for entry in entries
            if entry.kind is EntryKind.CREDIT and entry.seq not in reversed_seqs
        )
        return evaluate(rules, await self._store.balance(person_id, year), completed)

    async def evaluate_people(self, person_ids: Sequence[str], year: int) -> dict[PersonId, Evaluation]:
        """``evaluate`` for each of these people, in a few reads for all of them; raises ``NoRulesForYear``."""
        rules = self.rules_for(year)
        balances = await self._store.balances_of(person_ids, year)
        mandatory_codes = {key.partition(":")[2] for courses in rules.mandatory.values() for key in courses}
        counted = await self._store.courses_counted_of(person_ids, year, mandatory_codes) if mandatory_codes else {}
        return {
            PersonId(person_id): evaluate(
                rules, balances.get(PersonId(person_id), Balance()), counted.get(PersonId(person_id), frozenset())
            )
            for person_id in person_ids
        }

    async def online_hours_of(self, person_ids: Sequence[str], year: int) -> dict[PersonId, dict[Source, int]]:
        """For each of these people with online hours in the year, the hours counted from each vendor."""
        return await self._store.hours_by_source(person_ids, year, ONLINE_SOURCES)

    async def verify_chain(self) -> ChainReport:
        """Walk every entry in order, recomputing each hash and link."""
        checked, prev_seq, prev_hash = 0, 0, GENESIS_HASH
        while entries := await self._store.entries_after(prev_seq, VERIFY_ENTRIES_PER_READ):
            for entry in entries:
                problem = _chain_problem(entry, prev_seq, prev_hash)
                if problem is not None:
                    return ChainReport(checked, prev_seq, prev_hash, first_bad_seq=entry.seq, problem=problem)
                checked, prev_seq, prev_hash = checked + 1, entry.seq, entry.hash
        return ChainReport(checked, prev_seq, prev_hash)

    async def head_seq(self) -> int:
        """The sequence number of the last entry; 0 while the ledger is empty."""
        seq, _hash = await self._store.head()
        return seq

    async def verified_entries(self, through_seq: int) -> AsyncIterator[list[Entry]]:
        """Every entry up to ``through_seq``, in order and in pages, each checked against the chain as it is read.

        Raises ``LedgerCorrupted`` at the first entry that breaks the chain.
        """
        prev_seq, prev_hash = 0, GENESIS_HASH
        while prev_seq < through_seq:
            entries = await self._store.entries_after(prev_seq, VERIFY_ENTRIES_PER_READ)
            page = [entry for entry in entries if entry.seq <= through_seq]
            if not page:
                return
            for entry in page:
                problem = _chain_problem(entry, prev_seq, prev_hash)
                if problem is not None:
                    raise LedgerCorrupted(f"ledger broken at sequence number {entry.seq}: {problem}")
                prev_seq, prev_hash = entry.seq, entry.hash
            yield page

    async def balance_mismatches(self) -> list[BalanceMismatch]:
        return await self._store.balance_mismatches()

    async def due_evaluations(self, limit: int = DUE_EVALUATIONS_PER_READ) -> list[DueEvaluation]:
        """Up to ``limit`` person-years whose entries changed since their last review, the oldest first."""
        return await self._store.due_evaluations(min(limit, DUE_EVALUATIONS_PER_READ))

    async def forget_due(self, due: DueEvaluation) -> None:
        """End a year's due mark without reviewing it, for a year there is nothing to decide about."""
        await self._store.forget_due(due)

    @asynccontextmanager
    async def reviewing(self, person_id: PersonId, year: int) -> AsyncIterator[YearReview]:
        """Review a person's year: its entries and evaluation, read in a transaction that the caller
        writes its decision in, while no other review of the year runs. ``settle()`` in the block ends
        the year's due mark up to what was read. Raises ``NoRulesForYear`` before opening anything.

        On SQLite the review holds the database's write lock: the block must not use another
        connection (it would wait for the lock the review holds); read what the decision needs first.
        """
        rules = self.rules_for(year)
        async with self._store.reviewing(person_id, year) as review:
            yield YearReview(rules=rules, stored=review)

    @asynccontextmanager
    async def reviewing_standing(self, person_id: PersonId, year: int) -> AsyncIterator[YearStanding]:
        """``reviewing`` with the year's sums instead of its entries: the same lock, transaction and
        evaluation, at the cost of a few rows however many entries the year has."""
        async with self.reviewing_standings([(person_id, year)]) as (standing,):
            yield standing

    @asynccontextmanager
    async def reviewing_standings(
        self, years: Sequence[tuple[PersonId, int]]
    ) -> AsyncIterator[tuple[YearStanding, ...]]:
        """``reviewing_standing`` of several different years in one transaction, which holds the review
        lock of each, in the order of ``years``. ``settle_standings`` settles several in one write.
        Raises ``NoRulesForYear`` before opening anything."""
        rules = {year: self.rules_for(year) for _person_id, year in years}
        async with self._store.standings(years) as stored:
            yield tuple(YearStanding(rules=rules[standing.year], stored=standing) for standing in stored)

    async def settle_standings(self, standings: Sequence[YearStanding]) -> None:
        """``settle`` each of these years, read in one ``reviewing_standings``, in one write."""
        if standings:
            await settle_standings(standings[0].connection, [standing.stored for standing in standings])

    async def wait_for_appends(self, timeout_seconds: float) -> None:
        """Return when this process appended entries since the last return, or after ``timeout_seconds``.

        What was appended is already committed when this returns, so a reader finds it.
        """
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_seconds):
                await self._appended.wait()
        self._appended.clear()

    async def held_records(self) -> list[HeldRecord]:
        """Every held record still waiting for a decision, oldest first."""
        return await self._store.held_records()


async def _check_undecided(writer: SqlLedgerWriter, held_id: HeldId, commands: list[Command]) -> None:
    """Under the chain's lock: the held record exists, is undecided, and is the record of ``commands``."""
    found = await writer.held(held_id)
    if found is None:
        raise HoldNotFound(held_id)
    if found.decision is not None:
        raise HoldAlreadyDecided(held_id, found.decision.decision.value)
    held = found.record
    if any((command.source, command.record_id) != (held.source, held.record_id) for command in commands):
        raise InvalidCommand([FieldError("record_id", f"is not the record of held record {held_id}")])


def _decision(verdict: _Verdict, outcomes: list[Outcome], now: datetime) -> HoldDecision:
    return HoldDecision(
        held_id=verdict.held_id,
        decision=verdict.decision,
        actor=verdict.actor,
        reason=verdict.reason,
        decided_at=now,
        entry_seqs=tuple(entry.seq for outcome in outcomes for entry in outcome.entries),
    )


def _chain_problem(entry: Entry, prev_seq: int, prev_hash: str) -> str | None:
    if entry.seq != prev_seq + 1:
        return f"sequence jumps from {prev_seq} to {entry.seq}"
    if entry.prev_hash != prev_hash:
        return "does not link to the entry before it"
    if chain_hash(entry.chain_document()) != entry.hash:
        return "its content does not match its hash"
    return None
