"""Offline trainings (线下培训), pure: the filing form (线下培训备案表), the department a filing goes to,
and the attendance of an approved training read into ledger credits.

A filing has every field of the 备案表: the applying unit (an institution, ``unit_code``), the subject,
the training institution (``organiser``) with its address, postcode and e-mail, the responsible person,
the contact with their title and phone, the training's name, its first and last day, place, scope
(who it is for) and head count, and its plan. A professional training is filed with the applying
unit's competent department; a public one with the personnel department of the unit's own region.

A training lasts at most ``OFFLINE_RECORD_DAYS_MAX`` days within one training year, and each person
attending earns at most its days times the year's ``hours_per_day``. Its hours are completed at the
end of its last day (Beijing time). Each person's credit has the record id ``<number>/<person id>``,
the filing's number as course code and the training's name as course title, and the hash of the
approved filing as its payload hash: the filing is the evidence.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Final

from ledger.errors import FieldError
from ledger.model import (
    OFFLINE_RECORD_DAYS_MAX,
    Credit,
    Hours,
    Source,
    Subject,
    YearRules,
    canonical_json,
    format_hours,
    new_credit,
    parse_hours,
    sha256_hex,
    utc_text,
)
from sso.errors import UnknownOrganisationCode
from sso.organisation import Department, DepartmentCode, InstitutionCode, Organisation
from trainings.errors import FileUnreadable, FilingInvalid, QueryInvalid
from trainings.model import (
    CELL_CHARACTERS_READ_MAX,
    Column,
    Listing,
    NamedLine,
    Problems,
    end_of_day,
    hours_in,
    id_number_in,
    name_in,
    parse_listing,
    positions_of,
    repeated_lines,
)
from trainings.ports import RegisteredPerson
from trainings.sheets import ROWS_MAX, Line, Sheet

__all__ = [
    "FILING_FIELDS",
    "AttendanceLine",
    "Filing",
    "FilingForm",
    "FilingPage",
    "FilingQuery",
    "FilingStatus",
    "attendance_credit",
    "filing_id_of",
    "parse_filing",
    "parse_filing_query",
    "read_attendance",
    "receiving_department",
]

NUMBER_PREFIX: Final = "XXPX"
"""线下培训: the filing numbers are XXPX-<year>-<six digits>."""
_NUMBER: Final = re.compile(r"XXPX-([0-9]{4})-([0-9]{6,9})", re.ASCII)
TEXT_FIELDS: Final[Mapping[str, int]] = {
    "organiser": 100,
    "organiser_address": 200,
    "responsible_person": 30,
    "contact_name": 30,
    "contact_title": 30,
    "training_name": 100,
    "place": 100,
    "scope": 200,
    "plan": 4000,
}
"""The free-text fields of the form and the most characters each may have."""
FILING_FIELDS: Final = (
    "unit_code",
    "subject",
    "organiser",
    "organiser_address",
    "postcode",
    "email",
    "responsible_person",
    "contact_name",
    "contact_title",
    "contact_phone",
    "training_name",
    "starts_on",
    "ends_on",
    "place",
    "scope",
    "head_count",
    "plan",
)
FIELD_NAME_CHARACTERS_MAX: Final = 40
EMAIL_CHARACTERS_MAX: Final = 100
_POSTCODE: Final = re.compile(r"[0-9]{6}", re.ASCII)
_EMAIL: Final = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE: Final = re.compile(r"1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8}", re.ASCII)
_DAY: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


class FilingStatus(enum.StrEnum):
    FILED = "filed"
    """Waiting for its department's decision."""
    APPROVED = "approved"
    """Approved: its attendance can be uploaded once the training is over."""
    REJECTED = "rejected"
    """Rejected, with the department's reason; final."""


@dataclass(frozen=True, slots=True)
class FilingForm:
    """A valid filing form."""

    unit_code: InstitutionCode
    subject: Subject
    organiser: str
    organiser_address: str
    postcode: str
    email: str
    responsible_person: str
    contact_name: str
    contact_title: str
    contact_phone: str
    training_name: str
    starts_on: date
    ends_on: date
    place: str
    scope: str
    head_count: int
    plan: str

    @property
    def year(self) -> int:
        return self.starts_on.year

    @property
    def days(self) -> int:
        return (self.ends_on - self.starts_on).days + 1

    def __repr__(self) -> str:
        return f"FilingForm(unit_code={self.unit_code!r}, training_name={self.training_name!r})"


