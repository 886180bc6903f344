"""The offline training's pure rules: the filing form with every field at fault at once, where a filing
goes, and the lines of an attendance file with every bad line and its reason."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from ledger.model import BEIJING, Subject
from sso.id_numbers import make_id_number
from sso.organisation import DepartmentCode, load_organisation
from trainings.errors import FileUnreadable, FilingInvalid, RowsInvalid
from trainings.model import UNKNOWN_PERSON, NamedLine, Problems, matched_people, same_name
from trainings.offline import (
    FILING_FIELDS,
    Filing,
    FilingStatus,
    filing_id_of,
    parse_filing,
    read_attendance,
    receiving_department,
)
from trainings.ports import RegisteredPerson
from trainings.sheets import Line, Sheet

from .forms import RULES_2021, filing_form

ORGANISATION = load_organisation(Path(__file__).parents[2] / "config" / "organisation" / "hunan.json")
RULES = RULES_2021
WANG = make_id_number("430102", date(1990, 3, 7), 124, today=date(2021, 12, 1))
LI = make_id_number("430102", date(1985, 6, 1), 13, today=date(2021, 12, 1))


def test_a_valid_form_is_read_with_its_span() -> None:
    form = parse_filing(filing_form(), ORGANISATION, {2021})

    assert (form.unit_code, form.subject, form.head_count) == ("430100-0001", Subject.PROFESSIONAL, 30)
    assert (form.starts_on, form.ends_on, form.days, form.year) == (date(2021, 9, 6), date(2021, 9, 8), 3, 2021)


def test_every_field_at_fault_is_named_at_once() -> None:
    form = dict.fromkeys(FILING_FIELDS, "") | {"head_count": 0, "colour": "red"}

    with pytest.raises(FilingInvalid) as invalid:
        parse_filing(form, ORGANISATION, {2021})

    fields = [error.field for error in invalid.value.errors]
    assert fields == ["colour", *FILING_FIELDS]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"unit_code": "430100-health"}, "unit_code", "is not an institution"),
        ({"subject": "公共"}, "subject", "must be one of public, professional"),
        ({"postcode": "41000"}, "postcode", "must be 6 digits"),
        ({"email": "peixun.example.cn"}, "email", "must be an e-mail address"),
        ({"contact_phone": "12345"}, "contact_phone", "must be a mobile number or a landline"),
        ({"starts_on": "2021-9-6"}, "starts_on", "must be a day written YYYY-MM-DD"),
        ({"ends_on": "2021-02-30"}, "ends_on", "must be a day written YYYY-MM-DD"),
        ({"ends_on": "2021-09-05"}, "ends_on", "must not be before starts_on"),
        ({"starts_on": "2021-12-30", "ends_on": "2022-01-02"}, "ends_on", "in the year of starts_on"),
        ({"ends_on": "2021-10-06"}, "ends_on", "at most 30 days"),
        ({"starts_on": "2019-09-06", "ends_on": "2019-09-08"}, "starts_on", "the training year 2019 has no rules"),
        ({"head_count": 1001}, "head_count", "from 1 to 1000"),
        ({"head_count": True}, "head_count", "from 1 to 1000"),
        ({"plan": "计" * 4001}, "plan", "at most 4000 characters"),
        ({"training_name": "   "}, "training_name", "is required text"),
    ],
)
def test_a_bad_field_is_named_with_its_reason(changes: dict[str, object], field: str, message: str) -> None:
    with pytest.raises(FilingInvalid) as invalid:
        parse_filing(filing_form(**changes), ORGANISATION, {2021})

    assert [error.field for error in invalid.value.errors] == [field]
    assert message in invalid.value.errors[0].message


def test_a_landline_a_thirty_day_training_and_surrounding_blanks_are_fine() -> None:
    form = parse_filing(
        filing_form(contact_phone="0731-84567890", starts_on="2021-03-01", ends_on="2021-03-30", organiser=" 中心 "),
        ORGANISATION,
        {2021},
    )

    assert (form.contact_phone, form.days, form.organiser) == ("0731-84567890", 30, "中心")


@pytest.mark.parametrize(
    ("unit", "subject", "department"),
    [
        ("430100-0001", Subject.PROFESSIONAL, "430100-health"),  # 长沙市中心医院: its competent department
        ("430100-0001", Subject.PUBLIC, "430100-personnel"),  # … and the personnel department of 长沙市
        ("430181-0002", Subject.PROFESSIONAL, "430181-education"),  # 浏阳市第一中学
        ("430181-0002", Subject.PUBLIC, "430181-personnel"),
        ("430000-0001", Subject.PUBLIC, "430000-personnel"),  # 湖南省人民医院: the province's
    ],
)
def test_a_filing_goes_to_the_competent_or_the_personnel_department(
    unit: str, subject: Subject, department: str
) -> None:
    assert receiving_department(ORGANISATION, unit, subject).code == department


def test_filing_numbers_carry_the_year_and_are_read_back() -> None:
    filing = _filing()

    assert filing.number == "XXPX-2021-000042"
    assert filing_id_of(filing.number) == 42
    assert [filing_id_of(text) for text in ("XXPX-2021-42", "xxpx-2021-000042", "XXPX-2021-000042 ", "42")] == [
        None,
        None,
        None,
        None,
    ]


def test_the_evidence_hash_changes_with_the_approval() -> None:
    filing = _filing()
    moment = datetime(2021, 9, 1, tzinfo=UTC)

    assert filing.evidence_hash_at(moment, "supervisor:3") == filing.evidence_hash_at(moment, "supervisor:3")
    assert filing.evidence_hash_at(moment, "supervisor:3") != filing.evidence_hash_at(moment, "supervisor:4")
    assert filing.completed_at == datetime(2021, 9, 8, 23, 59, 59, tzinfo=BEIJING)


# ---------------------------------------------------------------- attendance


def _filing(**changes: object) -> Filing:
    return Filing(
        id=42,
        form=parse_filing(filing_form(**changes), ORGANISATION, {2021}),
        department_code=DepartmentCode("430100-health"),
        status=FilingStatus.APPROVED,
        filed_at=datetime(2021, 8, 1, tzinfo=UTC),
        filed_by="operator:1",
        evidence_hash="0" * 64,
    )


def _sheet(header: tuple[str, ...], *rows: tuple[str, ...]) -> Sheet:
    from trainings.sheets import FileFormat

    return Sheet(FileFormat.CSV_UTF8, Line(1, header), tuple(Line(number, row) for number, row in enumerate(rows, 2)))


def test_hours_and_days_become_exact_hours() -> None:
    sheet = _sheet(
        ("身份证号", "姓名", "学时", "天数"),
        (WANG, "王芳", "7.25", ""),
        (LI, "李强", "", "2.5"),
    )

    lines, problems = read_attendance(sheet, _filing(), RULES)

    assert not problems
    assert [(line.line, line.named.name, line.hours) for line in lines] == [(2, "王芳", 725), (3, "李强", 1875)]


def test_every_bad_line_is_reported_with_its_reason() -> None:
    bad_check_digit = WANG[:17] + ("0" if WANG[17] != "0" else "1")
    sheet = _sheet(
        ("id_number", "name", "hours", "days"),
        (bad_check_digit, "王芳", "3", ""),  # 2
        (WANG, "", "3", ""),  # 3
        (WANG, "王芳", "2.555", ""),  # 4: and the same person as line 3 would be, were line 3 valid
        (LI, "李强", "", "4"),  # 5: 4 days of a 3-day training
        (LI[:10], "李强", "-1", ""),  # 6
        (WANG, "王芳", "3", "1"),  # 7
        (WANG, "王芳", "22.5", ""),  # 8: valid, the whole span
        (WANG, "王芳", "1", ""),  # 9: the same person as line 8
        ("", "赵敏", "", ""),  # 10
    )

    lines, problems = read_attendance(sheet, _filing(), RULES)

    with pytest.raises(RowsInvalid) as raised:
        problems.raise_any()
    assert [(error.field, error.message) for error in raised.value.errors] == [
        ("line 2: id_number", "the ID number's check digit does not match its other digits"),
        ("line 3: name", "is empty"),
        ("line 4: hours", "must have at most two decimal places"),
        ("line 5: days", "is more than the 3 day(s) of the training allow (22.50 hours)"),
        ("line 6: id_number", "an ID number has exactly 18 characters"),
        ("line 6: hours", "must be greater than zero"),
        ("line 7: days", "give hours or days, not both"),
        ("line 9: id_number", "the same person as line 8"),
        ("line 10: id_number", "is empty"),
        ("line 10: days", "is empty: give hours or days"),
    ]
    assert [line.line for line in lines] == [8]


def test_more_people_than_filed_is_reported_on_the_first_extra_line() -> None:
    sheet = _sheet(("身份证号", "姓名", "学时"), (WANG, "王芳", "3"), (LI, "李强", "3"))

    _lines, problems = read_attendance(sheet, _filing(head_count=1), RULES)

    with pytest.raises(RowsInvalid, match="1 bad row") as raised:
        problems.raise_any()
    assert [error.field for error in raised.value.errors] == ["line 3"]


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (("身份证号", "姓名"), "lacks 学时 or 天数"),
        (("身份证号", "学时"), "lacks 姓名"),
        (("身份证号", "姓名", "学时", "学时"), "names 学时 twice"),
        ((WANG, "王芳", "3"), "column 1 of the header line (line 1) is not one of 身份证号、姓名、学时、天数"),
    ],
)
def test_a_header_without_the_columns_is_refused_without_repeating_it(header: tuple[str, ...], reason: str) -> None:
    with pytest.raises(FileUnreadable) as refused:
        read_attendance(_sheet(header, (WANG, "王芳", "3")), _filing(), RULES)

    assert reason in str(refused.value)
    assert WANG not in str(refused.value)


def test_people_are_matched_by_id_number_name_and_reach() -> None:
    people = {
        WANG: RegisteredPerson("p-wang", "王芳", "430100-0001"),  # type: ignore[arg-type]
        LI: RegisteredPerson("p-li", "李强", "430181-0001"),  # type: ignore[arg-type]
    }
    named = [NamedLine(2, WANG, " 王 芳 "), NamedLine(3, LI, "李强"), NamedLine(4, WANG, "王方")]
    problems = Problems()

    found = matched_people(named, people, lambda unit: unit == "430100-0001", problems)

    assert list(found) == [2]
    with pytest.raises(RowsInvalid) as raised:
        problems.raise_any()
    assert [(error.field, error.message) for error in raised.value.errors] == [
        ("line 3: id_number", UNKNOWN_PERSON),  # registered, but in a unit out of reach: told as unknown
        ("line 4: name", "does not match the name registered for this ID number"),
    ]


def test_names_match_whatever_their_blanks_and_middle_dots() -> None:
    assert same_name("买买提·艾力", "买买提•艾力")
    assert same_name("欧阳　娜娜", "欧阳娜娜")
    assert not same_name("王芳", "王方")
