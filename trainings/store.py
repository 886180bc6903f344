"""Offline trainings and imports on SQLite or PostgreSQL; each call is one transaction.

A filing's e-mail address and its contact's phone are sealed under a context that names the filing
and the field (``offline_training.7.contact_phone``): a token copied to another row or field does
not open. The row is inserted with them empty, and sealed once it has its id, in one transaction.

A decision is one conditional UPDATE (``WHERE status = 'filed'``): two departments' clicks cannot
both win, and no read comes between the check and the write.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ledger.model import Source, Subject
from ledger.store import translated_errors
from sso.organisation import DepartmentCode, InstitutionCode
from trainings.model import ImportRecord, Listing
from trainings.offline import Filing, FilingForm, FilingQuery, FilingStatus
from trainings.ports import Sealer
from trainings.sheets import FileFormat
from trainings.tables import OfflineTrainingRow, TrainingImportRow

__all__ = ["SqlTrainingsStore"]


class SqlTrainingsStore:
    """Filings, their decisions, and the imports of files."""

    def __init__(self, engine: AsyncEngine, sealer: Sealer) -> None:
        self._sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
        self._sealer = sealer

    async def add_filing(
        self, form: FilingForm, department_code: DepartmentCode, *, filed_at: datetime, filed_by: str
    ) -> Filing:
        row = OfflineTrainingRow(
            unit_code=form.unit_code,
            department_code=department_code,
            subject=form.subject.value,
            organiser=form.organiser,
            organiser_address=form.organiser_address,
            postcode=form.postcode,
            email_encrypted="",
            responsible_person=form.responsible_person,
            contact_name=form.contact_name,
            contact_title=form.contact_title,
            contact_phone_encrypted="",
            training_name=form.training_name,
            starts_on=form.starts_on,
            ends_on=form.ends_on,
            place=form.place,
            scope=form.scope,
            head_count=form.head_count,
            plan=form.plan,
            status=FilingStatus.FILED.value,
            filed_at=filed_at,
            filed_by=filed_by,
        )
        async with translated_errors(), self._sessions() as session, session.begin():
            session.add(row)
            await session.flush()  # the id the seals name
            filing_id = _id_of(row)
            row.email_encrypted = self._seal(filing_id, "email", form.email)
            row.contact_phone_encrypted = self._seal(filing_id, "contact_phone", form.contact_phone)
        return self._filing(row)

    async def filing(self, filing_id: int) -> Filing | None:
        async with translated_errors(), self._sessions() as session:
            row = await session.get(OfflineTrainingRow, filing_id)
        return None if row is None else self._filing(row)

    async def filings(self, query: FilingQuery, count: int) -> list[Filing]:
        """Up to ``count`` filings that match, newest first."""
        statement = select(OfflineTrainingRow).order_by(col(OfflineTrainingRow.id).desc()).limit(count)
        if query.status is not None:
            statement = statement.where(col(OfflineTrainingRow.status) == query.status.value)
        if query.unit_code is not None:
            statement = statement.where(col(OfflineTrainingRow.unit_code) == query.unit_code)
        if query.department_code is not None:
            statement = statement.where(col(OfflineTrainingRow.department_code) == query.department_code)
        if query.listing.before_id is not None:
            statement = statement.where(col(OfflineTrainingRow.id) < query.listing.before_id)
        async with translated_errors(), self._sessions() as session:
            return [self._filing(row) for row in (await session.exec(statement)).all()]

    async def decide(
        self,
        filing_id: int,
        status: FilingStatus,
        *,
        decided_at: datetime,
        decided_by: str,
        reason: str | None,
        evidence_hash: str | None,
    ) -> bool:
        """Record the decision of a filing still waiting for one; ``False`` when it was decided before."""
        statement = (
            update(OfflineTrainingRow)
            .where(col(OfflineTrainingRow.id) == filing_id, col(OfflineTrainingRow.status) == FilingStatus.FILED.value)
            .values(
                status=status.value,
                decided_at=decided_at,
                decided_by=decided_by,
                reason=reason,
                evidence_hash=evidence_hash,
            )
        )
        async with translated_errors(), self._sessions() as session, session.begin():
            result = await session.exec(statement)
            return bool(result.rowcount == 1)

    async def add_import(self, record: ImportRecord) -> ImportRecord:
        """Store an import; the record's ``id`` is ignored and the stored one returned."""
        row = TrainingImportRow(
            source=record.source.value,
            training_id=record.training_id,
            file_sha256=record.file_sha256,
            file_format=record.file_format.value,
            rows=record.rows,
            appended=record.appended,
            duplicates=record.duplicates,
            imported_at=record.imported_at,
            imported_by=record.imported_by,
        )
        async with translated_errors(), self._sessions() as session, session.begin():
            session.add(row)
        return _import(row)

    async def imports(
        self, source: Source, listing: Listing, count: int, *, training_id: int | None = None
    ) -> list[ImportRecord]:
        """Up to ``count`` imports of a source (of one training, if given) from ``listing``'s start, newest first."""
        statement = (
            select(TrainingImportRow)
            .where(col(TrainingImportRow.source) == source.value)
            .order_by(col(TrainingImportRow.id).desc())
            .limit(count)
        )
        if training_id is not None:
            statement = statement.where(col(TrainingImportRow.training_id) == training_id)
        if listing.before_id is not None:
            statement = statement.where(col(TrainingImportRow.id) < listing.before_id)
        async with translated_errors(), self._sessions() as session:
            return [_import(row) for row in (await session.exec(statement)).all()]

    async def import_of(self, source: Source, import_id: int) -> ImportRecord | None:
        async with translated_errors(), self._sessions() as session:
            row = await session.get(TrainingImportRow, import_id)
        return None if row is None or row.source != source.value else _import(row)

    def _seal(self, filing_id: int, field: str, plaintext: str) -> str:
        return self._sealer.encrypt(plaintext, context=f"offline_training.{filing_id}.{field}")

    def _open(self, filing_id: int, field: str, token: str) -> str:
        return self._sealer.decrypt(token, context=f"offline_training.{filing_id}.{field}")

    def _filing(self, row: OfflineTrainingRow) -> Filing:
        filing_id = _id_of(row)
        return _filing(
            row,
            email=self._open(filing_id, "email", row.email_encrypted),
            contact_phone=self._open(filing_id, "contact_phone", row.contact_phone_encrypted),
        )


