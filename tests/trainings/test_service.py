"""Offline trainings and continuing education on SQLite and PostgreSQL, with a fake registry of people:
filing and deciding, attendance and recognised hours counted whole or not at all, exactly once."""

from __future__ import annotations

import io
from collections.abc import Collection, Mapping
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.model import Balance, EntryKind, PersonId, Source
from ledger.service import Ledger
from ledger.store import SqlLedgerStore
from sso.id_numbers import IdNumber, make_id_number
from sso.organisation import load_organisation
from sso.personal_data import DataKeyring
from trainings.errors import AttendanceNotOpen, FileUnreadable, FilingAlreadyDecided, FilingInvalid, RowsInvalid
from trainings.model import Listing, RowOutcome
from trainings.offline import Filing, FilingQuery, FilingStatus
from trainings.ports import RegisteredPerson
from trainings.service import ContinuingEducation, OfflineTrainings
from trainings.sheets import FileFormat
from trainings.store import SqlTrainingsStore

from ..conftest import FixedClock
from .forms import RULES_2021, filing_form

ORGANISATION = load_organisation(Path(__file__).parents[2] / "config" / "organisation" / "hunan.json")
RULES = {2021: RULES_2021}
TODAY = date(2021, 12, 1)
WANG = make_id_number("430102", date(1990, 3, 7), 124, today=TODAY)
LI = make_id_number("430102", date(1985, 6, 1), 13, today=TODAY)
ZHAO = make_id_number("430181", date(1979, 1, 2), 22, today=TODAY)
PEOPLE = {
    WANG: RegisteredPerson(PersonId("a" * 32), "王芳", "430100-0001"),
    LI: RegisteredPerson(PersonId("b" * 32), "李强", "430100-0001"),
    ZHAO: RegisteredPerson(PersonId("c" * 32), "赵敏", "430181-0001"),
}


class FakeRegistry:
    async def registered(self, id_numbers: Collection[IdNumber]) -> Mapping[IdNumber, RegisteredPerson]:
        return {id_number: PEOPLE[id_number] for id_number in id_numbers if id_number in PEOPLE}


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2021, 12, 1, 8, 0, tzinfo=UTC))


@pytest.fixture
def ledger(engine: AsyncEngine, clock: FixedClock) -> Ledger:
    return Ledger(SqlLedgerStore(engine), RULES, clock)


@pytest.fixture
def store(engine: AsyncEngine, keyring: DataKeyring) -> SqlTrainingsStore:
    return SqlTrainingsStore(engine, keyring)


@pytest.fixture
def offline(store: SqlTrainingsStore, ledger: Ledger, clock: FixedClock) -> OfflineTrainings:
    return OfflineTrainings(store, ledger, FakeRegistry(), RULES, clock)


@pytest.fixture
def continuing(store: SqlTrainingsStore, ledger: Ledger, clock: FixedClock) -> ContinuingEducation:
    return ContinuingEducation(store, ledger, FakeRegistry(), RULES, clock)


def everyone(_unit_code: str) -> bool:
    return True


def csv(*lines: str, encoding: str = "utf-8") -> bytes:
    return "".join(line + "\r\n" for line in lines).encode(encoding)


async def approved(offline: OfflineTrainings, **changes: object) -> Filing:
    filing = await offline.file(filing_form(**changes), ORGANISATION, "operator:1")
    return await offline.approve(filing, "supervisor:2")


