"""Continuing education (继续教育), pure: a file of recognised hours read into ledger credits.

The file is a CSV in UTF-8 (with or without a byte-order mark) or GB18030, or the first sheet of an
.xlsx workbook, with a header line and one line per project a person completed::

    身份证号,姓名,项目名称,学时,完成日期,科目
    430102199003071242,王芳,心血管疾病诊疗新进展,12,2021-05-20,专业
    430102199003071253,李强,事业单位人事制度解读,6.5,2021-06-02,公共

- 身份证号 and 姓名: a registered person, with the name they registered;
- 项目名称: the project (at most ``PROJECT_CHARACTERS_MAX`` characters): the credit's course code and title;
- 学时: hours, a decimal with at most two places, above zero, at most the ledger's limit of one record;
- 完成日期: the day it was completed, ``YYYY-MM-DD`` (or ``YYYY/M/D``), not after today, in a year with rules;
- 科目 (optional column; an empty cell too): 公共 (public) or 专业 (professional, the default).

The headings may also be given in English: ``id_number, name, project, hours, completed_on, subject``.
One person's project completed on one day is one record (its id is derived from the person, the
project and the day): importing it again changes nothing, and importing it with other hours or
another subject refuses the file. The hours are completed at the end of that day, Beijing time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Final

from ledger.model import (
    Credit,
    Hours,
    Source,
    Subject,
    YearRules,
    canonical_json,
    format_hours,
    new_credit,
    sha256_hex,
)
from trainings.model import (
    Column,
    NamedLine,
    Problems,
    end_of_day,
    hours_in,
    id_number_in,
    name_in,
    positions_of,
    repeated_lines,
)
from trainings.ports import RegisteredPerson
from trainings.sheets import Line, Sheet

__all__ = ["PROJECT_CHARACTERS_MAX", "RecognisedLine", "read_recognised", "recognised_credit", "record_id_of"]

PROJECT_CHARACTERS_MAX: Final = 100
RECORD_PREFIX: Final = "CE-"
RECORD_HASH_CHARACTERS: Final = 40
SUBJECTS: Final[Mapping[str, Subject]] = {
    "": Subject.PROFESSIONAL,
    "专业": Subject.PROFESSIONAL,
    "专业科目": Subject.PROFESSIONAL,
    "professional": Subject.PROFESSIONAL,
    "公共": Subject.PUBLIC,
    "公共科目": Subject.PUBLIC,
    "public": Subject.PUBLIC,
}
_DAY: Final = re.compile(r"([0-9]{4})[-/]([0-9]{1,2})[-/]([0-9]{1,2})", re.ASCII)


@dataclass(frozen=True, slots=True)
class RecognisedLine:
    """One line of a continuing-education file, valid on its own."""

    named: NamedLine
    project: str
    hours: Hours
    completed_on: date
    subject: Subject

    @property
    def line(self) -> int:
        return self.named.line


def read_recognised(sheet: Sheet, rules: Mapping[int, YearRules], today: date) -> tuple[list[RecognisedLine], Problems]:
    """The valid lines of a continuing-education file, and the problems of the others.

    ``rules`` are the years' rules by year, ``today`` the day in Beijing. Raises ``FileUnreadable``
    for a header without the columns.
    """
    required = (Column.ID_NUMBER, Column.NAME, Column.PROJECT, Column.HOURS, Column.COMPLETED_ON)
    positions = positions_of(sheet.header, required, (Column.SUBJECT,))
    problems = Problems()
    valid: list[RecognisedLine] = []
    for line in sheet.rows:
        id_number = id_number_in(line, positions[Column.ID_NUMBER], problems)
        name = name_in(line, positions[Column.NAME], problems)
        project = _project(line, positions[Column.PROJECT], problems)
        completed_on = _completed_on(line, positions[Column.COMPLETED_ON], rules, today, problems)
        hours = hours_in(line, positions[Column.HOURS], problems)
        if hours is not None and completed_on is not None:
            hours = _within_limit(line, hours, rules[completed_on.year], problems)
        subject = _subject(line, positions.get(Column.SUBJECT), problems)
        if (
            id_number is None
            or name is None
            or project is None
            or completed_on is None
            or hours is None
            or subject is None
        ):
            continue
        valid.append(RecognisedLine(NamedLine(line.number, id_number, name), project, hours, completed_on, subject))
    records = [(line.line, (line.named.id_number, line.project, line.completed_on)) for line in valid]
    repeated = repeated_lines(records, problems, Column.PROJECT, "the same person, project and day")
    return [line for line in valid if line.line not in repeated], problems


def _project(line: Line, position: int, problems: Problems) -> str | None:
    project = line.cell(position)
    if not project or len(project) > PROJECT_CHARACTERS_MAX:
        problems.add(
            line.number, Column.PROJECT, f"must be the project's name, at most {PROJECT_CHARACTERS_MAX} characters"
        )
        return None
    return project


def _completed_on(
    line: Line, position: int, rules: Mapping[int, YearRules], today: date, problems: Problems
) -> date | None:
    match = _DAY.fullmatch(line.cell(position))
    try:
        day = None if match is None else date(*(int(part) for part in match.groups()))
    except ValueError:
        day = None
    if day is None:
        problems.add(line.number, Column.COMPLETED_ON, "must be a day written YYYY-MM-DD")
    elif day > today:
        problems.add(line.number, Column.COMPLETED_ON, "must not be after today")
    elif day.year not in rules:
        problems.add(line.number, Column.COMPLETED_ON, f"the training year {day.year} has no rules")
    else:
        return day
    return None


def _within_limit(line: Line, hours: Hours, rules: YearRules, problems: Problems) -> Hours | None:
    limit = rules.record_hours_max(Source.CONTINUING_ED)
    if hours > limit:
        problems.add(line.number, Column.HOURS, f"must be at most {format_hours(limit)} for one project")
        return None
    return hours


def _subject(line: Line, position: int | None, problems: Problems) -> Subject | None:
    text = "" if position is None else line.cell(position)
    subject = SUBJECTS.get(text.casefold())
    if subject is None:
        problems.add(line.number, Column.SUBJECT, "must be 公共 (public) or 专业 (professional), or empty for 专业")
    return subject


def record_id_of(line: RecognisedLine, person: RegisteredPerson) -> str:
    """The record of one person's project completed on one day, whatever file brings it."""
    key = {"person_id": person.id, "project": line.project, "completed_on": line.completed_on.isoformat()}
    return RECORD_PREFIX + sha256_hex(canonical_json(key))[:RECORD_HASH_CHARACTERS]


def recognised_credit(line: RecognisedLine, person: RegisteredPerson, file_sha256: str, actor: str) -> Credit:
    """The credit of one recognised project; the file's SHA-256 is its payload hash."""
    return new_credit(
        person_id=person.id,
        source=Source.CONTINUING_ED.value,
        record_id=record_id_of(line, person),
        course_code=line.project,
        course_title=line.project,
        subject=line.subject.value,
        hours=format_hours(line.hours),
        completed_at=end_of_day(line.completed_on),
        actor=actor,
        payload_hash=file_sha256,
    )
