"""Reconciliation's tables: the runs, the discrepancies they found, and each run's vendor record ids.

Unlike the ledger's entries these rows change: a run is finished, a discrepancy is kept up to date
by later runs and resolved once. A resolution's effect on the ledger is ledger entries, appended.
``reconciliation_staged_record`` holds the record ids a run has read from the vendor, so that the
ledger's side can be walked for the records the vendor did not list; a run deletes its own when it
ends, and a run that died leaves them to the next run of its vendor, which deletes them.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Column, Index, Text, text
from sqlmodel import Field, SQLModel


class ReconciliationRunRow(SQLModel, table=True):
    __tablename__ = "reconciliation_run"
    __table_args__ = (Index("ix_reconciliation_run_vendor_status", "vendor", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    vendor: str = Field(max_length=16)
    status: str = Field(max_length=16)
    year: int | None = None
    first_day: date
    last_day: date
    started_by: str = Field(max_length=64)
    started_at: datetime
    finished_at: datetime | None = None
    compared: int = Field(default=0, sa_type=BigInteger)
    missing_in_ledger: int = Field(default=0, sa_type=BigInteger)
    missing_at_vendor: int = Field(default=0, sa_type=BigInteger)
    different: int = Field(default=0, sa_type=BigInteger)
    unknown_person: int = Field(default=0, sa_type=BigInteger)
    unreadable: int = Field(default=0, sa_type=BigInteger)
    failure: str | None = Field(default=None, max_length=500)


class DiscrepancyRow(SQLModel, table=True):
    __tablename__ = "reconciliation_discrepancy"
    __table_args__ = (
        Index("ix_reconciliation_discrepancy_vendor_record", "vendor", "record_id"),
        Index("ix_reconciliation_discrepancy_status_id", "status", "id"),
        # At most one open discrepancy per record of a vendor: a run keeps it, never doubles it.
        Index(
            "uq_reconciliation_discrepancy_open_record",
            "vendor",
            "record_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    vendor: str = Field(max_length=16)
    record_id: str = Field(max_length=200)
    kind: str = Field(max_length=32)
    status: str = Field(max_length=16)
    person_id: str | None = Field(default=None, max_length=64)
    differences: str = Field(max_length=200)
    vendor_state: str | None = Field(default=None, max_length=16)
    vendor_record: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    vendor_credit: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    vendor_fingerprint: str | None = Field(default=None, max_length=64)
    ledger_record: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    completed_at: datetime
    opened_at: datetime
    opened_by_run: int
    last_run_id: int
    resolution_action: str | None = Field(default=None, max_length=16)
    resolution_reason: str | None = Field(default=None, max_length=500)
    resolved_by: str | None = Field(default=None, max_length=64)
    resolved_at: datetime | None = None
    resolution_entries: str | None = Field(default=None, max_length=200)


class StagedRecordRow(SQLModel, table=True):
    __tablename__ = "reconciliation_staged_record"

    # record_id leads the key: a lookup of a batch's ids is one walk of the index, whatever plan.
    record_id: str = Field(primary_key=True, max_length=200)
    run_id: int = Field(primary_key=True)