@dataclass(frozen=True, slots=True)
class Filing:
    """A filed offline training and where it stands."""

    id: int
    form: FilingForm
    department_code: DepartmentCode
    status: FilingStatus
    filed_at: datetime
    filed_by: str
    decided_at: datetime | None = None
    decided_by: str | None = None
    reason: str | None = None
    evidence_hash: str | None = None

    @property
    def number(self) -> str:
        """The filing number, as course code of its credits: ``XXPX-2021-000001``."""
        return f"{NUMBER_PREFIX}-{self.form.year:04d}-{self.id:06d}"

    @property
    def completed_at(self) -> datetime:
        """When the training's hours are completed: the end of its last day, Beijing time."""
        return end_of_day(self.form.ends_on)

    def hours_max(self, rules: YearRules) -> Hours:
        """The most hours one person can earn: every day of the training, a full day each."""
        return Hours(self.form.days * rules.hours_per_day)

    def evidence(self, decided_at: datetime, decided_by: str) -> dict[str, object]:
        """The filing as approved, in the form its hash is taken of."""
        form = self.form
        return {
            "number": self.number,
            "department_code": self.department_code,
            "unit_code": form.unit_code,
            "subject": form.subject.value,
            "organiser": form.organiser,
            "training_name": form.training_name,
            "starts_on": form.starts_on.isoformat(),
            "ends_on": form.ends_on.isoformat(),
            "place": form.place,
            "head_count": form.head_count,
            "plan_sha256": sha256_hex(form.plan.encode()),
            "filed_at": utc_text(self.filed_at),
            "approved_at": utc_text(decided_at),
            "approved_by": decided_by,
        }

    def evidence_hash_at(self, decided_at: datetime, decided_by: str) -> str:
        """The SHA-256 of the approved filing: the payload hash of each of its credits."""
        return sha256_hex(canonical_json(self.evidence(decided_at, decided_by)))


def filing_id_of(number: str) -> int | None:
    """The id in a filing number, or ``None`` when the text is no filing number."""
    match = _NUMBER.fullmatch(number)
    return None if match is None else int(match.group(2))


def receiving_department(organisation: Organisation, unit_code: str, subject: Subject) -> Department:
    """The department a filing of this unit and subject goes to. Raises ``UnknownOrganisationCode``.

    Professional: the unit's competent department. Public: the personnel department of the unit's region.
    """
    institution = organisation.institution(unit_code)
    if subject is Subject.PROFESSIONAL:
        return organisation.department(institution.department)
    return organisation.personnel_department_of(institution.region)


def parse_filing(form: Mapping[str, object], organisation: Organisation, years: Collection[int]) -> FilingForm:
    """A valid filing form from a JSON object; ``years`` are the training years with rules.

    Raises ``FilingInvalid`` listing every field at fault, an unknown field too.
    """
    errors = [
        FieldError(name[:FIELD_NAME_CHARACTERS_MAX], "is not a field of the filing")
        for name in form
        if name not in FILING_FIELDS
    ]
    texts = {name: _text(form, name, limit, errors) for name, limit in TEXT_FIELDS.items()}
    unit_code = _unit_code(form.get("unit_code"), organisation, errors)
    subject = _subject(form.get("subject"), errors)
    postcode = _matching(form, "postcode", _POSTCODE, "must be 6 digits", errors)
    email = _matching(form, "email", _EMAIL, "must be an e-mail address", errors)
    phone = _matching(
        form, "contact_phone", _PHONE, "must be a mobile number or a landline such as 0731-84567890", errors
    )
    starts_on, ends_on = _span(form, years, errors)
    head_count = _head_count(form.get("head_count"), errors)
    errors.sort(key=lambda error: FILING_FIELDS.index(error.field) if error.field in FILING_FIELDS else -1)
    if (
        errors
        or unit_code is None
        or subject is None
        or starts_on is None
        or ends_on is None
        or head_count is None
        or None in (postcode, email, phone, *texts.values())
    ):
        raise FilingInvalid(errors)
    return FilingForm(
        unit_code=unit_code,
        subject=subject,
        postcode=str(postcode),
        email=str(email),
        contact_phone=str(phone),
        starts_on=starts_on,
        ends_on=ends_on,
        head_count=head_count,
        **{name: str(value) for name, value in texts.items()},
    )


