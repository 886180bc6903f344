"""What attendance files and continuing-education files share: their columns, the checks of the person
on each line, the errors gathered line by line, and what an import did.

A file goes in whole or not at all, so every line is checked before anything is written and every
error is reported at once, as ``line 4: hours`` with its reason. No message repeats a cell: the
cells are ID numbers and names.
"""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Final

from ledger.errors import FieldError
from ledger.model import BEIJING, Hours, PersonId, Source, Subject, parse_hours
from sso.errors import InvalidIdNumber
from sso.id_numbers import IdNumber, mask_id_number, normalise_id_number
from trainings.errors import FileUnreadable, RowsInvalid
from trainings.ports import RegisteredPerson
from trainings.sheets import FileFormat, Line

__all__ = [
    "NAME_CHARACTERS_MAX",
    "Column",
    "ImportPage",
    "ImportRecord",
    "ImportReport",
    "ImportedRow",
    "Listing",
    "Problems",
    "RowOutcome",
    "end_of_day",
    "parse_listing",
    "positions_of",
]

NAME_CHARACTERS_MAX: Final = 30
CELL_CHARACTERS_READ_MAX: Final = 64
"""An ID number's cell is checked on at most this many characters: anything longer is no ID number."""
UNKNOWN_PERSON: Final = "no registered person in reach has this ID number"
NAME_DIFFERS: Final = "does not match the name registered for this ID number"
_BLANKS: Final = str.maketrans("", "", " \t\u3000")
_MIDDLE_DOTS: Final = str.maketrans({"•": "·", "・": "·", "．": "·", ".": "·"})


PAGE_SIZE_DEFAULT: Final = 50
PAGE_SIZE_MAX: Final = 200
CURSOR_MAX: Final = 2**31 - 1
PARAMETER_NAME_CHARACTERS_MAX: Final = 40


@dataclass(frozen=True, slots=True)
class Listing:
    """Where a page of a listing starts (below the id ``before_id``) and how many it holds."""

    before_id: int | None = None
    limit: int = PAGE_SIZE_DEFAULT


def parse_listing(parameters: Mapping[str, str], errors: list[FieldError], others: frozenset[str]) -> Listing:
    """The ``cursor`` and ``limit`` of a listing's URL; adds to ``errors`` every parameter at fault,
    those neither these two nor one of ``others`` too."""
    errors += [
        FieldError(name[:PARAMETER_NAME_CHARACTERS_MAX], "is not a parameter of this listing")
        for name in parameters
        if name not in {"cursor", "limit", *others}
    ]
    cursor = _whole_number(parameters, "cursor", CURSOR_MAX, "must be a next_cursor this listing gave", errors)
    limit = _whole_number(
        parameters, "limit", PAGE_SIZE_MAX, f"must be a whole number from 1 to {PAGE_SIZE_MAX}", errors
    )
    return Listing(before_id=cursor, limit=PAGE_SIZE_DEFAULT if limit is None else limit)


def _whole_number(
    parameters: Mapping[str, str], name: str, largest: int, message: str, errors: list[FieldError]
) -> int | None:
    text = parameters.get(name)
    if text is None:
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= len(str(largest))) or not 1 <= int(text) <= largest:
        errors.append(FieldError(name, message))
        return None
    return int(text)


class Column(enum.StrEnum):
    """A column a file may have, by the name errors give it."""

    ID_NUMBER = "id_number"
    NAME = "name"
    HOURS = "hours"
    DAYS = "days"
    PROJECT = "project"
    COMPLETED_ON = "completed_on"
    SUBJECT = "subject"

    @property
    def heading(self) -> str:
        """The Chinese heading of the column, as files name it."""
        return _HEADINGS[self]


_HEADINGS: Final[Mapping[Column, str]] = {
    Column.ID_NUMBER: "身份证号",
    Column.NAME: "姓名",
    Column.HOURS: "学时",
    Column.DAYS: "天数",
    Column.PROJECT: "项目名称",
    Column.COMPLETED_ON: "完成日期",
    Column.SUBJECT: "科目",
}
_COLUMNS_BY_HEADING: Final[Mapping[str, Column]] = {
    **{heading: column for column, heading in _HEADINGS.items()},
    **{column.value: column for column in Column},
    "身份证号码": Column.ID_NUMBER,
}


def positions_of(header: Line, required: Collection[Column], optional: Collection[Column] = ()) -> dict[Column, int]:
    """Where each column the header line names stands (from 0); blank headings are ignored.

    Raises ``FileUnreadable`` naming every problem: a heading that is not one of these columns
    (by its position, since a file without a header would put an ID number there), a column named
    twice, a required column missing.
    """
    allowed = [column for column in Column if column in required or column in optional]
    expected = "、".join(column.heading for column in allowed)
    found: dict[Column, int] = {}
    problems: list[str] = []
    for position, heading in enumerate(header.cells):
        if not heading:
            continue
        column = _COLUMNS_BY_HEADING.get(heading.replace(" ", "").casefold())
        if column is None or column not in allowed:
            problems.append(f"column {position + 1} of the header line (line {header.number}) is not one of {expected}")
        elif column in found:
            problems.append(f"the header line names {column.heading} twice")
        else:
            found[column] = position
    missing = [column.heading for column in allowed if column in required and column not in found]
    if missing:
        problems.append(f"the header line lacks {'、'.join(missing)}")
    if problems:
        raise FileUnreadable("; ".join(problems))
    return found


