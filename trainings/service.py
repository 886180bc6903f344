"""The use cases of offline trainings and continuing education: file a training, decide it, list
filings and imports, and import a file into the ledger whole or not at all.

An import checks every line before anything is written: the file's structure, each line on its
own, the same person twice, the people against the registry. Then its credits go to the ledger in
one transaction (``Ledger.record_whole``): a record already counted with the same content is a
duplicate, one counted with other content refuses the whole file. Who may do what is the caller's
to decide; ``actor`` names them in the ledger and in the filings (``operator:7``, ``command_line``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from ledger.errors import FieldError, RecordsDiffer
from ledger.model import (
    BEIJING,
    REASON_CHARACTERS_MAX,
    Credit,
    OutcomeKind,
    Source,
    YearRules,
    format_hours,
    sha256_hex,
)
from ledger.service import Ledger
from sso.organisation import Organisation
from trainings.continuing_ed import read_recognised, recognised_credit
from trainings.errors import AttendanceNotOpen, FilingAlreadyDecided, FilingInvalid, FilingNotFound, ImportNotFound
from trainings.model import (
    ImportedRow,
    ImportPage,
    ImportRecord,
    ImportReport,
    Listing,
    NamedLine,
    Problems,
    RowOutcome,
    matched_people,
)
from trainings.offline import (
    Filing,
    FilingPage,
    FilingQuery,
    FilingStatus,
    attendance_credit,
    filing_id_of,
    parse_filing,
    read_attendance,
    receiving_department,
)
from trainings.ports import Registry
from trainings.sheets import FileFormat, read_sheet
from trainings.store import SqlTrainingsStore

__all__ = ["ContinuingEducation", "OfflineTrainings"]

Clock = Callable[[], datetime]
IMPORTS_SHOWN_MAX = 50


def utc_now() -> datetime:
    return datetime.now(UTC)


class OfflineTrainings:
    """Offline trainings: filed by a unit, decided by a department, attended by staff."""

    def __init__(
        self,
        store: SqlTrainingsStore,
        ledger: Ledger,
        registry: Registry,
        rules: Mapping[int, YearRules],
        clock: Clock = utc_now,
    ) -> None:
        self._store = store
        self._ledger = ledger
        self._registry = registry
        self._rules = dict(rules)
        self._clock = clock

    async def file(self, form: Mapping[str, object], organisation: Organisation, actor: str) -> Filing:
        """File a training with the department its unit and subject send it to.

        Raises ``FilingInvalid`` listing every field at fault.
        """
        checked = parse_filing(form, organisation, self._rules.keys())
        department = receiving_department(organisation, checked.unit_code, checked.subject)
        return await self._store.add_filing(checked, department.code, filed_at=self._clock(), filed_by=actor)

    async def filing(self, number: str) -> Filing:
        """The filing with this number. Raises ``FilingNotFound``."""
        filing_id = filing_id_of(number)
        filing = None if filing_id is None else await self._store.filing(filing_id)
        if filing is None or filing.number != number:
            raise FilingNotFound
        return filing

    async def filings(self, query: FilingQuery) -> FilingPage:
        """The filings that match, newest first, with the cursor to the next page when there is one."""
        filings = await self._store.filings(query, query.listing.limit + 1)
        if len(filings) <= query.listing.limit:
            return FilingPage(tuple(filings), None)
        shown = tuple(filings[: query.listing.limit])
        return FilingPage(shown, str(shown[-1].id))

    async def approve(self, filing: Filing, actor: str) -> Filing:
        """Approve a filing that waits for a decision; its hash becomes the evidence of its credits.

        Raises ``FilingAlreadyDecided``.
        """
        now = self._clock()
        evidence = filing.evidence_hash_at(now, actor)
        return await self._decide(filing, FilingStatus.APPROVED, now, actor, reason=None, evidence=evidence)

    async def reject(self, filing: Filing, actor: str, reason: object) -> Filing:
        """Reject a filing that waits for a decision, for a reason. Raises ``FilingInvalid`` without a
        reason of 1 to ``REASON_CHARACTERS_MAX`` characters, and ``FilingAlreadyDecided``."""
        if not isinstance(reason, str) or not reason.strip() or len(reason) > REASON_CHARACTERS_MAX:
            message = f"is required to reject: 1 to {REASON_CHARACTERS_MAX} characters"
            raise FilingInvalid([FieldError("reason", message)])
        return await self._decide(
            filing, FilingStatus.REJECTED, self._clock(), actor, reason=reason.strip(), evidence=None
        )

    async def _decide(
        self,
        filing: Filing,
        status: FilingStatus,
        now: datetime,
        actor: str,
        *,
        reason: str | None,
        evidence: str | None,
    ) -> Filing:
        decided = await self._store.decide(
            filing.id, status, decided_at=now, decided_by=actor, reason=reason, evidence_hash=evidence
        )
        stored = await self.filing(filing.number)
        if not decided:
            raise FilingAlreadyDecided(filing.number, stored.status.value)
        return stored

    async def import_attendance(
        self, filing: Filing, content: bytes, actor: str, reaches: Callable[[str], bool]
    ) -> ImportReport:
        """Count the attendance in an uploaded file, whole or not at all.

        ``reaches`` tells, by institution code, whose staff the uploader may credit: anyone else is
        reported as unregistered. Raises ``AttendanceNotOpen`` unless the filing is approved and its
        last day has come, ``FileUnreadable`` and ``RowsInvalid``, and the ledger's errors.
        """
        if filing.status is not FilingStatus.APPROVED:
            raise AttendanceNotOpen(
                f"the offline training {filing.number} is {filing.status.value}: attendance is taken once approved"
            )
        if _today(self._clock()) < filing.form.ends_on:
            raise AttendanceNotOpen(
                f"the offline training {filing.number} ends on {filing.form.ends_on.isoformat()}: "
                "attendance is taken from its last day on"
            )
        sheet = await asyncio.to_thread(read_sheet, content)  # a sheet takes a while to parse: not on the loop
        lines, problems = read_attendance(sheet, filing, self._rules[filing.form.year])
        named = [line.named for line in lines]
        people = await self._registry.registered({line.id_number for line in named})
        matched = matched_people(named, people, reaches, problems)
        problems.raise_any()
        credits = [attendance_credit(filing, line, matched[line.line], actor) for line in lines]
        return await _counted(
            self._ledger,
            self._store,
            _Upload(Source.OFFLINE, filing.id, sha256_hex(content), sheet.format, self._clock(), actor),
            named,
            credits,
        )

    async def imports_of(self, filing: Filing) -> list[ImportRecord]:
        """The attendance imports of a filing, newest first (the last ``IMPORTS_SHOWN_MAX``)."""
        return await self._store.imports(Source.OFFLINE, Listing(), IMPORTS_SHOWN_MAX, training_id=filing.id)


class ContinuingEducation:
    """Continuing education: recognised hours imported from files."""

    def __init__(
        self,
        store: SqlTrainingsStore,
        ledger: Ledger,
        registry: Registry,
        rules: Mapping[int, YearRules],
        clock: Clock = utc_now,
    ) -> None:
        self._store = store
        self._ledger = ledger
        self._registry = registry
        self._rules = dict(rules)
        self._clock = clock

    async def import_file(self, content: bytes, actor: str) -> ImportReport:
        """Count the recognised hours in a file (``trainings.continuing_ed``), whole or not at all.

        Raises ``FileUnreadable`` and ``RowsInvalid``, and the ledger's errors.
        """
        now = self._clock()
        sheet = await asyncio.to_thread(read_sheet, content)  # a sheet takes a while to parse: not on the loop
        lines, problems = read_recognised(sheet, self._rules, _today(now))
        named = [line.named for line in lines]
        people = await self._registry.registered({line.id_number for line in named})
        matched = matched_people(named, people, _anyone, problems)
        problems.raise_any()
        file_sha256 = sha256_hex(content)
        credits = [recognised_credit(line, matched[line.line], file_sha256, actor) for line in lines]
        upload = _Upload(Source.CONTINUING_ED, None, file_sha256, sheet.format, now, actor)
        return await _counted(self._ledger, self._store, upload, named, credits)

    async def imports(self, listing: Listing) -> ImportPage:
        """A page of the imports, newest first."""
        imports = await self._store.imports(Source.CONTINUING_ED, listing, listing.limit + 1)
        if len(imports) <= listing.limit:
            return ImportPage(tuple(imports), None)
        shown = tuple(imports[: listing.limit])
        return ImportPage(shown, str(shown[-1].id))

    async def import_of(self, import_id: int) -> ImportRecord:
        """The import with this id. Raises ``ImportNotFound``."""
        record = await self._store.import_of(Source.CONTINUING_ED, import_id)
        if record is None:
            raise ImportNotFound
        return record


@dataclass(frozen=True, slots=True)
class _Upload:
    """A file being imported, and by whom."""

    source: Source
    training_id: int | None
    file_sha256: str
    file_format: FileFormat
    at: datetime
    actor: str


async def _counted(
    ledger: Ledger, store: SqlTrainingsStore, upload: _Upload, named: list[NamedLine], credits: list[Credit]
) -> ImportReport:
    """Record the credits of a checked file whole, keep a record of the import, and report each line."""
    try:
        outcomes = await ledger.record_whole(credits)
    except RecordsDiffer as differ:
        lines = {credit.record_id: line.line for credit, line in zip(credits, named, strict=True)}
        problems = Problems()
        for entry in differ.stored:
            problems.add(
                lines[entry.record_id],
                None,
                f"an earlier import counted this record with other content ({format_hours(entry.hours)} hours, "
                f"{entry.subject.value}): a file cannot change hours already counted",
            )
        problems.raise_any()
        raise
    rows = tuple(
        ImportedRow(
            line=line.line,
            person_id=credit.person_id,
            id_number=line.id_number,
            subject=credit.subject,
            hours=credit.hours,
            record_id=credit.record_id,
            outcome=RowOutcome.APPENDED if outcome.kind is OutcomeKind.APPENDED else RowOutcome.DUPLICATE,
        )
        for line, credit, outcome in zip(named, credits, outcomes, strict=True)
    )
    appended = sum(1 for row in rows if row.outcome is RowOutcome.APPENDED)
    record = await store.add_import(
        ImportRecord(
            id=0,
            source=upload.source,
            training_id=upload.training_id,
            file_sha256=upload.file_sha256,
            file_format=upload.file_format,
            rows=len(rows),
            appended=appended,
            duplicates=len(rows) - appended,
            imported_at=upload.at,
            imported_by=upload.actor,
        )
    )
    return ImportReport(record, rows)


def _anyone(_unit_code: str) -> bool:
    """Continuing education is imported by operators, who reach everyone."""
    return True


def _today(now: datetime) -> date:
    return now.astimezone(BEIJING).date()
