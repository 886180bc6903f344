"""The gateway's table: the runs of scheduled jobs and of pulls started by hand.

A run is written when it ends, succeeded or failed (a run cut off by a crash leaves no row). The
scheduler reads the successful ones to run a job once a period across processes, and the health
view a vendor's last successful pull.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel


class JobRunRow(SQLModel, table=True):
    __tablename__ = "job_run"
    __table_args__ = (
        Index("ix_job_run_job_started", "job", "started_at"),
        Index("ix_job_run_vendor_outcome", "vendor", "outcome"),
    )

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=64)
    vendor: str | None = Field(default=None, max_length=16)
    """The vendor a pull reads from; ``None`` for a job of the hub itself."""
    started_by: str = Field(max_length=64)
    """``scheduler`` or ``command_line``, with the host and process that ran it."""
    started_at: datetime
    finished_at: datetime
    outcome: str = Field(max_length=16)
    """``succeeded`` or ``failed``."""
    detail: str | None = Field(default=None, max_length=500)
    """What a run did (its counts) or the kind of error that stopped it; never a secret or personal data."""