def _text(form: Mapping[str, object], name: str, limit: int, errors: list[FieldError]) -> str | None:
    value = form.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        errors.append(FieldError(name, f"is required text of at most {limit} characters"))
        return None
    return value.strip()


def _matching(
    form: Mapping[str, object], name: str, pattern: re.Pattern[str], message: str, errors: list[FieldError]
) -> str | None:
    value = form.get(name)
    text = value.strip() if isinstance(value, str) else ""
    if len(text) > EMAIL_CHARACTERS_MAX or pattern.fullmatch(text) is None:
        errors.append(FieldError(name, message))
        return None
    return text


def _unit_code(value: object, organisation: Organisation, errors: list[FieldError]) -> InstitutionCode | None:
    if not isinstance(value, str) or not value:
        errors.append(FieldError("unit_code", "is required: the code of the applying institution"))
        return None
    try:
        return organisation.institution(value).code
    except UnknownOrganisationCode:
        errors.append(FieldError("unit_code", "is not an institution"))
        return None


def _subject(value: object, errors: list[FieldError]) -> Subject | None:
    if value not in {subject.value for subject in Subject}:
        errors.append(FieldError("subject", "must be one of public, professional"))
        return None
    return Subject(str(value))


def _day(form: Mapping[str, object], name: str, errors: list[FieldError]) -> date | None:
    value = form.get(name)
    try:
        if isinstance(value, str) and _DAY.fullmatch(value):
            return date.fromisoformat(value)
    except ValueError:
        pass
    errors.append(FieldError(name, "must be a day written YYYY-MM-DD"))
    return None


def _span(
    form: Mapping[str, object], years: Collection[int], errors: list[FieldError]
) -> tuple[date | None, date | None]:
    starts_on, ends_on = _day(form, "starts_on", errors), _day(form, "ends_on", errors)
    if starts_on is None or ends_on is None:
        return starts_on, ends_on
    if starts_on.year not in years:
        errors.append(FieldError("starts_on", f"the training year {starts_on.year} has no rules"))
        return None, None
    problem = None
    if ends_on < starts_on:
        problem = "must not be before starts_on"
    elif ends_on.year != starts_on.year:
        problem = "must be in the year of starts_on: a training's hours count in one training year"
    elif (ends_on - starts_on).days >= OFFLINE_RECORD_DAYS_MAX:
        problem = f"a training lasts at most {OFFLINE_RECORD_DAYS_MAX} days"
    if problem is not None:
        errors.append(FieldError("ends_on", problem))
        return None, None
    return starts_on, ends_on


def _head_count(value: object, errors: list[FieldError]) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= ROWS_MAX:
        errors.append(FieldError("head_count", f"must be a whole number from 1 to {ROWS_MAX}"))
        return None
    return value


# ---------------------------------------------------------------- listing


@dataclass(frozen=True, slots=True)
class FilingQuery:
    """A page of filings, newest first: with this status, of this unit, filed with this department."""

    listing: Listing = field(default_factory=Listing)
    status: FilingStatus | None = None
    unit_code: str | None = None
    department_code: str | None = None


@dataclass(frozen=True, slots=True)
class FilingPage:
    """Filings newest first; ``next_cursor`` fetches the older ones, ``None`` at the end."""

    filings: tuple[Filing, ...]
    next_cursor: str | None


def parse_filing_query(parameters: Mapping[str, str]) -> FilingQuery:
    """The query in a listing's URL: ``status``, ``cursor`` and ``limit``.

    Raises ``QueryInvalid`` naming every parameter at fault, unknown ones too.
    """
    errors: list[FieldError] = []
    listing = parse_listing(parameters, errors, frozenset({"status"}))
    status = parameters.get("status")
    if status is not None and status not in {member.value for member in FilingStatus}:
        errors.append(FieldError("status", f"must be one of {', '.join(member.value for member in FilingStatus)}"))
    if errors:
        raise QueryInvalid(errors)
    return FilingQuery(listing=listing, status=None if status is None else FilingStatus(status))


