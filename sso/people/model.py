"""People's pure types and the rules of their fields: registration, profile changes, passwords.

A form is the decoded JSON object a person (or an operator) sent. ``parse_registration``,
``parse_profile_changes`` and ``check_new_password`` check every field and raise one
``InvalidPersonData`` listing every field at fault, never only the first. Nothing here
touches storage; whether a unit exists is the service's question.

No error message repeats the value it refuses: a refused ID number or phone number must
not end up in a log through its error.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Final, NewType

from ledger.model import PersonId
from sso.errors import InvalidIdNumber
from sso.id_numbers import Gender, IdNumber, mask_id_number, normalise_id_number
from sso.organisation import InstitutionCode
from sso.people.errors import FieldError, InvalidPersonData

__all__ = [
    "ETHNICITIES",
    "ETHNICITY_CHOICES",
    "LOGIN_FAILURES_MAX",
    "LOGIN_FAILURE_WINDOW_SECONDS",
    "PROFILE_FIELDS",
    "REGISTRATION_FIELDS",
    "ROSTER_UNITS_PER_QUERY_MAX",
    "SESSIONS_LISTED_MAX",
    "SESSION_IDLE_SECONDS_MAX",
    "SESSION_LIFETIME_SECONDS_MAX",
    "Education",
    "Gender",
    "MaskedIdentity",
    "Member",
    "Person",
    "PersonId",
    "ProfileChanges",
    "Registration",
    "SessionSummary",
    "SessionToken",
    "apply_profile_changes",
    "check_new_password",
    "mask_name",
    "parse_profile_changes",
    "parse_registration",
    "session_token_hash",
]

SessionToken = NewType("SessionToken", str)
"""The secret a session cookie carries: 256 random bits, URL-safe base64. Only its SHA-256 is stored."""

NAME_CHARACTERS_MIN: Final = 2
NAME_CHARACTERS_MAX: Final = 30
PASSWORD_CHARACTERS_MIN: Final = 8
PASSWORD_CHARACTERS_MAX: Final = 128
EMAIL_CHARACTERS_MAX: Final = 254
NATIVE_PLACE_CHARACTERS_MAX: Final = 50
MAJOR_CHARACTERS_MAX: Final = 50
SCHOOL_CHARACTERS_MAX: Final = 100
TITLE_CHARACTERS_MAX: Final = 50
UNIT_CODE_CHARACTERS_MAX: Final = 40
ID_NUMBER_CHARACTERS_MAX: Final = 64
UNKNOWN_FIELDS_REPORTED_MAX: Final = 20
EARLIEST_DATE: Final = date(1900, 1, 1)
TITLE_NONE: Final = "其他"

SESSION_TOKEN_BYTES: Final = 32
SESSION_IDLE_SECONDS_MAX: Final = 30 * 60
"""A session unused for this long is over."""
SESSION_LIFETIME_SECONDS_MAX: Final = 12 * 60 * 60
"""A session is over this long after it was opened, however busy."""
SESSIONS_LISTED_MAX: Final = 1000
"""At most this many of a person's sessions are listed, the oldest first."""
LOGIN_FAILURES_MAX: Final = 5
"""After this many failed logins for one ID number within the window, logins wait."""
LOGIN_FAILURE_WINDOW_SECONDS: Final = 15 * 60
ROSTER_UNITS_PER_QUERY_MAX: Final = 500
"""A roster is read for at most this many institutions at once: their codes travel as parameters."""

ETHNICITY_CHOICES: Final = (
    *("汉族", "蒙古族", "回族", "藏族", "维吾尔族", "苗族", "彝族", "壮族", "布依族", "朝鲜族"),
    *("满族", "侗族", "瑶族", "白族", "土家族", "哈尼族", "哈萨克族", "傣族", "黎族", "傈僳族"),
    *("佤族", "畲族", "高山族", "拉祜族", "水族", "东乡族", "纳西族", "景颇族", "柯尔克孜族", "土族"),
    *("达斡尔族", "仫佬族", "羌族", "布朗族", "撒拉族", "毛南族", "仡佬族", "锡伯族", "阿昌族", "普米族"),
    *("塔吉克族", "怒族", "乌孜别克族", "俄罗斯族", "鄂温克族", "德昂族", "保安族", "裕固族", "京族"),
    *("塔塔尔族", "独龙族", "鄂伦春族", "赫哲族", "门巴族", "珞巴族", "基诺族"),
)
"""The 56 ethnic groups of China in their official order, as the registration form lists them."""
ETHNICITIES: Final = frozenset(ETHNICITY_CHOICES)
"""The same, for checking a form."""