def _id_of(row: OfflineTrainingRow) -> int:
    if row.id is None:
        raise ValueError("a stored filing has an id")
    return row.id


def _filing(row: OfflineTrainingRow, *, email: str, contact_phone: str) -> Filing:
    return Filing(
        id=_id_of(row),
        form=FilingForm(
            unit_code=InstitutionCode(row.unit_code),
            subject=Subject(row.subject),
            organiser=row.organiser,
            organiser_address=row.organiser_address,
            postcode=row.postcode,
            email=email,
            responsible_person=row.responsible_person,
            contact_name=row.contact_name,
            contact_title=row.contact_title,
            contact_phone=contact_phone,
            training_name=row.training_name,
            starts_on=row.starts_on,
            ends_on=row.ends_on,
            place=row.place,
            scope=row.scope,
            head_count=row.head_count,
            plan=row.plan,
        ),
        department_code=DepartmentCode(row.department_code),
        status=FilingStatus(row.status),
        filed_at=row.filed_at,
        filed_by=row.filed_by,
        decided_at=row.decided_at,
        decided_by=row.decided_by,
        reason=row.reason,
        evidence_hash=row.evidence_hash,
    )


def _import(row: TrainingImportRow) -> ImportRecord:
    if row.id is None:
        raise ValueError("a stored import has an id")
    return ImportRecord(
        id=row.id,
        source=Source(row.source),
        training_id=row.training_id,
        file_sha256=row.file_sha256,
        file_format=FileFormat(row.file_format),
        rows=row.rows,
        appended=row.appended,
        duplicates=row.duplicates,
        imported_at=row.imported_at,
        imported_by=row.imported_by,
    )
