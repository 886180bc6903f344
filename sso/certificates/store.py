"""Certificates on SQL. The functions that take a connection write in a year's review (its open
transaction, under its lock); ``SqlCertificateStore`` reads and records downloads on its own."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Row, Table, func, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ledger.model import Hours, PersonId
from sso.certificates.model import (
    Certificate,
    CertificateBasis,
    CertificateStatus,
    Download,
    DownloaderKind,
    SignedFacts,
)
from sso.certificates.tables import CertificateDownloadRow, CertificateRow

__all__ = [
    "SqlCertificateStore",
    "insert_certificate",
    "revoke_certificate",
    "valid_certificate",
    "valid_certificates",
]

CERTIFICATES: Final[Table] = CertificateRow.metadata.tables["certificate"]
DOWNLOADS: Final[Table] = CertificateDownloadRow.metadata.tables["certificate_download"]
CERTIFICATES_LISTED_MAX: Final = 200
"""A person gets one certificate a year, and another only after a revocation: far below this."""
DOWNLOADS_LISTED_MAX: Final = 20


async def valid_certificate(connection: AsyncConnection, person_id: PersonId, year: int) -> Certificate | None:
    """The person's valid certificate of the year, if there is one."""
    query = select(CERTIFICATES).where(
        CERTIFICATES.c.person_id == person_id,
        CERTIFICATES.c.year == year,
        CERTIFICATES.c.status == CertificateStatus.VALID.value,
    )
    row = (await connection.execute(query)).first()
    return None if row is None else _certificate(row)


async def valid_certificates(
    connection: AsyncConnection, years: Sequence[tuple[PersonId, int]]
) -> dict[tuple[PersonId, int], Certificate]:
    """The valid certificate of each of these people's years that has one."""
    if not years:
        return {}
    query = select(CERTIFICATES).where(
        tuple_(CERTIFICATES.c.person_id, CERTIFICATES.c.year).in_(list(years)),
        CERTIFICATES.c.status == CertificateStatus.VALID.value,
    )
    return {(PersonId(row.person_id), row.year): _certificate(row) for row in await connection.execute(query)}


async def insert_certificate(connection: AsyncConnection, certificate: Certificate) -> None:
    facts = certificate.facts
    await connection.execute(
        insert(CERTIFICATES).values(
            certificate_no=facts.certificate_no,
            person_id=certificate.person_id,
            year=facts.year,
            status=certificate.status.value,
            basis=certificate.basis.value,
            name=certificate.name,
            name_masked=facts.name_masked,
            unit_name=certificate.unit_name,
            public_hours=facts.public,
            professional_hours=facts.professional,
            ledger_seq=certificate.ledger_seq,
            issued_at=facts.issued_at,
            issuer=facts.issuer,
            signature=certificate.signature,
            revoked_at=certificate.revoked_at,
            revoked_reason=certificate.revoked_reason,
        )
    )


async def revoke_certificate(connection: AsyncConnection, number: str, now: datetime, reason: str) -> bool:
    """Revoke a valid certificate; ``False`` when it is not valid (any more)."""
    result = await connection.execute(
        update(CERTIFICATES)
        .where(CERTIFICATES.c.certificate_no == number, CERTIFICATES.c.status == CertificateStatus.VALID.value)
        .values(status=CertificateStatus.REVOKED.value, revoked_at=now, revoked_reason=reason)
    )
    return result.rowcount == 1


class SqlCertificateStore:
    """The certificates and their downloads behind one engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def by_number(self, number: str) -> Certificate | None:
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(select(CERTIFICATES).where(CERTIFICATES.c.certificate_no == number))
            ).first()
        return None if row is None else _certificate(row)

    async def of_person(self, person_id: PersonId) -> list[Certificate]:
        """The person's certificates, the newest first."""
        query = (
            select(CERTIFICATES)
            .where(CERTIFICATES.c.person_id == person_id)
            .order_by(CERTIFICATES.c.issued_at.desc(), CERTIFICATES.c.certificate_no)
            .limit(CERTIFICATES_LISTED_MAX)
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [_certificate(row) for row in rows]

    async def record_download(self, download: Download) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                insert(DOWNLOADS).values(
                    certificate_no=download.certificate_no,
                    downloaded_at=download.downloaded_at,
                    by=download.by.value,
                    token_id=download.token_id,
                )
            )

    async def downloads_of(self, numbers: Sequence[str]) -> dict[str, list[Download]]:
        """The latest downloads of each certificate (at most ``DOWNLOADS_LISTED_MAX``), newest first."""
        found: dict[str, list[Download]] = {number: [] for number in numbers}
        async with self._engine.connect() as connection:
            for number in numbers:
                query = (
                    select(DOWNLOADS)
                    .where(DOWNLOADS.c.certificate_no == number)
                    .order_by(DOWNLOADS.c.downloaded_at.desc(), DOWNLOADS.c.id.desc())
                    .limit(DOWNLOADS_LISTED_MAX)
                )
                found[number] = [_download(row) for row in await connection.execute(query)]
        return found

    async def download_counts(self, numbers: Sequence[str]) -> dict[str, int]:
        """How many times each certificate was downloaded in all."""
        async with self._engine.connect() as connection:
            rows = await connection.execute(
                select(DOWNLOADS.c.certificate_no, func.count())
                .where(DOWNLOADS.c.certificate_no.in_(list(numbers)))
                .group_by(DOWNLOADS.c.certificate_no)
            )
            counts = {row[0]: int(row[1]) for row in rows}
        return {number: counts.get(number, 0) for number in numbers}


def _certificate(row: Row[Any]) -> Certificate:
    return Certificate(
        facts=SignedFacts(
            certificate_no=row.certificate_no,
            name_masked=row.name_masked,
            year=row.year,
            public=Hours(row.public_hours),
            professional=Hours(row.professional_hours),
            issued_at=row.issued_at,
            issuer=row.issuer,
        ),
        person_id=PersonId(row.person_id),
        name=row.name,
        unit_name=row.unit_name,
        basis=CertificateBasis(row.basis),
        ledger_seq=row.ledger_seq,
        signature=row.signature,
        status=CertificateStatus(row.status),
        revoked_at=row.revoked_at,
        revoked_reason=row.revoked_reason,
    )


def _download(row: Row[Any]) -> Download:
    return Download(
        certificate_no=row.certificate_no,
        downloaded_at=row.downloaded_at,
        by=DownloaderKind(row.by),
        token_id=row.token_id,
    )
