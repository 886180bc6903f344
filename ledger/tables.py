"""The ledger's tables. Entries are only ever inserted; the database refuses updates and deletes.

Balances are kept beside the entries, in the same transaction; held records and pending
reversals wait for an operator or for the record they depend on.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, Text, text
from sqlmodel import Field, SQLModel

_FIRST = text("reverses_seq IS NULL")
_LINKED = text("reverses_seq IS NOT NULL")


class LedgerEntryRow(SQLModel, table=True):
    """The idempotency keys: a record has one first credit (``reverses_seq`` null); every entry is
    reversed at most once and replaced at most once (a credit's ``reverses_seq`` names the credit it
    replaces). So a record's credits form one line, each replacing the one before."""

    __tablename__ = "ledger_entry"
    __table_args__ = (
        # record_id leads: lookups by record stay index scans even when statistics are stale.
        Index("ix_ledger_entry_record_kind", "record_id", "source", "kind"),
        Index(
            "uq_ledger_entry_first_credit",
            "record_id",
            "source",
            "kind",
            unique=True,
            sqlite_where=_FIRST,
            postgresql_where=_FIRST,
        ),
        Index(
            "uq_ledger_entry_reverses",
            "reverses_seq",
            "kind",
            unique=True,
            sqlite_where=_LINKED,
            postgresql_where=_LINKED,
        ),
        Index("ix_ledger_entry_person_year", "person_id", "year"),
    )

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    kind: str = Field(max_length=16)
    person_id: str = Field(max_length=64)
    year: int
    subject: str = Field(max_length=16)
    hours: int
    source: str = Field(max_length=16)
    record_id: str = Field(max_length=200)
    course_code: str = Field(max_length=200)
    course_title: str = Field(max_length=200)
    completed_at: datetime
    recorded_at: datetime
    actor: str = Field(max_length=200)
    payload_hash: str = Field(max_length=64)
    content_hash: str = Field(max_length=64)
    reverses_seq: int | None = Field(default=None, sa_type=BigInteger)
    reason: str | None = Field(default=None, max_length=500)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class LedgerBalanceRow(SQLModel, table=True):
    __tablename__ = "ledger_balance"

    person_id: str = Field(primary_key=True, max_length=64)
    year: int = Field(primary_key=True)
    subject: str = Field(primary_key=True, max_length=16)
    hours: int


class PendingReversalRow(SQLModel, table=True):
    """A reversal that arrived before its credit; applied in the transaction that appends the credit."""

    __tablename__ = "ledger_pending_reversal"

    record_id: str = Field(primary_key=True, max_length=200)
    source: str = Field(primary_key=True, max_length=16)
    reason: str = Field(max_length=500)
    actor: str = Field(max_length=200)
    payload_hash: str = Field(max_length=64)
    received_at: datetime
    applied_seq: int | None = Field(default=None, sa_type=BigInteger)


class HeldRecordRow(SQLModel, table=True):
    """A record kept for an operator: a conflicting version, an unknown person, a malformed record."""

    __tablename__ = "ledger_held_record"

    id: int | None = Field(default=None, primary_key=True)
    fingerprint: str = Field(max_length=64, unique=True)
    reason: str = Field(max_length=32, index=True)
    source: str = Field(max_length=16)
    record_id: str = Field(max_length=200)
    kind: str = Field(max_length=16)
    existing_seq: int | None = Field(default=None, sa_type=BigInteger)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    detail: str = Field(max_length=500)
    received_at: datetime


class HoldDecisionRow(SQLModel, table=True):
    """An operator's decision about a held record, which itself stays as it was held: released
    (with the entries it led to) or rejected (with the reason). One per held record."""

    __tablename__ = "ledger_hold_decision"

    held_id: int = Field(
        sa_column=Column(Integer, ForeignKey("ledger_held_record.id"), primary_key=True, autoincrement=False)
    )
    decision: str = Field(max_length=16)
    actor: str = Field(max_length=200)
    reason: str | None = Field(default=None, max_length=500)
    decided_at: datetime
    entry_seqs: str = Field(max_length=200)
    """The sequence numbers of the entries written (or found) by a release, comma-separated."""


class ReceiptRow(SQLModel, table=True):
    """What a source delivered and what the ledger made of it: the operators' view of ingestion."""

    __tablename__ = "ledger_receipt"
    __table_args__ = (Index("ix_ledger_receipt_source_received", "source", "received_at"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=16)
    delivery_id: str = Field(max_length=200)
    record_id: str = Field(max_length=200)
    kind: str = Field(max_length=16)
    outcome: str = Field(max_length=16)
    entry_seq: int | None = Field(default=None, sa_type=BigInteger)
    held_reason: str | None = Field(default=None, max_length=32)
    held_fingerprint: str | None = Field(default=None, max_length=64)
    """The held record this delivery was held as, whose decision it then shares."""
    received_at: datetime
    recorded_at: datetime


class SourcePositionRow(SQLModel, table=True):
    """How far the ledger has read a pulled source, written with the entries it read."""

    __tablename__ = "ledger_source_position"

    source: str = Field(primary_key=True, max_length=16)
    position: str = Field(max_length=1000)
    updated_at: datetime


class EvaluationDueRow(SQLModel, table=True):
    """A person's year whose entries changed since it was last reviewed, written in the transaction
    that appends them; ``seq`` is the last entry appended to the year. A review removes the row only
    up to the entry it saw, so a change made during the review is reviewed again."""

    __tablename__ = "ledger_evaluation_due"

    person_id: str = Field(primary_key=True, max_length=64)
    year: int = Field(primary_key=True)
    seq: int = Field(sa_type=BigInteger)
    due_since: datetime = Field(index=True)