_MOBILE_PHONE: Final = re.compile(r"1[3-9][0-9]{9}", re.ASCII)
_EMAIL: Final = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")
_ISO_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_UNIT_CODE: Final = re.compile(r"[0-9A-Za-z][0-9A-Za-z-]{0,39}", re.ASCII)
_ASCII_LETTER: Final = re.compile(r"[A-Za-z]", re.ASCII)
_ASCII_DIGIT: Final = re.compile(r"[0-9]", re.ASCII)


class Education(StrEnum):
    """The highest education, in the words of the registration form."""

    DOCTORATE = "博士研究生"
    MASTER = "硕士研究生"
    BACHELOR = "大学本科"
    JUNIOR_COLLEGE = "大学专科"
    SECONDARY_VOCATIONAL = "中专"
    HIGH_SCHOOL_OR_BELOW = "高中及以下"


@dataclass(frozen=True, slots=True)
class Person:
    """A registered person, decrypted; only the people service builds one.

    ``id_number`` is the plain ID number: show it to the person alone, ``masked_id_number`` to anyone else.
    """

    id: PersonId
    name: str
    gender: Gender
    ethnicity: str | None
    phone: str
    email: str
    native_place: str
    education: Education
    major: str
    school: str
    graduated_on: date
    unit_code: InstitutionCode
    title: str
    title_since: date | None
    id_number: IdNumber
    created_at: datetime
    deactivated_at: datetime | None

    @property
    def masked_id_number(self) -> str:
        """The ID number with only its first 6 and last 4 characters shown."""
        return mask_id_number(self.id_number)

    @property
    def active(self) -> bool:
        """Whether the account may still sign in."""
        return self.deactivated_at is None

    def __repr__(self) -> str:
        # A person in a traceback or a log line shows no personal data.
        return f"Person(id={self.id!r})"


def mask_name(name: str) -> str:
    """A name as anyone but its owner sees it: the first character, then one ``*`` for each other (``张*``)."""
    return name[:1] + "*" * (len(name) - 1)


@dataclass(frozen=True, slots=True)
class Member:
    """An active person in a roster of institutions: who, and where; nothing personal.

    Rosters are ordered by ``(unit_code, person_id)``, so a member is also a position to read on from.
    """

    unit_code: InstitutionCode
    person_id: PersonId


@dataclass(frozen=True, slots=True)
class MaskedIdentity:
    """How oversight names a person: the ID number and the name, both masked."""

    id_number_masked: str
    name_masked: str


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """A live session as its owner may see it: when it was opened, last used and ends; never its token nor hash.

    The last use is written at most once a minute, so ``last_seen_at`` and ``expires_at`` may lag by that much.
    """

    opened_at: datetime
    last_seen_at: datetime

    @property
    def expires_at(self) -> datetime:
        """When the session ends unless used again: idle for too long, or at the end of its lifetime."""
        idle_end = self.last_seen_at + timedelta(seconds=SESSION_IDLE_SECONDS_MAX)
        return min(idle_end, self.opened_at + timedelta(seconds=SESSION_LIFETIME_SECONDS_MAX))


@dataclass(frozen=True, slots=True)
class Registration:
    """A validated registration form; the unit code is well formed but not yet known to exist."""

    name: str
    password: str
    id_number: IdNumber
    gender: Gender
    ethnicity: str | None
    phone: str
    email: str
    native_place: str
    education: Education
    major: str
    school: str
    graduated_on: date
    unit_code: InstitutionCode
    title: str
    title_since: date | None

    def __repr__(self) -> str:
        return "Registration(…)"


