"""The outbox of staff messages: what supervision sent to staff, kept until a staff messages store takes it.

Staff messages (``GET /api/v1/me/messages``) are built apart from supervision. Until the hub has that
store, supervision keeps each message it sends here, whole, so that none is lost: the store's
``StaffMessages`` implementation takes over from this one, and what this table holds moves into it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel


class OutboxMessageRow(SQLModel, table=True):
    __tablename__ = "supervision_outbox"
    __table_args__ = (Index("ix_supervision_outbox_person_id_id", "person_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: str = Field(max_length=64)
    kind: str = Field(max_length=32)
    title: str = Field(max_length=100)
    body: str = Field(max_length=1000)
    link: str | None = Field(default=None, max_length=300)
    created_at: datetime
