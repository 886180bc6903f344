"""What every part of supervision shares, pure: the institutions a supervisor's scope reaches, the
queries of its paged answers and their cursors, the texts of its forms, and the staff messages it sends.

A supervisor acts for one department or one institution (``sso.access``): a personnel department
reaches every institution in its region's subtree, a competent department the institutions it
governs (all of them lie in its region's subtree), an institution its own staff.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

from ledger.model import PersonId
from sso.access.model import Scope, ScopeKind
from sso.organisation import DepartmentKind, Institution, Organisation
from supervision.errors import FieldError, InvalidSupervisionRequest

__all__ = [
    "MESSAGE_BODY_CHARACTERS_MAX",
    "MESSAGE_TITLE_CHARACTERS_MAX",
    "PAGE_SIZE_DEFAULT",
    "PAGE_SIZE_MAX",
    "YEAR_MAX",
    "YEAR_MIN",
    "Clock",
    "Query",
    "QueryName",
    "Reach",
    "StaffMessage",
    "StaffMessageKind",
    "decode_cursor",
    "encode_cursor",
    "form_text",
    "parse_query",
    "reach_of",
    "unknown_fields",
    "utc_now",
]

Clock = Callable[[], datetime]

PAGE_SIZE_DEFAULT: Final = 50
PAGE_SIZE_MAX: Final = 500
YEAR_MIN: Final = 2000
YEAR_MAX: Final = 2100
QUERY_VALUE_CHARACTERS_MAX: Final = 200
PARAMETER_NAME_CHARACTERS_MAX: Final = 40
CURSOR_PARTS_SEPARATOR: Final = "/"

_CURSOR_PART: Final = re.compile(r"[0-9A-Za-z_-]{1,64}", re.ASCII)
_CURSOR: Final = re.compile(r"[0-9A-Za-z_-]{1,200}", re.ASCII)
_PARAMETER_NAME: Final = re.compile(r"[a-z_]{1,40}", re.ASCII)
MESSAGE_TITLE_CHARACTERS_MAX: Final = 100
MESSAGE_BODY_CHARACTERS_MAX: Final = 1000
"""The limits of the staff messages store, which every message supervision sends keeps to."""
FIELD_NAME_CHARACTERS_MAX: Final = 40
UNKNOWN_FIELDS_REPORTED_MAX: Final = 10
_LINE_BREAKS: Final = frozenset("\n\r\t")
_REFUSED_CATEGORIES: Final = frozenset({"Cc", "Cs"})
"""Control characters (but line breaks and tabs in a text) and lone surrogates, which no store keeps."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Reach:
    """The institutions a scope reaches, as one condition a store can put in a query.

    Exactly one field is set: one institution, the institutions one competent department governs,
    or every institution of some regions.
    """

    institution: str | None = None
    department: str | None = None
    regions: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if sum(value is not None for value in (self.institution, self.department, self.regions)) != 1:
            raise ValueError("a reach names exactly one institution, department or set of regions")

    def contains(self, institution: Institution) -> bool:
        """Whether the institution is one of those reached."""
        if self.institution is not None:
            return institution.code == self.institution
        if self.department is not None:
            return institution.department == self.department
        return self.regions is not None and institution.region in self.regions


def reach_of(organisation: Organisation, scope: Scope) -> Reach:
    """The institutions a supervisor's scope reaches. Raises ``UnknownOrganisationCode`` for a unit
    the organisation no longer holds."""
    if scope.kind is ScopeKind.INSTITUTION:
        return Reach(institution=organisation.institution(scope.code).code)
    department = organisation.department(scope.code)
    if department.kind is DepartmentKind.COMPETENT:
        return Reach(department=department.code)
    return Reach(regions=frozenset(region.code for region in organisation.subtree_of(department.region)))


# ---------------------------------------------------------------- queries of paged answers


class QueryName(StrEnum):
    """The URL parameters supervision's answers know."""

    YEAR = "year"
    FORMAT = "format"
    STATUS = "status"
    CURSOR = "cursor"
    LIMIT = "limit"


@dataclass(frozen=True, slots=True)
class Query:
    """The checked URL parameters of one call; each is ``None`` when not given, ``limit`` has its default."""

    year: int | None
    cursor: tuple[str, ...] | None
    limit: int
    values: Mapping[QueryName, str]
    """The other parameters as given, for the caller to check against its own choices."""

    @property
    def training_year(self) -> int:
        """The year of a query parsed with ``year_required``; asking any other query is a bug."""
        if self.year is None:
            raise ValueError("the query was parsed without year_required")
        return self.year


