"""Every export begun, and its signed manifest once its file is complete."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Text
from sqlmodel import Field, SQLModel


class LedgerExportRow(SQLModel, table=True):
    """One export: what it covers, who asked, and, once its last byte is out, its manifest."""

    __tablename__ = "ledger_export"

    id: str = Field(primary_key=True, max_length=32)
    format: str = Field(max_length=8)
    year: int
    unit_code: str | None = Field(default=None, max_length=64)
    through_seq: int = Field(sa_type=BigInteger)
    actor: str = Field(max_length=200)
    started_at: datetime
    finished_at: datetime | None = None
    manifest: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
