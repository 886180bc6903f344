"""webtrn's pages of completions (vendors.md, section 2), read item by item into ledger deliveries.

The differences absorbed here: a numeric ``id`` (the record id is its decimal text), ``subject`` in
Chinese, ``credit_hours`` a JSON number with at most one decimal (read exactly: the page is parsed
with ``parse_float=Decimal``), ``finished_at`` Beijing local time without an offset, ``status``
``completed`` (a credit) or ``revoked`` (a reversal), and ``updated_at`` in UTC. An item that
cannot be read is held for an operator with its reason and never blocks the items around it.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from adapters.errors import DeliveryInvalid
from adapters.ports import LearnerDirectory
from adapters.webtrn.errors import AnswerInvalid
from adapters.wire import beijing_time, wire_hours
from ledger.errors import FieldError, InvalidCommand, NoRulesForYear
from ledger.model import (
    CONTROL_CHARACTERS_MESSAGE,
    DELIVERY_ID_CHARACTERS_MAX,
    Command,
    Credit,
    Delivery,
    EntryKind,
    Hold,
    HoldReason,
    Source,
    Subject,
    canonical_json,
    has_control_characters,
    new_credit,
    new_reversal,
    parse_hours,
    sha256_hex,
    utc_text,
)

VENDOR = "webtrn"
ACTOR = f"vendor:{VENDOR}"
PAGE_ITEMS_MAX = 500
CURSOR_CHARACTERS_MAX = 1000
IDENTIFIER_CHARACTERS_MAX = 200
TITLE_CHARACTERS_MAX = 200
TIME_CHARACTERS_MAX = 40
ITEM_CHARACTERS_MAX = 16_384
HOLD_DETAIL_CHARACTERS_MAX = 500
RECORD_ID_MAX = 2**63 - 1
HOURS_TENTHS_PER_HOUR = 10
REVOCATION_REASON = "revoked by webtrn"
FINISHED_AT_LAYOUT = "%Y-%m-%d %H:%M:%S"
FINISHED_AT_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
SUBJECTS = {"公共科目": Subject.PUBLIC, "专业科目": Subject.PROFESSIONAL}


class Status(enum.StrEnum):
    COMPLETED = "completed"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True, order=True)
class ItemPosition:
    """Where an item sits in webtrn's order of items: by ``updated_at``, then ``id``."""

    updated_at: datetime
    record_id: int


@dataclass(frozen=True, slots=True)
class Page:
    """One page as webtrn sent it: its items still raw, each to be read on its own."""

    items: tuple[object, ...]
    next_cursor: str | None


def parse_page(body: bytes) -> Page:
    """The items and the next cursor of a page; raises ``AnswerInvalid`` when the page itself is
    not what the contract says (its items are read later, one by one)."""
    try:
        document = json.loads(body, parse_float=Decimal)
    except (UnicodeDecodeError, ValueError):
        raise AnswerInvalid("webtrn sent a page that is not JSON in UTF-8") from None
    if not isinstance(document, dict):
        raise AnswerInvalid("webtrn sent a page that is not a JSON object")
    items, cursor = document.get("items"), document.get("next_cursor")
    if not isinstance(items, list) or len(items) > PAGE_ITEMS_MAX:
        raise AnswerInvalid(f"webtrn sent a page whose items are not a list of at most {PAGE_ITEMS_MAX}")
    if cursor is not None and (not isinstance(cursor, str) or not 0 < len(cursor) <= CURSOR_CHARACTERS_MAX):
        raise AnswerInvalid(f"webtrn sent a next_cursor that is not null or a text of 1 to {CURSOR_CHARACTERS_MAX}")
    return Page(tuple(items), cursor)


@dataclass(frozen=True, slots=True)
class WebtrnItem:
    """A well-formed item of a page."""

    record_id: int
    sub: str
    course_code: str
    course_name: str
    subject: Subject
    hours: Decimal
    finished_at: datetime
    status: Status
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ReadItem:
    """An item read into a delivery, and its place in webtrn's order (``None`` when the item is
    too broken to say)."""

    delivery: Delivery
    position: ItemPosition | None


Check = Callable[[Command], None]
"""The ledger's check of a command against the year's rules (``Ledger.check``)."""


