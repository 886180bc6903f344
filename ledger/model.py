"""The ledger's pure types: hours, commands, entries, the chain encoding and the year's rules.

Hours are integers of hundredths of an hour everywhere inside; ``parse_hours`` and
``format_hours`` are the only ways in and out. Times are aware; the chain encodes them in UTC.
"""

from __future__ import annotations

import enum
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import NewType, TypeVar
from zoneinfo import ZoneInfo

import orjson

from ledger.errors import FieldError, InvalidCommand, LedgerCorrupted

Hours = NewType("Hours", int)
"""Hundredths of an hour: ``Hours(350)`` is 3.5 hours."""

PersonId = NewType("PersonId", str)
SequenceNumber = NewType("SequenceNumber", int)

BEIJING = ZoneInfo("Asia/Shanghai")
GENESIS_HASH = "0" * 64
HUNDREDTHS_PER_HOUR = 100
VENDOR_RECORD_HOURS_MAX = Hours(100 * HUNDREDTHS_PER_HOUR)
OFFLINE_RECORD_DAYS_MAX = 30
TEXT_FIELD_CHARACTERS_MAX = 200
REASON_CHARACTERS_MAX = 500
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
CONTROL_CHARACTERS_MESSAGE = "must not hold control characters"


class Subject(enum.StrEnum):
    PUBLIC = "public"
    PROFESSIONAL = "professional"


class Source(enum.StrEnum):
    ISCHINESE = "ischinese"
    WEBTRN = "webtrn"
    HNOU = "hnou"
    OFFLINE = "offline"
    CONTINUING_ED = "continuing_ed"

    @property
    def is_vendor(self) -> bool:
        return self in {Source.ISCHINESE, Source.WEBTRN, Source.HNOU}


class EntryKind(enum.StrEnum):
    CREDIT = "credit"
    REVERSAL = "reversal"


def parse_hours(value: Decimal | str) -> Hours:
    """Exact hours from a decimal string or ``Decimal``; raises ``ValueError`` with a reason.

    Floats are refused: they cannot say 0.1 exactly.
    """
    if isinstance(value, bool) or not isinstance(value, Decimal | str):
        raise ValueError('must be a decimal string such as "3.50"')  # noqa: TRY004  (a float is a bad value at the edge)
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise ValueError('must be a decimal number such as "3.50"') from None
    if not amount.is_finite():
        raise ValueError("must be a finite decimal number")
    hundredths = amount * HUNDREDTHS_PER_HOUR
    if hundredths != hundredths.to_integral_value():
        raise ValueError("must have at most two decimal places")
    if hundredths <= 0:
        raise ValueError("must be greater than zero")
    return Hours(int(hundredths))


def format_hours(hours: int) -> str:
    """``350`` → ``"3.50"``; negative values keep their sign."""
    sign = "-" if hours < 0 else ""
    whole, hundredths = divmod(abs(hours), HUNDREDTHS_PER_HOUR)
    return f"{sign}{whole}.{hundredths:02d}"


def training_year(completed_at: datetime) -> int:
    """The training year a completion belongs to: its calendar year in Beijing time."""
    return completed_at.astimezone(BEIJING).year


def utc_text(moment: datetime) -> str:
    """One canonical text for an instant: UTC, microseconds, ``Z``."""
    utc = moment if moment.tzinfo is UTC else moment.astimezone(UTC)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ" % (  # noqa: UP031  (twice as fast as isoformat; on the append path)
        utc.year,
        utc.month,
        utc.day,
        utc.hour,
        utc.minute,
        utc.second,
        utc.microsecond,
    )


def canonical_json(document: Mapping[str, object]) -> bytes:
    """The one canonical encoding: JSON with sorted keys, no white space, UTF-8, non-ASCII unescaped.

    Byte for byte what ``json.dumps(document, sort_keys=True, separators=(",", ":"),
    ensure_ascii=False).encode()`` gives, so an auditor can recompute it without this code.
    """
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class Credit:
    """A request to count hours that a source says a person completed."""

    person_id: PersonId
    source: Source
    record_id: str
    course_code: str
    course_title: str
    subject: Subject
    hours: Hours
    completed_at: datetime
    actor: str
    payload_hash: str

    @property
    def year(self) -> int:
        return training_year(self.completed_at)

    @property
    def content_hash(self) -> str:
        """What makes two deliveries of one record the same (vendors.md, "Common facts")."""
        return sha256_hex(
            canonical_json(
                {
                    "person_id": self.person_id,
                    "course_code": self.course_code,
                    "subject": self.subject.value,
                    "hours": self.hours,
                    "completed_at": utc_text(self.completed_at),
                }
            )
        )


def reversal_content_hash(source: Source, record_id: str) -> str:
    """A revocation is one event of its record: every delivery of it is the same."""
    return sha256_hex(canonical_json({"source": source.value, "record_id": record_id}))