@dataclass(frozen=True, slots=True)
class ProfileChanges:
    """Validated changes to a profile: each named field with its new, typed value (``None`` clears)."""

    values: Mapping[str, object]

    def __repr__(self) -> str:
        return f"ProfileChanges(fields={sorted(self.values)!r})"


# ---------------------------------------------------------------- one check per field


_Check = Callable[[object, date], object]
"""A field's check: the raw JSON value and today (Beijing) in, the typed value out, or ``ValueError``."""


def _text(characters_min: int, characters_max: int) -> _Check:
    def check(value: object, _today: date) -> str:
        if not isinstance(value, str):
            raise TypeError("must be a text")
        text = value.strip()
        if not characters_min <= len(text) <= characters_max:
            raise ValueError(f"must have {characters_min} to {characters_max} characters")
        if any(not character.isprintable() for character in text):
            raise ValueError("must not hold control characters")
        return text

    return check


def _password(value: object, _today: date) -> str:
    if not isinstance(value, str):
        raise TypeError("must be a text")
    if not PASSWORD_CHARACTERS_MIN <= len(value) <= PASSWORD_CHARACTERS_MAX:
        raise ValueError(f"must have {PASSWORD_CHARACTERS_MIN} to {PASSWORD_CHARACTERS_MAX} characters")
    if _ASCII_LETTER.search(value) is None or _ASCII_DIGIT.search(value) is None:
        raise ValueError("must hold both letters and digits")
    return value


def _id_number(value: object, today: date) -> IdNumber:
    if not isinstance(value, str) or len(value) > ID_NUMBER_CHARACTERS_MAX:
        raise TypeError("must be an 18-character ID number")
    try:
        return normalise_id_number(value, today=today)
    except InvalidIdNumber as exc:
        raise ValueError(exc.detail) from None


def _gender(value: object, _today: date) -> Gender:
    if value not in {member.value for member in Gender}:
        raise ValueError("must be 男 or 女")
    return Gender(str(value))


def _ethnicity(value: object, _today: date) -> str:
    if not isinstance(value, str) or value.strip() not in ETHNICITIES:
        raise ValueError("must be one of the 56 ethnic groups, such as 汉族")
    return value.strip()


def _phone(value: object, _today: date) -> str:
    if not isinstance(value, str) or _MOBILE_PHONE.fullmatch(value.strip()) is None:
        raise ValueError("must be a mainland mobile number of 11 digits starting with 1")
    return value.strip()


def _email(value: object, _today: date) -> str:
    if not isinstance(value, str):
        raise TypeError("must be an e-mail address")
    text = value.strip()
    if len(text) > EMAIL_CHARACTERS_MAX or _EMAIL.fullmatch(text) is None:
        raise ValueError(f"must be an e-mail address of at most {EMAIL_CHARACTERS_MAX} characters")
    return text


def _education(value: object, _today: date) -> Education:
    if value not in {member.value for member in Education}:
        raise ValueError(f"must be one of {', '.join(member.value for member in Education)}")
    return Education(str(value))


def _past_date(value: object, today: date) -> date:
    if not isinstance(value, str) or _ISO_DATE.fullmatch(value) is None:
        raise ValueError("must be a date YYYY-MM-DD")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValueError("must be a real date YYYY-MM-DD") from None
    if not EARLIEST_DATE <= day <= today:
        raise ValueError(f"must be between {EARLIEST_DATE.isoformat()} and today")
    return day


def _unit_code(value: object, _today: date) -> InstitutionCode:
    if not isinstance(value, str) or _UNIT_CODE.fullmatch(value) is None:
        raise ValueError("must be the code of an institution")
    return InstitutionCode(value)


@dataclass(frozen=True, slots=True)
class _Field:
    check: _Check
    required: bool


