"""The staff messages table: one row per message, ``read_at`` set once the person has read it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from sso.messages.model import BODY_CHARACTERS_MAX, LINK_CHARACTERS_MAX, TITLE_CHARACTERS_MAX


class StaffMessageRow(SQLModel, table=True):
    __tablename__ = "staff_message"
    __table_args__ = (Index("ix_staff_message_person_id_id", "person_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: str = Field(max_length=64)
    kind: str = Field(max_length=32)
    title: str = Field(max_length=TITLE_CHARACTERS_MAX)
    body: str = Field(max_length=BODY_CHARACTERS_MAX)
    link: str | None = Field(default=None, max_length=LINK_CHARACTERS_MAX)
    created_at: datetime
    read_at: datetime | None = None
