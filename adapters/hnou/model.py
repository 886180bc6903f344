"""hnou's completion records as a form notification or a daily file line carries them.

Both carry the same record in two spellings (vendors.md, section 3): the form's ``kmlx`` ``1``/``2``
and ``zt`` ``1``/``0`` and a ``yyyyMMddHHmmss`` time, the file's ``公共``/``专业``, ``完成``/``撤销`` and
``yyyy-MM-dd HH:mm:ss``. ``read_record`` reads either through its ``WireFormat`` and names every
field at fault by its wire name. A revocation needs only its record number; any other field given
must still be valid.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Final, TypeVar

from adapters.hnou.errors import FieldsInvalid
from adapters.wire import beijing_time, wire_hours
from ledger.errors import FieldError
from ledger.model import Subject
from sso.errors import InvalidIdNumber
from sso.id_numbers import IdNumber, normalise_id_number

VENDOR: Final = "hnou"
ACTOR: Final = "vendor:hnou"
RECORD_NO_CHARACTERS_MAX: Final = 64
COURSE_CODE_CHARACTERS_MAX: Final = 64
COURSE_TITLE_CHARACTERS_MAX: Final = 200
NAME_CHARACTERS_MAX: Final = 50

_HOURS: Final = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,2})?", re.ASCII)
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
_LINE_BREAKS: Final = re.compile(r"[\t\r\n]+")
_Code = TypeVar("_Code")


class Field(enum.Enum):
    """A field of a record, whatever the wire calls it."""

    RECORD_NO = enum.auto()
    ID_NUMBER = enum.auto()
    NAME = enum.auto()
    COURSE_CODE = enum.auto()
    COURSE_TITLE = enum.auto()
    SUBJECT = enum.auto()
    HOURS = enum.auto()
    COMPLETED_AT = enum.auto()
    STATUS = enum.auto()


class RecordStatus(enum.StrEnum):
    COMPLETED = "completed"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class WireFormat:
    """How one of hnou's channels spells a record."""

    names: Mapping[Field, str]
    subjects: Mapping[str, Subject]
    statuses: Mapping[str, RecordStatus]
    time_pattern: re.Pattern[str]
    time_layout: str

    def name(self, field: Field) -> str:
        return self.names[field]


FORM: Final = WireFormat(
    names=MappingProxyType(
        {
            Field.RECORD_NO: "record_no",
            Field.ID_NUMBER: "idcard",
            Field.COURSE_CODE: "kcbh",
            Field.COURSE_TITLE: "kcmc",
            Field.SUBJECT: "kmlx",
            Field.HOURS: "xs",
            Field.COMPLETED_AT: "wcsj",
            Field.STATUS: "zt",
        }
    ),
    subjects=MappingProxyType({"1": Subject.PUBLIC, "2": Subject.PROFESSIONAL}),
    statuses=MappingProxyType({"1": RecordStatus.COMPLETED, "0": RecordStatus.REVOKED}),
    time_pattern=re.compile(r"[0-9]{14}", re.ASCII),
    time_layout="%Y%m%d%H%M%S",
)
DAILY_FILE: Final = WireFormat(
    names=MappingProxyType(
        {
            Field.RECORD_NO: "记录编号",
            Field.ID_NUMBER: "身份证号",
            Field.NAME: "姓名",
            Field.COURSE_CODE: "课程编号",
            Field.COURSE_TITLE: "课程名称",
            Field.SUBJECT: "科目类型",
            Field.HOURS: "学时",
            Field.COMPLETED_AT: "完成时间",
            Field.STATUS: "状态",
        }
    ),
    subjects=MappingProxyType({"公共": Subject.PUBLIC, "专业": Subject.PROFESSIONAL}),
    statuses=MappingProxyType({"完成": RecordStatus.COMPLETED, "撤销": RecordStatus.REVOKED}),
    time_pattern=re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}", re.ASCII),
    time_layout="%Y-%m-%d %H:%M:%S",
)


@dataclass(frozen=True, slots=True)
class Completion:
    """A learner completed a course: hours to credit."""

    record_no: str
    id_number: IdNumber
    course_code: str
    course_title: str
    subject: Subject
    hours: Decimal
    completed_at: datetime
    learner_name: str = ""
    """Only the daily file names the learner; kept for an operator when the record is held."""


@dataclass(frozen=True, slots=True)
class Revocation:
    """hnou withdrew an earlier completion of this record."""

    record_no: str


