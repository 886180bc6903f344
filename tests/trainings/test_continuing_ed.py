"""Continuing education's file, pure: its columns, every bad line with its reason, the subject that
defaults to professional, and a record id that is the same whatever file brings the record."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from ledger.model import BEIJING, PersonId, Subject
from sso.id_numbers import make_id_number
from trainings.continuing_ed import read_recognised, recognised_credit, record_id_of
from trainings.errors import FileUnreadable, RowsInvalid
from trainings.ports import RegisteredPerson
from trainings.sheets import FileFormat, Line, Sheet

from .forms import RULES_2021

RULES = {2021: RULES_2021}
TODAY = date(2021, 12, 1)
WANG = make_id_number("430102", date(1990, 3, 7), 124, today=TODAY)
LI = make_id_number("430102", date(1985, 6, 1), 13, today=TODAY)
HEADER = ("身份证号", "姓名", "项目名称", "学时", "完成日期", "科目")


def _sheet(header: tuple[str, ...], *rows: tuple[str, ...]) -> Sheet:
    return Sheet(FileFormat.CSV_UTF8, Line(1, header), tuple(Line(number, row) for number, row in enumerate(rows, 2)))


def test_lines_are_read_with_their_subject_professional_unless_public() -> None:
    sheet = _sheet(
        HEADER,
        (WANG, "王芳", "心血管疾病诊疗新进展", "12", "2021-05-20", ""),
        (LI, "李强", "事业单位人事制度解读", "6.5", "2021/6/2", "公共"),
        (LI, "李强", "急诊医学", "3", "2021-06-03", "专业"),
    )

    lines, problems = read_recognised(sheet, RULES, TODAY)

    assert not problems
    assert [(line.line, line.project, line.hours, line.completed_on, line.subject) for line in lines] == [
        (2, "心血管疾病诊疗新进展", 1200, date(2021, 5, 20), Subject.PROFESSIONAL),
        (3, "事业单位人事制度解读", 650, date(2021, 6, 2), Subject.PUBLIC),
        (4, "急诊医学", 300, date(2021, 6, 3), Subject.PROFESSIONAL),
    ]


def test_the_subject_column_may_be_left_out_and_the_headings_given_in_english() -> None:
    sheet = _sheet(
        ("id_number", "name", "project", "hours", "completed_on"), (WANG, "王芳", "医学伦理", "2", "2021-01-04")
    )

    lines, _problems = read_recognised(sheet, RULES, TODAY)

    assert [line.subject for line in lines] == [Subject.PROFESSIONAL]


def test_every_bad_line_is_reported_with_its_reason() -> None:
    sheet = _sheet(
        HEADER,
        (WANG, "王芳", "", "2", "2021-05-20", ""),  # 2
        (WANG, "王芳", "医学伦理", "2", "2021-02-30", ""),  # 3
        (WANG, "王芳", "医学伦理", "2", "2021-12-02", ""),  # 4: after today
        (WANG, "王芳", "医学伦理", "2", "2020-12-02", ""),  # 5: no rules for 2020
        (WANG, "王芳", "医学伦理", "226", "2021-05-20", ""),  # 6: over 30 days of 7.5 hours
        (WANG, "王芳", "医学伦理", "2", "2021-05-20", "选修"),  # 7
        (WANG, "王芳", "医学伦理", "2", "2021-05-20", ""),  # 8: valid
        (WANG, "王芳", "医学伦理", "3", "2021-05-20", "公共"),  # 9: the same record as line 8
        (WANG, "王芳", "医学伦理", "3.5", "2021-05-21", "公共"),  # 10: another day: fine
    )

    lines, problems = read_recognised(sheet, RULES, TODAY)

    with pytest.raises(RowsInvalid) as raised:
        problems.raise_any()
    assert [(error.field, error.message) for error in raised.value.errors] == [
        ("line 2: project", "must be the project's name, at most 100 characters"),
        ("line 3: completed_on", "must be a day written YYYY-MM-DD"),
        ("line 4: completed_on", "must not be after today"),
        ("line 5: completed_on", "the training year 2020 has no rules"),
        ("line 6: hours", "must be at most 225.00 for one project"),
        ("line 7: subject", "must be 公共 (public) or 专业 (professional), or empty for 专业"),
        ("line 9: project", "the same person, project and day as line 8"),
    ]
    assert str(raised.value) == "7 bad row(s); nothing was imported"
    assert [line.line for line in lines] == [8, 10]


def test_a_header_without_the_required_columns_is_refused() -> None:
    with pytest.raises(FileUnreadable, match="lacks 项目名称、完成日期"):
        read_recognised(_sheet(("身份证号", "姓名", "学时"), (WANG, "王芳", "2")), RULES, TODAY)


def test_a_credit_is_the_same_record_whatever_file_brings_it() -> None:
    sheet = _sheet(HEADER, (WANG, "王芳", "医学伦理", "2", "2021-05-20", "公共"))
    (line,), _problems = read_recognised(sheet, RULES, TODAY)
    person = RegisteredPerson(PersonId("a" * 32), "王芳", "430100-0001")

    first = recognised_credit(line, person, "1" * 64, "operator:1")
    second = recognised_credit(line, person, "2" * 64, "command_line")

    assert first.record_id == second.record_id == record_id_of(line, person)
    assert first.record_id.startswith("CE-")
    assert first.content_hash == second.content_hash
    assert (first.course_code, first.course_title, first.subject, first.hours) == (
        "医学伦理",
        "医学伦理",
        Subject.PUBLIC,
        200,
    )
    assert first.completed_at == datetime(2021, 5, 20, 23, 59, 59, tzinfo=BEIJING)
    assert WANG not in first.record_id