class ItemReader:
    """Reads each item of a page into a delivery: a credit, a reversal, or a hold."""

    def __init__(self, directory: LearnerDirectory, check: Check) -> None:
        self._directory = directory
        self._check = check

    async def read(self, raw: object, received_at: datetime) -> ReadItem:
        """Never raises for a bad item: what cannot be counted as it is becomes a ``Hold``."""
        fields = raw if isinstance(raw, dict) else {}
        position = item_position(fields)
        delivery_id = _delivery_id(fields, position)
        try:
            command = await self.command(raw)
        except DeliveryInvalid as invalid:
            command = _malformed(raw, fields, invalid.errors)
        return ReadItem(Delivery(command, delivery_id, received_at), position)

    async def command(self, raw: object) -> Command:
        """The command an item asks for (a hold for an unknown learner); raises ``DeliveryInvalid``
        naming every field at fault, as the page names it."""
        return await self.translate(parse_item(raw), raw_hash(raw))

    async def translate(self, item: WebtrnItem, payload_hash: str) -> Command:
        """The command a well-formed item asks for; raises ``DeliveryInvalid`` as ``command``."""
        if item.status is Status.REVOKED:
            return new_reversal(
                source=VENDOR,
                record_id=str(item.record_id),
                reason=REVOCATION_REASON,
                actor=ACTOR,
                payload_hash=payload_hash,
            )
        person_id = await self._directory.person_for_subject(VENDOR, item.sub)
        if person_id is None:
            return _unknown_learner(item)
        try:
            credit = _credit(item, person_id, payload_hash)
            self._check(credit)
        except InvalidCommand as invalid:
            raise DeliveryInvalid([_on_the_wire(error) for error in invalid.errors]) from None
        except NoRulesForYear as no_rules:
            raise DeliveryInvalid([FieldError("finished_at", str(no_rules))]) from None
        return credit


def _credit(item: WebtrnItem, person_id: str, payload_hash: str) -> Credit:
    return new_credit(
        person_id=person_id,
        source=VENDOR,
        record_id=str(item.record_id),
        course_code=item.course_code,
        course_title=item.course_name,
        subject=item.subject.value,
        hours=item.hours,
        completed_at=item.finished_at,
        actor=ACTOR,
        payload_hash=payload_hash,
    )


WIRE_FIELDS = {"hours": "credit_hours", "course_title": "course_name", "completed_at": "finished_at", "record_id": "id"}


def _on_the_wire(error: FieldError) -> FieldError:
    """A ledger field's name as the page names it."""
    return FieldError(WIRE_FIELDS.get(error.field, error.field), error.message)


def parse_item(raw: object) -> WebtrnItem:
    """A well-formed item; raises ``DeliveryInvalid`` naming every field at fault, as the page names it."""
    if not isinstance(raw, dict):
        raise DeliveryInvalid([FieldError("item", "must be a JSON object")])
    errors: list[FieldError] = []
    record_id = _record_id(raw.get("id"), errors)
    learner = raw.get("learner")
    sub = _text(learner.get("sub") if isinstance(learner, dict) else None, "learner.sub", errors, required=True)
    course_code = _text(raw.get("course_code"), "course_code", errors, required=True)
    course_name = _text(raw.get("course_name", ""), "course_name", errors, required=False)
    label = raw.get("subject")
    subject = SUBJECTS.get(label) if isinstance(label, str) else None
    if subject is None:
        errors.append(FieldError("subject", f"must be one of {', '.join(SUBJECTS)}"))
    hours = _hours(raw.get("credit_hours"), errors)
    finished_at = _finished_at(raw.get("finished_at"), errors)
    status = _status(raw.get("status"), errors)
    updated_at = _updated_at(raw.get("updated_at"), errors)
    if (
        errors
        or record_id is None
        or subject is None
        or hours is None
        or finished_at is None
        or status is None
        or updated_at is None
    ):
        raise DeliveryInvalid(errors)
    return WebtrnItem(
        record_id=record_id,
        sub=sub,
        course_code=course_code,
        course_name=course_name,
        subject=subject,
        hours=hours,
        finished_at=finished_at,
        status=status,
        updated_at=updated_at,
    )


def item_position(fields: dict[str, Any]) -> ItemPosition | None:
    """The item's place in webtrn's order, when its ``id`` and ``updated_at`` can be read."""
    record_id = _record_id(fields.get("id"), [])
    updated_at = _updated_at(fields.get("updated_at"), [])
    if record_id is None or updated_at is None:
        return None
    return ItemPosition(updated_at, record_id)


def _record_id(value: object, errors: list[FieldError]) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= RECORD_ID_MAX:
        errors.append(FieldError("id", f"must be a whole number from 1 to {RECORD_ID_MAX}"))
        return None
    return value


def _text(value: object, field: str, errors: list[FieldError], *, required: bool) -> str:
    if not isinstance(value, str) or (required and not value.strip()):
        errors.append(FieldError(field, "must be a non-empty string" if required else "must be a string"))
        return ""
    if len(value) > IDENTIFIER_CHARACTERS_MAX:
        errors.append(FieldError(field, f"must be at most {IDENTIFIER_CHARACTERS_MAX} characters"))
        return ""
    if has_control_characters(value):
        errors.append(FieldError(field, CONTROL_CHARACTERS_MESSAGE))
        return ""
    return value