def parse_query(
    parameters: Iterable[tuple[str, str]],
    known: frozenset[QueryName],
    *,
    year_required: bool = False,
    cursor_parts: int = 1,
    choices: Mapping[QueryName, Iterable[str]] | None = None,
) -> Query:
    """The parameters of a call that knows the ``known`` ones; ``cursor`` holds ``cursor_parts`` parts, and
    a parameter of ``choices`` one of its values.

    Raises ``InvalidSupervisionRequest`` listing every parameter at fault, unknown and repeated ones too.
    """
    values: dict[QueryName, str] = {}
    errors: list[FieldError] = []
    for name, value in parameters:
        # A name the caller typed is echoed only when it is short and plain.
        shown = name if _PARAMETER_NAME.fullmatch(name) else "?"
        known_name = next((member for member in known if member.value == name), None)
        if known_name is None:
            errors.append(FieldError(shown, "is not a parameter of this query"))
        elif known_name in values:
            errors.append(FieldError(shown, "is given more than once"))
        elif len(value) > QUERY_VALUE_CHARACTERS_MAX:
            errors.append(FieldError(shown, f"must be at most {QUERY_VALUE_CHARACTERS_MAX} characters"))
        else:
            values[known_name] = value
    year = _year(values.get(QueryName.YEAR), errors, required=year_required)
    cursor = _cursor(values.get(QueryName.CURSOR), cursor_parts, errors)
    limit = _limit(values.get(QueryName.LIMIT), errors)
    for name, allowed in (choices or {}).items():
        if name in values and values[name] not in allowed:
            errors.append(FieldError(name, f"must be one of {', '.join(allowed)}"))
    if errors:
        raise InvalidSupervisionRequest(errors)
    return Query(year=year, cursor=cursor, limit=limit, values=values)


def _year(text: str | None, errors: list[FieldError], *, required: bool) -> int | None:
    if text is None and not required:
        return None
    if (
        text is None
        or not (len(text) == 4 and text.isascii() and text.isdigit())
        or not YEAR_MIN <= int(text) <= YEAR_MAX
    ):
        errors.append(FieldError("year", f"is required: a year from {YEAR_MIN} to {YEAR_MAX}"))
        return None
    return int(text)


def _limit(text: str | None, errors: list[FieldError]) -> int:
    if text is None:
        return PAGE_SIZE_DEFAULT
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= PAGE_SIZE_MAX:
        errors.append(FieldError("limit", f"must be a whole number from 1 to {PAGE_SIZE_MAX}"))
        return PAGE_SIZE_DEFAULT
    return int(text)


def _cursor(text: str | None, parts: int, errors: list[FieldError]) -> tuple[str, ...] | None:
    if text is None:
        return None
    decoded = decode_cursor(text)
    if decoded is None or len(decoded) != parts:
        errors.append(FieldError("cursor", "must be a next_cursor this endpoint gave"))
        return None
    return decoded


def encode_cursor(*parts: str) -> str:
    """An opaque cursor that carries these parts (codes and ids: letters, digits, ``_`` and ``-``)."""
    if not parts or not all(_CURSOR_PART.fullmatch(part) for part in parts):
        raise ValueError("a cursor carries codes and ids of letters, digits, _ and -")
    text = CURSOR_PARTS_SEPARATOR.join(parts)
    return base64.urlsafe_b64encode(text.encode("ascii")).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> tuple[str, ...] | None:
    """The parts of a cursor ``encode_cursor`` made, or ``None`` for anything else."""
    if _CURSOR.fullmatch(cursor) is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        return None
    parts = tuple(text.split(CURSOR_PARTS_SEPARATOR))
    if not all(_CURSOR_PART.fullmatch(part) for part in parts) or encode_cursor(*parts) != cursor:
        return None
    return parts


# ---------------------------------------------------------------- forms


def unknown_fields(form: Mapping[str, object], known: frozenset[str]) -> list[FieldError]:
    """A fault for each field of the form that is not one of ``known`` (up to ten, names cut short)."""
    unknown = [name for name in form if name not in known]
    return [
        FieldError(name[:FIELD_NAME_CHARACTERS_MAX], "is not a field of this form")
        for name in unknown[:UNKNOWN_FIELDS_REPORTED_MAX]
    ]


def form_text(
    value: object, name: str, characters_max: int, errors: list[FieldError], *, multiline: bool
) -> str | None:
    """The text of a form's field, stripped; ``None`` with a fault in ``errors`` for anything but 1 to
    ``characters_max`` characters without control characters (line breaks and tabs allowed when ``multiline``)."""
    if not isinstance(value, str) or not value.strip() or len(value) > characters_max:
        errors.append(FieldError(name, f"is required: a text of 1 to {characters_max} characters"))
        return None
    allowed = _LINE_BREAKS if multiline else frozenset()
    if any(unicodedata.category(character) in _REFUSED_CATEGORIES and character not in allowed for character in value):
        breaks = "" if multiline else ", line breaks"
        errors.append(FieldError(name, f"must not hold control characters{breaks} or broken characters"))
        return None
    return value.strip()


# ---------------------------------------------------------------- staff messages


class StaffMessageKind(StrEnum):
    """The kinds of staff message supervision sends; stable codes clients may switch on."""

    SUPERVISOR_NOTICE = "supervisor_notice"
    FEEDBACK_ANSWERED = "feedback_answered"


@dataclass(frozen=True, slots=True)
class StaffMessage:
    """A message for one person; ``link`` is a path to what it tells of, if any.

    Raises ``ValueError`` for a title or body over the store's limits (a bug of the sender).
    """

    person_id: PersonId
    kind: StaffMessageKind
    title: str
    body: str
    link: str | None = None

    def __post_init__(self) -> None:
        if not 0 < len(self.title) <= MESSAGE_TITLE_CHARACTERS_MAX:
            raise ValueError(f"a message's title has 1 to {MESSAGE_TITLE_CHARACTERS_MAX} characters")
        if not 0 < len(self.body) <= MESSAGE_BODY_CHARACTERS_MAX:
            raise ValueError(f"a message's body has 1 to {MESSAGE_BODY_CHARACTERS_MAX} characters")

    def __repr__(self) -> str:
        return f"StaffMessage(person_id={self.person_id!r}, kind={self.kind.value!r})"