@dataclass(slots=True)
class Problems:
    """Every error found in a file, reported in the order of its lines."""

    _found: list[tuple[int, int, FieldError]] = field(default_factory=list)

    def add(self, line: int, column: Column | None, message: str) -> None:
        where = f"line {line}" if column is None else f"line {line}: {column.value}"
        self._found.append((line, len(self._found), FieldError(where, message)))

    def __bool__(self) -> bool:
        return bool(self._found)

    def raise_any(self) -> None:
        """Raises ``RowsInvalid`` with every error, by line, when there is any."""
        if self._found:
            raise RowsInvalid([error for _line, _order, error in sorted(self._found, key=lambda found: found[:2])])


def id_number_in(line: Line, position: int, problems: Problems) -> IdNumber | None:
    """The line's valid ID number, or ``None`` with the reason added to ``problems``."""
    text = line.cell(position)
    if not text:
        problems.add(line.number, Column.ID_NUMBER, "is empty")
        return None
    try:
        return normalise_id_number(text[:CELL_CHARACTERS_READ_MAX])
    except InvalidIdNumber as exc:
        problems.add(line.number, Column.ID_NUMBER, exc.detail)
        return None


def name_in(line: Line, position: int, problems: Problems) -> str | None:
    """The line's name, or ``None`` with the reason added to ``problems``."""
    name = line.cell(position)
    if not name:
        problems.add(line.number, Column.NAME, "is empty")
        return None
    if len(name) > NAME_CHARACTERS_MAX:
        problems.add(line.number, Column.NAME, f"must be at most {NAME_CHARACTERS_MAX} characters")
        return None
    return name


def hours_in(line: Line, position: int, problems: Problems) -> Hours | None:
    """The line's hours, exact, or ``None`` with the reason added to ``problems``."""
    text = line.cell(position)
    if not text:
        problems.add(line.number, Column.HOURS, "is empty")
        return None
    try:
        return parse_hours(text[:CELL_CHARACTERS_READ_MAX])
    except ValueError as exc:
        problems.add(line.number, Column.HOURS, str(exc))
        return None


@dataclass(frozen=True, slots=True)
class NamedLine:
    """A line's person as the file gives them: what ``matched_people`` checks against the registry."""

    line: int
    id_number: IdNumber
    name: str

    def __repr__(self) -> str:
        return f"NamedLine(line={self.line})"


def matched_people(
    lines: Sequence[NamedLine],
    people: Mapping[IdNumber, RegisteredPerson],
    reaches: Callable[[str], bool],
    problems: Problems,
) -> dict[int, RegisteredPerson]:
    """The registered person of each line, by line number, where the ID number is registered in a unit
    the uploader ``reaches`` and the name is theirs; the others are added to ``problems``.

    A person outside the uploader's reach is reported as unregistered: the answer must not tell
    whether an ID number is registered elsewhere.
    """
    found: dict[int, RegisteredPerson] = {}
    for named in lines:
        person = people.get(named.id_number)
        if person is None or not reaches(person.unit_code):
            problems.add(named.line, Column.ID_NUMBER, UNKNOWN_PERSON)
        elif not same_name(named.name, person.name):
            problems.add(named.line, Column.NAME, NAME_DIFFERS)
        else:
            found[named.line] = person
    return found


def same_name(given: str, registered: str) -> bool:
    """Whether a name in a file is the registered one: blanks, full-width forms and middle dots aside."""
    return _name_key(given) == _name_key(registered)


def _name_key(name: str) -> str:
    return unicodedata.normalize("NFKC", name).translate(_BLANKS).translate(_MIDDLE_DOTS)


def repeated_lines(keys: Sequence[tuple[int, object]], problems: Problems, column: Column, what: str) -> set[int]:
    """The lines whose key (a person, a person's record) an earlier line has; each is added to ``problems``."""
    first: dict[object, int] = {}
    repeated: set[int] = set()
    for line, key in keys:
        if key in first:
            problems.add(line, column, f"{what} as line {first[key]}")
            repeated.add(line)
        else:
            first[key] = line
    return repeated


def end_of_day(day: date) -> datetime:
    """The last instant of a day in Beijing time: when a training that ends that day is completed."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=BEIJING)


class RowOutcome(enum.StrEnum):
    """What the ledger made of one line of an imported file."""

    APPENDED = "appended"
    """Counted now."""
    DUPLICATE = "duplicate"
    """Counted already, with the same content, by an earlier import: nothing changed."""


@dataclass(frozen=True, slots=True)
class ImportedRow:
    """One line of an imported file and what became of it."""

    line: int
    person_id: PersonId
    id_number: IdNumber
    subject: Subject
    hours: Hours
    record_id: str
    outcome: RowOutcome

    @property
    def id_number_masked(self) -> str:
        return mask_id_number(self.id_number)

    def __repr__(self) -> str:
        return f"ImportedRow(line={self.line}, person_id={self.person_id!r}, outcome={self.outcome!r})"


@dataclass(frozen=True, slots=True)
class ImportRecord:
    """An import as the hub keeps it: which file, from whom, and what it added; never its rows."""

    id: int
    source: Source
    training_id: int | None
    file_sha256: str
    file_format: FileFormat
    rows: int
    appended: int
    duplicates: int
    imported_at: datetime
    imported_by: str


@dataclass(frozen=True, slots=True)
class ImportReport:
    """An import just made, with each of its lines."""

    record: ImportRecord
    rows: tuple[ImportedRow, ...]


@dataclass(frozen=True, slots=True)
class ImportPage:
    """Imports newest first; ``next_cursor`` fetches the older ones, ``None`` at the end."""

    imports: tuple[ImportRecord, ...]
    next_cursor: str | None