def _hours(value: object, errors: list[FieldError]) -> Decimal | None:
    # A string is refused too: the contract sends a JSON number, and a string means something changed.
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        errors.append(FieldError("credit_hours", "must be a JSON number of hours"))
        return None
    hours = wire_hours(value, "credit_hours", errors)
    if hours is not None and (hours * HOURS_TENTHS_PER_HOUR) % 1:
        errors.append(FieldError("credit_hours", "must have at most one decimal"))
        return None
    return hours


def _finished_at(value: object, errors: list[FieldError]) -> datetime | None:
    if not isinstance(value, str) or FINISHED_AT_PATTERN.fullmatch(value) is None:
        errors.append(FieldError("finished_at", "must be a Beijing time like 2021-06-01 10:00:00"))
        return None
    return beijing_time(value, FINISHED_AT_LAYOUT, "finished_at", errors)


def _status(value: object, errors: list[FieldError]) -> Status | None:
    if not isinstance(value, str) or value not in {member.value for member in Status}:
        errors.append(FieldError("status", "must be completed or revoked"))
        return None
    return Status(value)


def _updated_at(value: object, errors: list[FieldError]) -> datetime | None:
    message = "must be an ISO 8601 time in UTC like 2021-06-01T02:00:05Z"
    if not isinstance(value, str) or len(value) > TIME_CHARACTERS_MAX:
        errors.append(FieldError("updated_at", message))
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.utcoffset() is None:
        errors.append(FieldError("updated_at", message))
        return None
    return moment.astimezone(UTC)


def raw_text(raw: object) -> str:
    """The item as JSON again, keys sorted, no white space; a number read as ``Decimal`` is written
    as the same number, so that a held item reads again as it came."""
    if isinstance(raw, Decimal):
        return str(raw)
    if isinstance(raw, dict):
        members = (f"{json.dumps(str(key), ensure_ascii=False)}:{raw_text(raw[key])}" for key in sorted(raw))
        return "{" + ",".join(members) + "}"
    if isinstance(raw, list):
        return "[" + ",".join(raw_text(value) for value in raw) + "]"
    return json.dumps(raw, ensure_ascii=False)


def raw_hash(raw: object) -> str:
    return hashlib.sha256(raw_text(raw).encode()).hexdigest()


def _delivery_id(fields: dict[str, Any], position: ItemPosition | None) -> str:
    """An item's id and ``updated_at``: a revoked item comes again with a new ``updated_at``."""
    if position is not None:
        return f"{position.record_id}@{utc_text(position.updated_at)}"
    return f"{fields.get('id')!s:.60}@{fields.get('updated_at')!s:.60}"[:DELIVERY_ID_CHARACTERS_MAX]


def _malformed(raw: object, fields: dict[str, Any], errors: tuple[FieldError, ...]) -> Hold:
    payload = raw_text(raw)
    payload_hash = hashlib.sha256(payload.encode()).hexdigest()
    record_id = _record_id(fields.get("id"), [])
    detail = "; ".join(f"{error.field}: {error.message}" for error in errors)
    if len(payload) > ITEM_CHARACTERS_MAX:
        payload = json.dumps({"truncated": payload[:ITEM_CHARACTERS_MAX]}, ensure_ascii=False)
    return Hold(
        source=Source.WEBTRN,
        record_id=str(record_id) if record_id is not None else f"unreadable-{payload_hash[:16]}",
        kind=EntryKind.REVERSAL if fields.get("status") == Status.REVOKED.value else EntryKind.CREDIT,
        reason=HoldReason.MALFORMED,
        payload=payload,
        payload_hash=payload_hash,
        detail=detail[:HOLD_DETAIL_CHARACTERS_MAX],
    )


def _unknown_learner(item: WebtrnItem) -> Hold:
    """A completion for a ``sub`` the hub never issued to webtrn: held, never dropped."""
    content = {
        "id": item.record_id,
        "sub": item.sub,
        "course_code": item.course_code,
        "subject": item.subject.value,
        "hours": parse_hours(item.hours),
        "finished_at": utc_text(item.finished_at),
    }
    return Hold(
        source=Source.WEBTRN,
        record_id=str(item.record_id),
        kind=EntryKind.CREDIT,
        reason=HoldReason.UNKNOWN_PERSON,
        payload=canonical_json({**content, "course_name": item.course_name}).decode(),
        payload_hash=sha256_hex(canonical_json(content)),  # names are not content (vendors.md)
        detail="the sub was never issued to webtrn",
    )
