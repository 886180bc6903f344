"""Access's tables: API tokens (only their hashes), password-reset links (only their hashes), and the
audit log, which is only ever inserted into: the database refuses updates and deletes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel


class ApiTokenRow(SQLModel, table=True):
    __tablename__ = "access_token"

    id: int | None = Field(default=None, primary_key=True)
    digest: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=16)
    scope_kind: str | None = Field(default=None, max_length=16)
    scope_code: str | None = Field(default=None, max_length=40)
    name: str = Field(max_length=100)
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None


class ResetLinkRow(SQLModel, table=True):
    """A one-time password-reset link; ``used_at`` is set once, by the use that consumes it."""

    __tablename__ = "access_reset_link"

    id: int | None = Field(default=None, primary_key=True)
    digest: str = Field(max_length=64, unique=True)
    person_id: str = Field(max_length=64, index=True)
    issued_by_token_id: int | None = None
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


class AuditEntryRow(SQLModel, table=True):
    __tablename__ = "access_audit_entry"
    __table_args__ = (
        Index("ix_access_audit_entry_action_id", "action", "id"),
        Index("ix_access_audit_entry_actor_id", "actor_token_id", "id"),
        Index("ix_access_audit_entry_occurred_at", "occurred_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    occurred_at: datetime
    actor_kind: str = Field(max_length=16)
    actor_token_id: int | None = None
    action: str = Field(max_length=64)
    outcome: str = Field(max_length=16)
    target_kind: str | None = Field(default=None, max_length=16)
    target_id: str | None = Field(default=None, max_length=64)
    details: str = Field(sa_column=Column(Text, nullable=False))
