"""The tables of people, their sessions and their failed logins.

The ID number, phone and e-mail are stored only as ``DataKeyring`` tokens; the ID number is
found through its blind index, unique so that one ID number has one account. A session is
stored as the SHA-256 of its token, a failed login as the blind index of the ID number tried.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

BLIND_INDEX_CHARACTERS = 64
SHA256_HEX_CHARACTERS = 64


class PersonRow(SQLModel, table=True):
    __tablename__ = "person"
    # Rosters of institutions are read in (unit_code, id) order, a page at a time from where the last one ended.
    __table_args__ = (Index("ix_person_unit_code_id", "unit_code", "id"),)

    id: str = Field(primary_key=True, max_length=64)
    id_number_index: str = Field(max_length=BLIND_INDEX_CHARACTERS, unique=True)
    id_number_encrypted: str = Field(sa_column=Column(Text, nullable=False))
    phone_encrypted: str = Field(sa_column=Column(Text, nullable=False))
    email_encrypted: str = Field(sa_column=Column(Text, nullable=False))
    password_hash: str = Field(max_length=200)
    name: str = Field(max_length=30)
    gender: str = Field(max_length=4)
    ethnicity: str | None = Field(default=None, max_length=16)
    native_place: str = Field(max_length=50)
    education: str = Field(max_length=16)
    major: str = Field(max_length=50)
    school: str = Field(max_length=100)
    graduated_on: date
    unit_code: str = Field(max_length=40)
    title: str = Field(max_length=50)
    title_since: date | None = None
    created_at: datetime
    updated_at: datetime
    deactivated_at: datetime | None = None


class PersonSessionRow(SQLModel, table=True):
    __tablename__ = "person_session"

    token_hash: str = Field(primary_key=True, max_length=SHA256_HEX_CHARACTERS)
    person_id: str = Field(foreign_key="person.id", max_length=64, index=True)
    opened_at: datetime
    last_seen_at: datetime = Field(index=True)


class LoginFailureRow(SQLModel, table=True):
    """One failed (or still undecided) login for an ID number, by its blind index."""

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_index_at", "id_number_index", "failed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    id_number_index: str = Field(max_length=BLIND_INDEX_CHARACTERS)
    failed_at: datetime = Field(index=True)
