"""The notices table: what supervisors told the staff of a unit, and how many people it reached."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel


class NoticeRow(SQLModel, table=True):
    __tablename__ = "supervision_notice"
    __table_args__ = (
        Index("ix_supervision_notice_scope_code_id", "scope_code", "id"),
        Index("ix_supervision_notice_sent_by_sent_at", "sent_by_token_id", "sent_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    scope_code: str = Field(max_length=40)
    unit_code: str = Field(max_length=40)
    title: str = Field(max_length=100)
    body: str = Field(sa_column=Column(Text, nullable=False))
    sent_at: datetime
    sent_by_token_id: int
    recipients: int