# ---------------------------------------------------------------- attendance


@dataclass(frozen=True, slots=True)
class AttendanceLine:
    """One line of an attendance file, valid on its own: a person and the hours they attended."""

    named: NamedLine
    hours: Hours

    @property
    def line(self) -> int:
        return self.named.line


def read_attendance(sheet: Sheet, filing: Filing, rules: YearRules) -> tuple[list[AttendanceLine], Problems]:
    """The valid lines of an attendance file, and the problems of the others.

    Columns: 身份证号 (``id_number``), 姓名 (``name``), and 学时 (``hours``) or 天数 (``days``), or both
    with one of them filled on each line; a day counts the year's ``hours_per_day``. Raises
    ``FileUnreadable`` for a header without these columns.
    """
    positions = positions_of(sheet.header, (Column.ID_NUMBER, Column.NAME), (Column.HOURS, Column.DAYS))
    if Column.HOURS not in positions and Column.DAYS not in positions:
        raise FileUnreadable(f"the header line lacks {Column.HOURS.heading} or {Column.DAYS.heading}")
    problems = Problems()
    if len(sheet.rows) > filing.form.head_count:
        extra = sheet.rows[filing.form.head_count]
        problems.add(extra.number, None, f"the file has more people than the {filing.form.head_count} filed")
    limit = filing.hours_max(rules)
    too_many = f"is more than the {filing.form.days} day(s) of the training allow ({format_hours(limit)} hours)"
    valid: list[AttendanceLine] = []
    for line in sheet.rows:
        id_number = id_number_in(line, positions[Column.ID_NUMBER], problems)
        name = name_in(line, positions[Column.NAME], problems)
        attended = _attended(line, positions, rules, problems)
        if attended is not None and attended[0] > limit:
            problems.add(line.number, attended[1], too_many)
            attended = None
        if id_number is not None and name is not None and attended is not None:
            valid.append(AttendanceLine(NamedLine(line.number, id_number, name), attended[0]))
    people = [(line.line, line.named.id_number) for line in valid]
    repeated = repeated_lines(people, problems, Column.ID_NUMBER, "the same person")
    return [line for line in valid if line.line not in repeated], problems


def _attended(
    line: Line, positions: Mapping[Column, int], rules: YearRules, problems: Problems
) -> tuple[Hours, Column] | None:
    """The hours the line gives, and the column that gave them."""
    hours_text = line.cell(positions[Column.HOURS]) if Column.HOURS in positions else ""
    days_text = line.cell(positions[Column.DAYS]) if Column.DAYS in positions else ""
    if hours_text and days_text:
        problems.add(line.number, Column.DAYS, "give hours or days, not both")
        return None
    if hours_text or Column.DAYS not in positions:
        hours = hours_in(line, positions[Column.HOURS], problems)
        return None if hours is None else (hours, Column.HOURS)
    if not days_text:
        problems.add(line.number, Column.DAYS, "is empty: give hours or days")
        return None
    try:
        days = parse_hours(days_text[:CELL_CHARACTERS_READ_MAX])  # days in hundredths, exact as hours are
    except ValueError as exc:
        problems.add(line.number, Column.DAYS, str(exc))
        return None
    hundredths, remainder = divmod(days * rules.hours_per_day, 100)
    if remainder:
        problems.add(line.number, Column.DAYS, "does not make a whole number of hundredths of an hour: give hours")
        return None
    return Hours(hundredths), Column.DAYS


def attendance_record_id(filing: Filing, person: RegisteredPerson) -> str:
    """The record of one person's attendance of one training: the same for every upload of it."""
    return f"{filing.number}/{person.id}"


def attendance_credit(filing: Filing, line: AttendanceLine, person: RegisteredPerson, actor: str) -> Credit:
    """The credit of one person's attendance of an approved training."""
    if filing.evidence_hash is None:
        raise ValueError("only an approved filing's attendance is credited")
    return new_credit(
        person_id=person.id,
        source=Source.OFFLINE.value,
        record_id=attendance_record_id(filing, person),
        course_code=filing.number,
        course_title=filing.form.training_name,
        subject=filing.form.subject.value,
        hours=format_hours(line.hours),
        completed_at=filing.completed_at,
        actor=actor,
        payload_hash=filing.evidence_hash,
    )