@dataclass(frozen=True, slots=True)
class Reversal:
    """A request to withdraw the hours of an earlier credit of the same source and record."""

    source: Source
    record_id: str
    reason: str
    actor: str
    payload_hash: str

    @property
    def content_hash(self) -> str:
        """A revocation is one event of its record: every delivery of it is the same."""
        return reversal_content_hash(self.source, self.record_id)


class HoldReason(enum.StrEnum):
    CONFLICT = "conflict"
    """The record differs from the stored version of it (decided by the ledger)."""
    UNKNOWN_PERSON = "unknown_person"
    """The source names a learner the hub cannot match to a person yet."""
    MALFORMED = "malformed"
    """The source's record could not be read into a command."""


@dataclass(frozen=True, slots=True)
class Hold:
    """A record a source sent that cannot be counted as it is: kept for an operator.

    ``payload`` is opaque to the ledger: a caller whose payload holds personal data encrypts it
    first. ``payload_hash`` (of the source's raw record) makes holding it again a no-op.
    """

    source: Source
    record_id: str
    kind: EntryKind
    reason: HoldReason
    payload: str
    payload_hash: str
    detail: str


@dataclass(frozen=True, slots=True)
class Replacement:
    """A request to count another version of a record instead of the one the ledger holds: a
    reversal of the stored credit ``replaces_seq`` (unless it is reversed already) and the new
    ``credit``, which names the credit it replaces. Refused with ``EntryNotCurrent`` when the
    record's current credit is no longer ``replaces_seq``."""

    credit: Credit
    replaces_seq: SequenceNumber
    reason: str

    @property
    def source(self) -> Source:
        return self.credit.source

    @property
    def record_id(self) -> str:
        return self.credit.record_id


Command = Credit | Reversal | Hold | Replacement
_Code = TypeVar("_Code", Source, Subject)
DELIVERY_ID_CHARACTERS_MAX = 200


def new_credit(
    *,
    person_id: str,
    source: str,
    record_id: str,
    course_code: str,
    course_title: str,
    subject: str,
    hours: Decimal | str,
    completed_at: datetime,
    actor: str,
    payload_hash: str,
) -> Credit:
    """A validated credit; raises ``InvalidCommand`` naming every field at fault."""
    errors: list[FieldError] = []
    checked_source = _member(Source, source, "source", errors)
    checked_subject = _member(Subject, subject, "subject", errors)
    checked_hours = _hours(hours, errors)
    required = {"person_id": person_id, "record_id": record_id, "course_code": course_code, "actor": actor}
    for name, value in required.items():
        _text(name, value, errors, required=True)
    _text("course_title", course_title, errors, required=False)
    _payload_hash(payload_hash, errors)
    if not isinstance(completed_at, datetime) or completed_at.utcoffset() is None:
        errors.append(FieldError("completed_at", "must be a date and time with a time zone"))
    if errors or checked_source is None or checked_subject is None or checked_hours is None:
        raise InvalidCommand(errors)
    return Credit(
        person_id=PersonId(person_id),
        source=checked_source,
        record_id=record_id,
        course_code=course_code,
        course_title=course_title,
        subject=checked_subject,
        hours=checked_hours,
        completed_at=completed_at,
        actor=actor,
        payload_hash=payload_hash,
    )


def new_reversal(*, source: str, record_id: str, reason: str, actor: str, payload_hash: str) -> Reversal:
    """A validated reversal; raises ``InvalidCommand`` naming every field at fault."""
    errors: list[FieldError] = []
    checked_source = _member(Source, source, "source", errors)
    _text("record_id", record_id, errors, required=True)
    _text("actor", actor, errors, required=True)
    if not isinstance(reason, str) or not reason.strip() or len(reason) > REASON_CHARACTERS_MAX:
        errors.append(FieldError("reason", f"must be between 1 and {REASON_CHARACTERS_MAX} characters"))
    elif has_control_characters(reason):
        errors.append(FieldError("reason", CONTROL_CHARACTERS_MESSAGE))
    _payload_hash(payload_hash, errors)
    if errors or checked_source is None:
        raise InvalidCommand(errors)
    return Reversal(source=checked_source, record_id=record_id, reason=reason, actor=actor, payload_hash=payload_hash)


def _member(kind: type[_Code], value: str, name: str, errors: list[FieldError]) -> _Code | None:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        errors.append(FieldError(name, f"must be one of {allowed}"))
        return None


def _hours(value: Decimal | str, errors: list[FieldError]) -> Hours | None:
    try:
        return parse_hours(value)
    except ValueError as exc:
        errors.append(FieldError("hours", str(exc)))
        return None


