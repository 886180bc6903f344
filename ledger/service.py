"""The ledger's use cases: record credits and reversals exactly once, hold what is doubtful,
read balances, evaluate a year against its rules, and verify the chain.

Every write is one transaction under the chain's lock: the check and the write cannot drift apart.
"""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ledger.errors import (
    FieldError,
    InvalidCommand,
    LedgerCorrupted,
    LedgerUnavailable,
    NoRulesForYear,
    WriteConflict,
)
from ledger.model import (
    GENESIS_HASH,
    Balance,
    BalanceKey,
    Command,
    Credit,
    Delivery,
    Entry,
    EntryKind,
    Evaluation,
    HeldRecord,
    Hold,
    HoldReason,
    Outcome,
    OutcomeKind,
    PendingReversal,
    RecordKey,
    Replacement,
    Reversal,
    SequenceNumber,
    Source,
    SourcePosition,
    YearRules,
    canonical_json,
    chain_hash,
    course_key,
    evaluate,
    format_hours,
    reversal_content_hash,
    sealed,
    sha256_hex,
    utc_text,
)
from ledger.store import BalanceMismatch, SqlLedgerStore

WRITE_ATTEMPTS_MAX = 8
RETRY_DELAY_SECONDS_BASE = 0.01
COMMANDS_PER_BATCH_MAX = 1000
VERIFY_ENTRIES_PER_READ = 1000


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

    def take(self, command: Command | Replacement) -> Outcome:
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
        if credit is not None:
            done = self._reversal_of(credit)
            if done is not None:
                return Outcome(OutcomeKind.DUPLICATE, (done,))
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
        stored = self.stored.get((credit.source, credit.record_id, EntryKind.CREDIT))
        if stored is None:
            return self._take_credit(credit)
        counted = self._reversal_of(stored) is None
        if counted and stored.content_hash == credit.content_hash:
            return Outcome(OutcomeKind.DUPLICATE, (stored,))
        entries = []
        if counted:
            entries.append(self._append_reversal(stored, replacement.reason, credit.actor, credit.payload_hash))
        entries.append(self._append_credit(credit, revision=stored.revision + 1))
        return Outcome(OutcomeKind.APPENDED, tuple(entries))

    def _reversal_of(self, credit: Entry) -> Entry | None:
        """The reversal of this credit's revision, if the ledger holds one."""
        reversal = self.stored.get((credit.source, credit.record_id, EntryKind.REVERSAL))
        return reversal if reversal is not None and reversal.revision == credit.revision else None

    def _append_credit(self, credit: Credit, revision: int = 1) -> Entry:
        return self._append(
            kind=EntryKind.CREDIT,
            template=credit,
            content_hash=credit.content_hash,
            actor=credit.actor,
            payload_hash=credit.payload_hash,
            reverses_seq=None,
            reason=None,
            revision=revision,
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
            revision=credit.revision,
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
        revision: int,
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
                revision=revision,
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
        return await self._write(commands, deliveries, position)

    async def replace(self, replacement: Replacement) -> Outcome:
        """Count a record's new version in place of the counted one (see ``Replacement``), in one
        transaction. Raises as ``record_batch`` does."""
        self._check_against_rules(replacement.credit, None)
        (outcome,) = await self._write([replacement], (), None)
        return outcome

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
        return await self._write(commands, (), None)

    def _check_batch(self, commands: list[Command]) -> None:
        if len(commands) > COMMANDS_PER_BATCH_MAX:
            raise InvalidCommand([FieldError("commands", f"at most {COMMANDS_PER_BATCH_MAX} in one batch")])
        for index, command in enumerate(commands):
            self._check_against_rules(command, index if len(commands) > 1 else None)

    def _check_against_rules(self, command: Command, index: int | None) -> None:
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
        commands: Sequence[Command | Replacement],
        deliveries: Sequence[Delivery],
        position: SourcePosition | None,
    ) -> list[Outcome]:
        for attempt in range(WRITE_ATTEMPTS_MAX):
            try:
                async with self._store.writing() as writer:
                    records = {(command.source, command.record_id) for command in commands}
                    seq, prev_hash = await writer.head()
                    plan = _Plan(
                        seq=seq,
                        prev_hash=prev_hash,
                        stored=await writer.entries_for(records),
                        pending=await writer.pending_for(records),
                        now=self._clock(),
                    )
                    outcomes = [plan.take(command) for command in commands]
                    await writer.insert_entries(plan.entries)
                    await writer.add_to_balances(plan.balance_deltas)
                    await writer.keep_pending(plan.new_pending)
                    await writer.mark_applied(plan.applied)
                    await writer.hold(plan.held)
                    await writer.keep_receipts(list(zip(deliveries, outcomes, strict=False)))
                    if position is not None:
                        await writer.move_position(position, plan.now)
            except WriteConflict:
                jitter = random.uniform(0.5, 1.5)  # noqa: S311  (spreads retries; nothing secret)
                await asyncio.sleep(RETRY_DELAY_SECONDS_BASE * 2**attempt * jitter)
            else:
                return outcomes
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

    async def held_records(self) -> list[HeldRecord]:
        return await self._store.held_records()


def _chain_problem(entry: Entry, prev_seq: int, prev_hash: str) -> str | None:
    if entry.seq != prev_seq + 1:
        return f"sequence jumps from {prev_seq} to {entry.seq}"
    if entry.prev_hash != prev_hash:
        return "does not link to the entry before it"
    if chain_hash(entry.chain_document()) != entry.hash:
        return "its content does not match its hash"
    return None
