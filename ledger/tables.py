"""The ledger's tables. Entries are only ever inserted; the database refuses updates and deletes.

Balances are kept beside the entries, in the same transaction; held records and pending
reversals wait for an operator or for the record they depend on.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class LedgerEntryRow(SQLModel, table=True):
    __tablename__ = "ledger_entry"
    __table_args__ = (
        # record_id leads: lookups by record stay index scans even when statistics are stale.
        UniqueConstraint("record_id", "source", "kind", "revision", name="uq_ledger_entry_record_kind_revision"),
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
    revision: int = Field(default=1, sa_column_kwargs={"server_default": "1"})


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
    status: str = Field(default="held", max_length=16, index=True)


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
    received_at: datetime
    recorded_at: datetime


class SourcePositionRow(SQLModel, table=True):
    """How far the ledger has read a pulled source, written with the entries it read."""

    __tablename__ = "ledger_source_position"

    source: str = Field(primary_key=True, max_length=16)
    position: str = Field(max_length=1000)
    updated_at: datetime