def _text(name: str, value: str, errors: list[FieldError], *, required: bool) -> None:
    if not isinstance(value, str) or (required and not value.strip()):
        errors.append(FieldError(name, "must not be empty"))
    elif len(value) > TEXT_FIELD_CHARACTERS_MAX:
        errors.append(FieldError(name, f"must be at most {TEXT_FIELD_CHARACTERS_MAX} characters"))
    elif has_control_characters(value):
        errors.append(FieldError(name, CONTROL_CHARACTERS_MESSAGE))


def has_control_characters(text: str) -> bool:
    """Whether ``text`` holds a control character: no record's text has one, and PostgreSQL refuses
    a NUL in any text, so that a record holding one could never be stored."""
    return CONTROL_CHARACTERS.search(text) is not None


def _payload_hash(value: str, errors: list[FieldError]) -> None:
    if not isinstance(value, str) or SHA256_HEX.fullmatch(value) is None:
        errors.append(FieldError("payload_hash", "must be a lower-case SHA-256 hex digest"))


@dataclass(frozen=True, slots=True)
class Entry:
    """One immutable line of the ledger. A reversal's hours subtract from its subject."""

    seq: SequenceNumber
    kind: EntryKind
    person_id: PersonId
    year: int
    subject: Subject
    hours: Hours
    source: Source
    record_id: str
    course_code: str
    course_title: str
    completed_at: datetime
    recorded_at: datetime
    actor: str
    payload_hash: str
    content_hash: str
    reverses_seq: SequenceNumber | None
    """A reversal's: the credit it withdraws. A credit's: the earlier credit of the same record it
    replaces (``None`` for a record's first credit)."""
    reason: str | None
    prev_hash: str
    hash: str

    @property
    def signed_hours(self) -> int:
        return self.hours if self.kind is EntryKind.CREDIT else -self.hours

    def chain_document(self) -> dict[str, object]:
        """Every field but ``hash``, in the form the chain hashes."""
        return {
            "seq": self.seq,
            "kind": self.kind.value,
            "person_id": self.person_id,
            "year": self.year,
            "subject": self.subject.value,
            "hours": self.hours,
            "source": self.source.value,
            "record_id": self.record_id,
            "course_code": self.course_code,
            "course_title": self.course_title,
            "completed_at": utc_text(self.completed_at),
            "recorded_at": utc_text(self.recorded_at),
            "actor": self.actor,
            "payload_hash": self.payload_hash,
            "content_hash": self.content_hash,
            "reverses_seq": self.reverses_seq,
            "reason": self.reason,
            "prev_hash": self.prev_hash,
        }


def sealed(entry: Entry) -> Entry:
    """An entry being appended, built with an empty ``hash``, given its hash.

    The one write to an ``Entry``, made right after it is built and before anything else holds
    it: building it a second time would cost the append path a third of its time. Entries read
    back are never sealed, so that verification compares the stored hash with a fresh one.
    """
    if entry.hash:
        raise LedgerCorrupted(f"entry {entry.seq} is already sealed")
    object.__setattr__(entry, "hash", chain_hash(entry.chain_document()))
    return entry


def chain_hash(document: Mapping[str, object]) -> str:
    """The hash of one entry: SHA-256 over the canonical encoding, which includes ``prev_hash``."""
    return sha256_hex(canonical_json(document))


@dataclass(frozen=True, slots=True)
class YearRules:
    """What a person must complete in one training year."""

    year: int
    total: Hours
    public: Hours
    professional: Hours
    hours_per_day: Hours
    mandatory: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Each topic → the ``source:course_code`` keys that satisfy it."""

    def record_hours_max(self, source: Source) -> Hours:
        if source.is_vendor:
            return VENDOR_RECORD_HOURS_MAX
        return Hours(OFFLINE_RECORD_DAYS_MAX * self.hours_per_day)


@dataclass(frozen=True, slots=True)
class Balance:
    """Counted hours of one person in one year, by subject."""

    public: int = 0
    professional: int = 0

    @property
    def total(self) -> int:
        return self.public + self.professional

    def of(self, subject: Subject) -> int:
        return self.public if subject is Subject.PUBLIC else self.professional


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Whether a year is met and, if not, exactly what is missing."""

    rules: YearRules
    earned: Balance
    missing_total: int
    missing_public: int
    missing_professional: int
    missing_topics: tuple[str, ...]

    @property
    def met(self) -> bool:
        return not (self.missing_total or self.missing_public or self.missing_professional or self.missing_topics)


def evaluate(rules: YearRules, earned: Balance, completed_courses: frozenset[str]) -> Evaluation:
    """Compare a year's counted hours and completed ``source:course_code`` keys with its rules."""
    return Evaluation(
        rules=rules,
        earned=earned,
        missing_total=max(0, rules.total - earned.total),
        missing_public=max(0, rules.public - earned.public),
        missing_professional=max(0, rules.professional - earned.professional),
        missing_topics=tuple(
            sorted(topic for topic, courses in rules.mandatory.items() if not courses & completed_courses)
        ),
    )