async def test_a_filing_is_stored_with_its_department_and_decided_once(offline: OfflineTrainings) -> None:
    professional = await offline.file(filing_form(), ORGANISATION, "operator:1")
    public = await offline.file(filing_form(subject="public"), ORGANISATION, "supervisor:9")

    approved = await offline.approve(professional, "supervisor:2")
    rejected = await offline.reject(public, "supervisor:3", "  培训计划不完整  ")
    with pytest.raises(FilingAlreadyDecided, match="is approved already"):
        await offline.reject(professional, "supervisor:2", "changed my mind")
    with pytest.raises(FilingInvalid) as no_reason:
        await offline.reject(professional, "supervisor:2", " ")

    assert (professional.number, professional.department_code, professional.status) == (
        "XXPX-2021-000001",
        "430100-health",
        FilingStatus.FILED,
    )
    assert (public.department_code, public.filed_by) == ("430100-personnel", "supervisor:9")
    assert (approved.status, approved.decided_by, approved.reason) == (FilingStatus.APPROVED, "supervisor:2", None)
    assert approved.evidence_hash == approved.evidence_hash_at(approved.decided_at, "supervisor:2")  # type: ignore[arg-type]
    assert (rejected.status, rejected.reason, rejected.evidence_hash) == (FilingStatus.REJECTED, "培训计划不完整", None)
    assert [error.field for error in no_reason.value.errors] == ["reason"]
    assert await offline.filing("XXPX-2021-000001") == approved


async def test_filings_are_listed_newest_first_by_status_unit_and_department(offline: OfflineTrainings) -> None:
    for changes in ({}, {"subject": "public"}, {"unit_code": "430181-0001"}, {}):
        await offline.file(filing_form(**changes), ORGANISATION, "operator:1")
    await offline.approve(await offline.filing("XXPX-2021-000004"), "supervisor:2")

    first = await offline.filings(FilingQuery(listing=Listing(limit=2)))
    rest = await offline.filings(FilingQuery(listing=Listing(before_id=int(first.next_cursor or 0), limit=2)))
    health = await offline.filings(FilingQuery(department_code="430100-health", status=FilingStatus.FILED))
    liuyang = await offline.filings(FilingQuery(unit_code="430181-0001"))

    assert [filing.id for filing in first.filings] == [4, 3]
    assert ([filing.id for filing in rest.filings], rest.next_cursor) == ([2, 1], None)
    assert [filing.id for filing in health.filings] == [1]
    assert [(filing.id, filing.department_code) for filing in liuyang.filings] == [(3, "430181-health")]


async def test_attendance_is_counted_once_in_the_ledger_with_the_filing_as_evidence(
    offline: OfflineTrainings, ledger: Ledger
) -> None:
    filing = await approved(offline)
    content = csv("身份证号,姓名,学时,天数", f"{WANG},王芳,20,", f"{LI.lower()},李强,,2")

    report = await offline.import_attendance(filing, content, "operator:1", everyone)
    again = await offline.import_attendance(filing, content, "operator:1", everyone)

    assert [(row.line, row.person_id, row.hours, row.outcome) for row in report.rows] == [
        (2, PEOPLE[WANG].id, 2000, RowOutcome.APPENDED),
        (3, PEOPLE[LI].id, 1500, RowOutcome.APPENDED),
    ]
    assert [row.outcome for row in again.rows] == [RowOutcome.DUPLICATE, RowOutcome.DUPLICATE]
    assert (again.record.rows, again.record.appended, again.record.duplicates) == (2, 0, 2)
    (entry,) = await ledger.entries_of(PEOPLE[WANG].id, 2021)
    assert (entry.kind, entry.source, entry.record_id) == (
        EntryKind.CREDIT,
        Source.OFFLINE,
        f"{filing.number}/{'a' * 32}",
    )
    assert (entry.course_code, entry.course_title, entry.payload_hash) == (
        "XXPX-2021-000001",
        "急危重症救治能力提升培训",
        filing.evidence_hash,
    )
    assert entry.actor == "operator:1"
    assert await ledger.balance(PEOPLE[WANG].id, 2021) == Balance(professional=2000)
    assert await ledger.balance(PEOPLE[LI].id, 2021) == Balance(professional=1500)
    imports = await offline.imports_of(filing)
    assert [(record.id, record.appended, record.file_format) for record in imports] == [
        (again.record.id, 0, FileFormat.CSV_UTF8),
        (report.record.id, 2, FileFormat.CSV_UTF8),
    ]
    assert (await ledger.verify_chain()).entries_checked == 2