_PROFILE_CHECKS: Final = MappingProxyType(
    {
        "name": _Field(_text(NAME_CHARACTERS_MIN, NAME_CHARACTERS_MAX), required=True),
        "gender": _Field(_gender, required=True),
        "ethnicity": _Field(_ethnicity, required=False),
        "phone": _Field(_phone, required=True),
        "email": _Field(_email, required=True),
        "native_place": _Field(_text(1, NATIVE_PLACE_CHARACTERS_MAX), required=True),
        "education": _Field(_education, required=True),
        "major": _Field(_text(1, MAJOR_CHARACTERS_MAX), required=True),
        "school": _Field(_text(1, SCHOOL_CHARACTERS_MAX), required=True),
        "graduated_on": _Field(_past_date, required=True),
        "title": _Field(_text(1, TITLE_CHARACTERS_MAX), required=True),
        "title_since": _Field(_past_date, required=False),
    }
)
_REGISTRATION_CHECKS: Final = MappingProxyType(
    {
        **_PROFILE_CHECKS,
        "password": _Field(_password, required=True),
        "id_number": _Field(_id_number, required=True),
        "unit_code": _Field(_unit_code, required=True),
    }
)
_FIXED_FIELD_MESSAGES: Final = MappingProxyType(
    {
        "id_number": "cannot be changed: an operator corrects a mistyped ID number",
        "password": "cannot be changed here: use the password change",
        "unit_code": "cannot be changed here: an operator transfers a person between institutions",
    }
)

PROFILE_FIELDS: Final = frozenset(_PROFILE_CHECKS)
"""The fields a person may change in their own profile."""
REGISTRATION_FIELDS: Final = frozenset(_REGISTRATION_CHECKS)
"""The fields of the registration form."""


def parse_registration(form: Mapping[str, object], *, today: date) -> Registration:
    """Return the registration in a form; ``today`` (in Beijing) bounds the dates.

    Raises ``InvalidPersonData`` listing every missing, unknown or invalid field.
    """
    errors = _unknown_fields(form, REGISTRATION_FIELDS, {})
    values = _checked(form, _REGISTRATION_CHECKS, today, errors, partial=False)
    if errors:
        raise InvalidPersonData(errors)
    return Registration(**values)  # type: ignore[arg-type]  # every field was checked into its type above


def parse_profile_changes(form: Mapping[str, object], *, today: date) -> ProfileChanges:
    """Return the changes in a form that names some profile fields.

    ``ethnicity`` and ``title_since`` may be ``null`` to clear them.
    Raises ``InvalidPersonData`` listing every invalid field, and the ID number, password and unit
    code, which are not changed here.
    """
    errors = _unknown_fields(form, PROFILE_FIELDS, _FIXED_FIELD_MESSAGES)
    values = _checked(form, _PROFILE_CHECKS, today, errors, partial=True)
    if errors:
        raise InvalidPersonData(errors)
    return ProfileChanges(MappingProxyType(values))


def apply_profile_changes(person: Person, changes: ProfileChanges) -> Person:
    """Return the person with the changes made."""
    return replace(person, **changes.values)  # type: ignore[arg-type]  # each value was checked into its field's type


def check_new_password(new_password: object, *, field: str = "new_password") -> tuple[str, list[FieldError]]:
    """Return the new password and the faults found with it, under the name ``field``."""
    try:
        return _password(new_password, EARLIEST_DATE), []
    except (TypeError, ValueError) as exc:
        return "", [FieldError(field, str(exc))]


def session_token_hash(token: str) -> str:
    """The hex SHA-256 of a session token: what the database holds instead of the token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _unknown_fields(
    form: Mapping[str, object], known: frozenset[str], fixed_messages: Mapping[str, str]
) -> list[FieldError]:
    unknown = [name for name in form if name not in known]
    return [
        FieldError(name[:UNIT_CODE_CHARACTERS_MAX], fixed_messages.get(name, "is not a field of this form"))
        for name in unknown[:UNKNOWN_FIELDS_REPORTED_MAX]
    ]


def _checked(
    form: Mapping[str, object],
    checks: Mapping[str, _Field],
    today: date,
    errors: list[FieldError],
    *,
    partial: bool,
) -> dict[str, object]:
    values: dict[str, object] = {}
    for name, field in checks.items():
        value = form.get(name)
        if name not in form and partial:
            continue
        if value is None or value == "":
            if field.required:
                errors.append(FieldError(name, "is required"))
            values[name] = None
            continue
        try:
            values[name] = field.check(value, today)
        except (TypeError, ValueError) as exc:
            errors.append(FieldError(name, str(exc)))
    return values