def counted_credits(entries: Iterable[Entry]) -> list[Entry]:
    """The credits among ``entries`` that no reversal among them withdraws, in their order."""
    listed = list(entries)
    reversed_seqs = {entry.reverses_seq for entry in listed if entry.kind is EntryKind.REVERSAL}
    return [entry for entry in listed if entry.kind is EntryKind.CREDIT and entry.seq not in reversed_seqs]


def evaluate_credits(rules: YearRules, credits: Iterable[Entry]) -> Evaluation:
    """Compare the hours and courses of these counted credits, and nothing else, with a year's rules."""
    hours = {Subject.PUBLIC: 0, Subject.PROFESSIONAL: 0}
    courses: set[str] = set()
    for credit in credits:
        if credit.kind is not EntryKind.CREDIT or credit.year != rules.year:
            raise LedgerCorrupted(f"entry {credit.seq} is not a credit of {rules.year}")
        hours[credit.subject] += credit.hours
        courses.add(course_key(credit.source, credit.course_code))
    earned = Balance(public=hours[Subject.PUBLIC], professional=hours[Subject.PROFESSIONAL])
    return evaluate(rules, earned, frozenset(courses))


@dataclass(frozen=True, slots=True)
class DueEvaluation:
    """A person's year whose entries changed since it was last reviewed: ``seq`` is the last entry
    appended to it. Written in the transaction that appends the entries, so no change goes unreviewed."""

    person_id: PersonId
    year: int
    seq: SequenceNumber


RecordKey = tuple[Source, str]
"""A source and the source's own record id."""

BalanceKey = tuple[str, int, Subject]
"""Person, year and subject."""


@dataclass(frozen=True, slots=True)
class PendingReversal:
    """A reversal kept until its credit arrives."""

    source: Source
    record_id: str
    reason: str
    actor: str
    payload_hash: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class HeldRecord:
    """A record held for an operator; ``fingerprint`` makes holding it again a no-op."""

    fingerprint: str
    reason: str
    source: Source
    record_id: str
    kind: EntryKind
    existing_seq: SequenceNumber | None
    payload: str
    detail: str
    received_at: datetime


HeldId = NewType("HeldId", int)


class Decision(enum.StrEnum):
    """What an operator decided about a held record."""

    RELEASED = "released"
    """Taken into the ledger (its entries, or the entry it duplicates, are named)."""
    REJECTED = "rejected"
    """Dismissed, with a reason; the ledger is unchanged."""


@dataclass(frozen=True, slots=True)
class HoldDecision:
    """An operator's decision about a held record: who, when, why, and the entries it led to."""

    held_id: HeldId
    decision: Decision
    actor: str
    reason: str | None
    decided_at: datetime
    entry_seqs: tuple[SequenceNumber, ...]


@dataclass(frozen=True, slots=True)
class Quarantined:
    """A held record as the ledger keeps it: its id, the record, and the decision once made."""

    id: HeldId
    record: HeldRecord
    decision: HoldDecision | None


class HeldStatus(enum.StrEnum):
    HELD = "held"
    """No decision yet."""
    RELEASED = Decision.RELEASED.value
    REJECTED = Decision.REJECTED.value


HELD_PAGE_SIZE_MAX = 200


@dataclass(frozen=True, slots=True)
class HeldQuery:
    """Held records oldest first: of a source, for a reason, in a status, after the id ``after``."""

    source: Source | None = None
    reason: HoldReason | None = None
    status: HeldStatus = HeldStatus.HELD
    after: HeldId | None = None
    limit: int = 50


class OutcomeKind(enum.StrEnum):
    APPENDED = "appended"
    """New entries were written (a credit, and a waiting reversal of it if there was one)."""
    DUPLICATE = "duplicate"
    """The same record with the same content is already in the ledger: nothing changed."""
    HELD = "held"
    """The record contradicts the stored one: both are kept, the new one for an operator."""
    PENDING = "pending"
    """A reversal of a record that is not there yet: kept, applied when the record arrives."""


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: OutcomeKind
    entries: tuple[Entry, ...] = ()
    """The entries written, or for a duplicate the stored entry."""
    held: HeldRecord | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One command as a source delivered it; ``delivery_id`` is the source's own id for the
    delivery (a webhook id, a page item's version, a form's record and time, a file line)."""

    command: Command
    delivery_id: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class SourcePosition:
    """Where the next read of a pulled source starts (for webtrn, its watermark); opaque here."""

    source: Source
    position: str


def course_key(source: Source, course_code: str) -> str:
    return f"{source.value}:{course_code}"