async def test_a_file_with_any_bad_line_counts_nothing_and_names_every_bad_line(
    offline: OfflineTrainings, ledger: Ledger
) -> None:
    filing = await approved(offline)
    unknown = make_id_number("430102", date(1991, 1, 1), 15, today=TODAY)
    content = csv(
        "身份证号,姓名,学时",
        f"{WANG},王芳,8",  # 2: fine
        f"{unknown},钱多,8",  # 3: nobody registered
        f"{LI},李四,8",  # 4: not the registered name
        f"{ZHAO},赵敏,30",  # 5: more than 3 days of 7.5 hours
        f"{WANG},王芳,4",  # 6: the same person as line 2
        encoding="gb18030",
    )

    with pytest.raises(RowsInvalid) as invalid:
        await offline.import_attendance(filing, content, "operator:1", everyone)

    assert [(error.field, error.message) for error in invalid.value.errors] == [
        ("line 3: id_number", "no registered person in reach has this ID number"),
        ("line 4: name", "does not match the name registered for this ID number"),
        ("line 5: hours", "is more than the 3 day(s) of the training allow (22.50 hours)"),
        ("line 6: id_number", "the same person as line 2"),
    ]
    assert await ledger.balance(PEOPLE[WANG].id, 2021) == Balance()
    assert await offline.imports_of(filing) == []


async def test_a_corrected_file_that_changes_counted_hours_is_refused_whole(
    offline: OfflineTrainings, ledger: Ledger
) -> None:
    filing = await approved(offline)
    await offline.import_attendance(filing, csv("身份证号,姓名,学时", f"{WANG},王芳,8"), "operator:1", everyone)

    with pytest.raises(RowsInvalid) as invalid:
        await offline.import_attendance(
            filing, csv("身份证号,姓名,学时", f"{LI},李强,8", f"{WANG},王芳,12"), "operator:1", everyone
        )
    added = await offline.import_attendance(
        filing, csv("身份证号,姓名,学时", f"{LI},李强,8", f"{WANG},王芳,8"), "operator:1", everyone
    )

    assert [error.field for error in invalid.value.errors] == ["line 3"]
    assert "other content (8.00 hours, professional)" in invalid.value.errors[0].message
    assert [row.outcome for row in added.rows] == [RowOutcome.APPENDED, RowOutcome.DUPLICATE]
    assert await ledger.balance(PEOPLE[WANG].id, 2021) == Balance(professional=800)
    assert await ledger.balance(PEOPLE[LI].id, 2021) == Balance(professional=800)


async def test_an_uploader_reaches_only_the_staff_it_oversees(offline: OfflineTrainings) -> None:
    filing = await approved(offline)
    content = csv("身份证号,姓名,学时", f"{WANG},王芳,8", f"{ZHAO},赵敏,8")

    with pytest.raises(RowsInvalid) as invalid:
        await offline.import_attendance(filing, content, "supervisor:5", lambda unit: unit == "430100-0001")

    assert [error.field for error in invalid.value.errors] == ["line 3: id_number"]


async def test_attendance_waits_for_the_approval_and_for_the_last_day(
    offline: OfflineTrainings, clock: FixedClock
) -> None:
    filed = await offline.file(filing_form(), ORGANISATION, "operator:1")
    content = csv("身份证号,姓名,学时", f"{WANG},王芳,8")
    with pytest.raises(AttendanceNotOpen, match="is filed: attendance is taken once approved"):
        await offline.import_attendance(filed, content, "operator:1", everyone)
    rejected = await offline.reject(filed, "supervisor:2", "no")
    with pytest.raises(AttendanceNotOpen, match="is rejected"):
        await offline.import_attendance(rejected, content, "operator:1", everyone)

    clock.now = datetime(2021, 9, 7, 8, 0, tzinfo=UTC)  # the second of its three days
    filing = await approved(offline)
    with pytest.raises(AttendanceNotOpen, match="ends on 2021-09-08"):
        await offline.import_attendance(filing, content, "operator:1", everyone)
    clock.now = datetime(2021, 9, 7, 16, 0, tzinfo=UTC)  # midnight in Beijing: the last day has come
    assert (await offline.import_attendance(filing, content, "operator:1", everyone)).record.appended == 1


