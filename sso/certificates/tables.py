"""The certificates' tables: each certificate issued (never deleted; a revocation is a status with
its moment and reason), and each download of one.

At most one certificate of a person's year is valid at a time: a partial unique index says so, and
the reviews that issue and revoke take turns per year, so it never has to refuse anything.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, Text, text
from sqlmodel import Field, SQLModel

from sso.certificates.model import CERTIFICATE_NUMBER_CHARACTERS

_VALID = text("status = 'valid'")


class CertificateRow(SQLModel, table=True):
    __tablename__ = "certificate"
    __table_args__ = (
        Index("ix_certificate_person_id_year", "person_id", "year"),
        Index(
            "uq_certificate_valid_year",
            "person_id",
            "year",
            unique=True,
            sqlite_where=_VALID,
            postgresql_where=_VALID,
        ),
    )

    certificate_no: str = Field(primary_key=True, max_length=CERTIFICATE_NUMBER_CHARACTERS)
    person_id: str = Field(max_length=64)
    year: int
    status: str = Field(max_length=16)
    basis: str = Field(max_length=16)
    name: str = Field(max_length=30)
    name_masked: str = Field(max_length=30)
    unit_name: str = Field(max_length=200)
    public_hours: int
    professional_hours: int
    ledger_seq: int = Field(sa_type=BigInteger)
    issued_at: datetime
    issuer: str = Field(max_length=200)
    signature: str = Field(sa_column=Column(Text, nullable=False))
    revoked_at: datetime | None = None
    revoked_reason: str | None = Field(default=None, max_length=200)


class CertificateDownloadRow(SQLModel, table=True):
    """A download of a certificate's PDF, by its owner or by a supervisor (their token's id)."""

    __tablename__ = "certificate_download"
    __table_args__ = (Index("ix_certificate_download_number_at", "certificate_no", "downloaded_at"),)

    id: int | None = Field(default=None, primary_key=True)
    certificate_no: str = Field(max_length=CERTIFICATE_NUMBER_CHARACTERS)
    downloaded_at: datetime
    by: str = Field(max_length=16)
    token_id: int | None = None
