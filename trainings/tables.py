"""The tables of offline trainings and of imports.

A filing's row changes once, when its department decides it (``status`` from ``filed``). Its e-mail
address and its contact's phone are stored only as ``DataKeyring`` tokens. An import's
row records a file that went into the ledger: its SHA-256, its format and what it added; the rows
of the file themselves are the ledger's entries.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, ForeignKey, Integer, Text
from sqlmodel import Field, SQLModel

CODE_CHARACTERS = 40
ACTOR_CHARACTERS = 64


class OfflineTrainingRow(SQLModel, table=True):
    """A filed offline training (线下培训备案表) and its department's decision."""

    __tablename__ = "offline_training"

    id: int | None = Field(default=None, primary_key=True)
    unit_code: str = Field(max_length=CODE_CHARACTERS, index=True)
    department_code: str = Field(max_length=CODE_CHARACTERS, index=True)
    subject: str = Field(max_length=16)
    organiser: str = Field(max_length=100)
    organiser_address: str = Field(max_length=200)
    postcode: str = Field(max_length=6)
    email_encrypted: str = Field(sa_column=Column(Text, nullable=False))
    responsible_person: str = Field(max_length=30)
    contact_name: str = Field(max_length=30)
    contact_title: str = Field(max_length=30)
    contact_phone_encrypted: str = Field(sa_column=Column(Text, nullable=False))
    training_name: str = Field(max_length=100)
    starts_on: date
    ends_on: date
    place: str = Field(max_length=100)
    scope: str = Field(max_length=200)
    head_count: int
    plan: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(max_length=16, index=True)
    filed_at: datetime
    filed_by: str = Field(max_length=ACTOR_CHARACTERS)
    decided_at: datetime | None = None
    decided_by: str | None = Field(default=None, max_length=ACTOR_CHARACTERS)
    reason: str | None = Field(default=None, max_length=500)
    evidence_hash: str | None = Field(default=None, max_length=64)


class TrainingImportRow(SQLModel, table=True):
    """A file imported into the ledger: an offline training's attendance, or continuing education."""

    __tablename__ = "training_import"

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=16, index=True)
    training_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("offline_training.id"), nullable=True, index=True)
    )
    file_sha256: str = Field(max_length=64)
    file_format: str = Field(max_length=16)
    rows: int
    appended: int
    duplicates: int
    imported_at: datetime
    imported_by: str = Field(max_length=ACTOR_CHARACTERS)