async def test_an_xlsx_sheet_of_days_is_counted(offline: OfflineTrainings, ledger: Ledger) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["身份证号", "姓名", "天数"])
    sheet.append([WANG, "王芳", 1.5])
    buffer = io.BytesIO()
    book.save(buffer)
    filing = await approved(offline, subject="public")

    report = await offline.import_attendance(filing, buffer.getvalue(), "operator:1", everyone)

    assert report.record.file_format is FileFormat.XLSX
    assert await ledger.balance(PEOPLE[WANG].id, 2021) == Balance(public=1125)


async def test_an_unreadable_file_counts_nothing(offline: OfflineTrainings) -> None:
    filing = await approved(offline)

    with pytest.raises(FileUnreadable):
        await offline.import_attendance(filing, b"\xff\xfe\x00\x00", "operator:1", everyone)
    assert await offline.imports_of(filing) == []


# ---------------------------------------------------------------- continuing education


async def test_recognised_hours_are_counted_once_professional_unless_public(
    continuing: ContinuingEducation, ledger: Ledger
) -> None:
    content = csv(
        "身份证号,姓名,项目名称,学时,完成日期,科目",
        f"{WANG},王芳,心血管疾病诊疗新进展,12,2021-05-20,",
        f"{WANG},王芳,事业单位人事制度解读,6.5,2021-06-02,公共",
        f"{ZHAO},赵敏,农业技术推广,20,2021-07-01,专业",
        encoding="gb18030",
    )

    report = await continuing.import_file(content, "operator:1")
    again = await continuing.import_file(b"\xef\xbb\xbf" + content.decode("gb18030").encode(), "command_line")

    assert (report.record.appended, report.record.duplicates, report.record.file_format) == (
        3,
        0,
        FileFormat.CSV_GB18030,
    )
    assert (again.record.appended, again.record.duplicates, again.record.file_format) == (0, 3, FileFormat.CSV_UTF8)
    assert await ledger.balance(PEOPLE[WANG].id, 2021) == Balance(public=650, professional=1200)
    assert await ledger.balance(PEOPLE[ZHAO].id, 2021) == Balance(professional=2000)
    entries = await ledger.entries_of(PEOPLE[WANG].id, 2021)
    assert {(entry.source, entry.course_title, entry.payload_hash) for entry in entries} == {
        (Source.CONTINUING_ED, "心血管疾病诊疗新进展", report.record.file_sha256),
        (Source.CONTINUING_ED, "事业单位人事制度解读", report.record.file_sha256),
    }
    page = await continuing.imports(Listing(limit=1))
    assert ([record.id for record in page.imports], page.next_cursor) == ([again.record.id], str(again.record.id))
    assert await continuing.import_of(report.record.id) == report.record


async def test_a_recognised_file_with_a_bad_line_or_a_changed_record_counts_nothing(
    continuing: ContinuingEducation, ledger: Ledger
) -> None:
    header = "身份证号,姓名,项目名称,学时,完成日期,科目"
    await continuing.import_file(csv(header, f"{WANG},王芳,医学伦理,2,2021-05-20,"), "operator:1")
    bad_digit = WANG[:17] + ("0" if WANG[17] != "0" else "1")

    with pytest.raises(RowsInvalid) as bad_line:
        await continuing.import_file(
            csv(header, f"{LI},李强,医学伦理,2,2021-05-20,", f"{bad_digit},王芳,急诊医学,3,2021-05-21,"), "operator:1"
        )
    with pytest.raises(RowsInvalid) as changed:
        await continuing.import_file(
            csv(header, f"{LI},李强,医学伦理,2,2021-05-20,", f"{WANG},王芳,医学伦理,2,2021-05-20,公共"), "operator:1"
        )

    assert [error.field for error in bad_line.value.errors] == ["line 3: id_number"]
    assert [error.field for error in changed.value.errors] == ["line 3"]
    assert await ledger.balance(PEOPLE[LI].id, 2021) == Balance()
    assert await ledger.balance(PEOPLE[WANG].id, 2021) == Balance(professional=200)