HnouRecord = Completion | Revocation


def read_record(values: Mapping[str, str], wire: WireFormat) -> HnouRecord:
    """The record in ``values`` (wire names to text); raises ``FieldsInvalid`` naming every field at fault."""
    reader = _Reader(values, wire)
    record_no = reader.text(Field.RECORD_NO, RECORD_NO_CHARACTERS_MAX, required=True)
    status = reader.code(Field.STATUS, wire.statuses, required=True)
    completed = status is RecordStatus.COMPLETED
    id_number = reader.id_number(required=completed)
    learner_name = reader.prose(Field.NAME, NAME_CHARACTERS_MAX)
    course_code = reader.text(Field.COURSE_CODE, COURSE_CODE_CHARACTERS_MAX, required=completed)
    course_title = reader.prose(Field.COURSE_TITLE, COURSE_TITLE_CHARACTERS_MAX)
    subject = reader.code(Field.SUBJECT, wire.subjects, required=completed)
    hours = reader.hours(required=completed)
    completed_at = reader.time(required=completed)
    if reader.errors:
        raise FieldsInvalid(reader.errors)
    if status is RecordStatus.REVOKED:
        return Revocation(record_no)
    if id_number is None or subject is None or hours is None or completed_at is None:
        raise AssertionError("a completion's required fields were read without errors but are missing")
    return Completion(record_no, id_number, course_code, course_title, subject, hours, completed_at, learner_name)


class _Reader:
    """Reads fields one by one, collecting every error instead of stopping at the first."""

    def __init__(self, values: Mapping[str, str], wire: WireFormat) -> None:
        self._values = values
        self._wire = wire
        self.errors: list[FieldError] = []

    def _given(self, field: Field, *, required: bool) -> str | None:
        name = self._wire.names.get(field)
        value = "" if name is None else self._values.get(name, "")
        if value:
            return value
        if required:
            self._fail(field, "is required")
        return None

    def _fail(self, field: Field, message: str) -> None:
        self.errors.append(FieldError(self._wire.name(field), message))

    def text(self, field: Field, length_max: int, *, required: bool) -> str:
        value = self._given(field, required=required)
        if value is None:
            return ""
        if required and not value.strip():
            self._fail(field, "must not be blank")
            return ""
        return self.text_of(field, value, length_max)

    def text_of(self, field: Field, value: str, length_max: int) -> str:
        if len(value) > length_max or _CONTROL.search(value):
            self._fail(field, f"must be text of at most {length_max} characters without control characters")
            return ""
        return value

    def prose(self, field: Field, length_max: int) -> str:
        """An optional name or title: line breaks and tabs (which a quoted CSV field may hold)
        become one space; titles and names are not a record's content, only its description."""
        value = self._given(field, required=False)
        if value is None:
            return ""
        return self.text_of(field, _LINE_BREAKS.sub(" ", value), length_max)

    def code(self, field: Field, codes: Mapping[str, _Code], *, required: bool) -> _Code | None:
        value = self._given(field, required=required)
        if value is None:
            return None
        if value not in codes:
            self._fail(field, f"must be one of {', '.join(codes)}")
            return None
        return codes[value]

    def id_number(self, *, required: bool) -> IdNumber | None:
        value = self._given(Field.ID_NUMBER, required=required)
        if value is None:
            return None
        try:
            # Never echoes the number: the message names only the check that failed.
            return normalise_id_number(value)
        except InvalidIdNumber as exc:
            self._fail(Field.ID_NUMBER, f"is not a valid GB 11643 ID number: {exc}")
            return None

    def hours(self, *, required: bool) -> Decimal | None:
        value = self._given(Field.HOURS, required=required)
        if value is None:
            return None
        if _HOURS.fullmatch(value) is None:
            self._fail(Field.HOURS, 'must be a decimal number of hours such as "3.5"')
            return None
        errors: list[FieldError] = []
        hours = wire_hours(value, self._wire.name(Field.HOURS), errors)
        self.errors.extend(errors)
        return hours

    def time(self, *, required: bool) -> datetime | None:
        value = self._given(Field.COMPLETED_AT, required=required)
        if value is None:
            return None
        if self._wire.time_pattern.fullmatch(value) is None:
            value = ""  # strptime alone would take single-digit months and days
        errors: list[FieldError] = []
        moment = beijing_time(value, self._wire.time_layout, self._wire.name(Field.COMPLETED_AT), errors)
        self.errors.extend(errors)
        return moment
