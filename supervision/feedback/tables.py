"""The feedback table: what staff sent about an institution, and its one answer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel


class FeedbackRow(SQLModel, table=True):
    __tablename__ = "supervision_feedback"
    __table_args__ = (
        Index("ix_supervision_feedback_person_id", "person_id", "id"),
        Index("ix_supervision_feedback_institution_id", "institution", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    person_id: str = Field(max_length=64)
    institution: str = Field(max_length=40)
    subject: str = Field(max_length=100)
    text: str = Field(sa_column=Column(Text, nullable=False))
    submitted_at: datetime
    answer: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    answered_at: datetime | None = None
    answered_by_token_id: int | None = None
