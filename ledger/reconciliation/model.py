"""Reconciliation, pure: a vendor's records beside the ledger's, what differs between them, and the
runs and discrepancies that keep it.

A run compares one vendor's records in a scope (a training year, or a range of days in Beijing
time) with the ledger. Each record is compared once with ``compare``: the vendor's latest version
of it (``VendorRecord``, read by the vendor's adapter with the adapter's own translation) against
the ledger's current version of it (``LedgerRecord``). What differs is a ``Finding``:

- ``missing_in_ledger``: the vendor counts a record of a known learner that the ledger lacks;
- ``missing_at_vendor``: the ledger counts a record the vendor does not list;
- ``different``: both have it, and the learner, course, subject, hours or completion time differ,
  or one side counts it and the other revoked or reversed it;
- ``unknown_person``: the vendor counts a record of a learner the hub cannot name (the hub holds
  such a record for an operator, ``HoldReason.UNKNOWN_PERSON``), and the ledger does not count it.

A record the vendor itself revoked and still lists as active is no discrepancy: vendors never
reinstate a record, so the listing predates the revocation (hnou's daily files of a range end
before a later revocation). A discrepancy keeps its id while its kind still holds; one that no
longer holds is closed (``no_longer_holds``); an accepted one is not opened again unless the
vendor's record changes (its ``fingerprint``).
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Final

from ledger.errors import FieldError
from ledger.model import (
    BEIJING,
    HUNDREDTHS_PER_HOUR,
    REASON_CHARACTERS_MAX,
    Credit,
    Entry,
    EntryKind,
    PersonId,
    Source,
    canonical_json,
    format_hours,
    new_credit,
    utc_text,
)
from ledger.reconciliation.errors import InvalidReconciliationRequest

__all__ = [
    "DISCREPANCY_PAGE_SIZE_DEFAULT",
    "DISCREPANCY_PAGE_SIZE_MAX",
    "FITTING_ACTIONS",
    "RANGE_DAYS_MAX",
    "RECENT_RUNS_MAX",
    "VENDORS",
    "Comparison",
    "Counts",
    "Decision",
    "Discrepancy",
    "DiscrepancyKind",
    "DiscrepancyPage",
    "DiscrepancyQuery",
    "DiscrepancyStatus",
    "Finding",
    "LedgerRecord",
    "Resolution",
    "ResolutionAction",
    "Run",
    "RunRequest",
    "RunStatus",
    "Scope",
    "VendorRecord",
    "VendorState",
    "compare",
    "credit_from_text",
    "credit_text",
    "decide",
    "decode_cursor",
    "encode_cursor",
    "latest_records",
    "ledger_document",
    "parse_discrepancy_query",
    "parse_resolution",
    "parse_run_request",
    "vendor_actor",
]

VENDORS: Final = tuple(source for source in Source if source.is_vendor)
RANGE_DAYS_MAX: Final = 366
YEAR_MIN: Final = 2000
YEAR_MAX: Final = 2100
DISCREPANCY_PAGE_SIZE_DEFAULT: Final = 50
DISCREPANCY_PAGE_SIZE_MAX: Final = 200
RECENT_RUNS_MAX: Final = 100
QUERY_VALUE_CHARACTERS_MAX: Final = 100
FIELD_NAME_CHARACTERS_MAX: Final = 40
_DAY: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_CURSOR: Final = re.compile(r"[A-Za-z0-9_-]{1,40}", re.ASCII)
_FIELD_NAME: Final = re.compile(r"[A-Za-z0-9_.-]+", re.ASCII)
_CURSOR_PREFIX: Final = "discrepancy:"


def vendor_actor(source: Source) -> str:
    """The actor the adapters record for what a vendor itself delivered."""
    return f"vendor:{source.value}"


# ---------------------------------------------------------------- scope


@dataclass(frozen=True, slots=True)
class Scope:
    """The days a run covers, both ends included, in Beijing time; ``year`` when it is a whole year."""

    first_day: date
    last_day: date
    year: int | None = None

    def __post_init__(self) -> None:
        if self.last_day < self.first_day or (self.last_day - self.first_day).days >= RANGE_DAYS_MAX:
            raise ValueError(f"a scope runs forwards over at most {RANGE_DAYS_MAX} days")

    @classmethod
    def of_year(cls, year: int) -> Scope:
        return cls(date(year, 1, 1), date(year, 12, 31), year)

    @property
    def start(self) -> datetime:
        """The first instant covered."""
        return datetime.combine(self.first_day, time(), BEIJING)

    @property
    def end(self) -> datetime:
        """The first instant after the scope."""
        return datetime.combine(self.last_day + timedelta(days=1), time(), BEIJING)

    @property
    def years(self) -> tuple[int, ...]:
        """The training years the scope touches."""
        return tuple(range(self.first_day.year, self.last_day.year + 1))

    def days(self) -> Iterator[date]:
        for offset in range((self.last_day - self.first_day).days + 1):
            yield self.first_day + timedelta(days=offset)

    def covers(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


@dataclass(frozen=True, slots=True)
class RunRequest:
    """A validated request to reconcile one vendor over a scope."""

    vendor: Source
    scope: Scope


# ---------------------------------------------------------------- the two sides


class VendorState(enum.StrEnum):
    """What the vendor says of a record, as its adapter reads it."""

    COUNTED = "counted"
    """Active, of a learner the hub knows: the adapter translates it into a credit."""
    UNKNOWN_LEARNER = "unknown_learner"
    """Active, of a learner the hub cannot name."""
    REVOKED = "revoked"
    UNREADABLE = "unreadable"
    """The adapter could not read it; it is listed, so it is not missing, but nothing is compared."""


@dataclass(frozen=True, slots=True)
class VendorRecord:
    """The vendor's version of one record.

    ``credit`` is the adapter's translation of a counted record; ``fingerprint`` identifies what the
    vendor holds (content and status, titles and names aside, personal data only through keyed
    hashes); ``shown`` is the record as the vendor gave it, as JSON text with personal data masked.
    """

    record_id: str
    state: VendorState
    credit: Credit | None
    completed_at: datetime | None
    fingerprint: str
    shown: str

    def __post_init__(self) -> None:
        if (self.state is VendorState.COUNTED) != (self.credit is not None):
            raise ValueError("a vendor's record has a credit exactly when it is counted")
        if self.credit is not None and self.credit.record_id != self.record_id:
            raise ValueError("a vendor's record and its credit name the same record")
        if self.completed_at is not None and self.completed_at.utcoffset() is None:
            raise ValueError("a completion time is aware")


@dataclass(frozen=True, slots=True)
class LedgerRecord:
    """The ledger's current version of a record: its latest credit and, if it is reversed, the reversal."""

    credit: Entry
    reversal: Entry | None

    @property
    def counted(self) -> bool:
        return self.reversal is None


def latest_records(entries: Iterable[Entry]) -> dict[str, LedgerRecord]:
    """Each record's current version among the entries of one source, by record id: its latest
    credit (a credit that replaces another comes after it), and the reversal that names that credit."""
    credits: dict[str, Entry] = {}
    reversals: dict[int, Entry] = {}
    for entry in entries:
        if entry.kind is EntryKind.CREDIT:
            current = credits.get(entry.record_id)
            if current is None or current.seq < entry.seq:
                credits[entry.record_id] = entry
        elif entry.reverses_seq is not None:
            reversals[entry.reverses_seq] = entry
    return {record_id: LedgerRecord(credit, reversals.get(credit.seq)) for record_id, credit in credits.items()}


# ---------------------------------------------------------------- comparison


class DiscrepancyKind(enum.StrEnum):
    MISSING_IN_LEDGER = "missing_in_ledger"
    MISSING_AT_VENDOR = "missing_at_vendor"
    DIFFERENT = "different"
    UNKNOWN_PERSON = "unknown_person"


@dataclass(frozen=True, slots=True)
class Finding:
    """What differs about one record; for ``different``, which of ``status``, ``person``, ``course``,
    ``subject``, ``hours``, ``completed_at``."""

    kind: DiscrepancyKind
    differences: tuple[str, ...] = ()


def compare(source: Source, vendor: VendorRecord | None, ledger: LedgerRecord | None) -> Finding | None:
    """What differs between the vendor's and the ledger's version of one record, if anything.

    An unreadable vendor record cannot be compared: passing one is a bug (``ValueError``).
    """
    counted = ledger is not None and ledger.counted
    if vendor is None:
        return Finding(DiscrepancyKind.MISSING_AT_VENDOR) if counted else None
    if vendor.state is VendorState.UNREADABLE:
        raise ValueError("an unreadable vendor record cannot be compared")
    if vendor.state is VendorState.REVOKED:
        return Finding(DiscrepancyKind.DIFFERENT, ("status",)) if counted else None
    if vendor.state is VendorState.UNKNOWN_LEARNER:
        return Finding(DiscrepancyKind.DIFFERENT, ("person",)) if counted else Finding(DiscrepancyKind.UNKNOWN_PERSON)
    if ledger is None:
        return Finding(DiscrepancyKind.MISSING_IN_LEDGER)
    if ledger.reversal is not None:
        # The vendor's own revocation stands: its listing predates it (see the module's docstring).
        revoked_by_vendor = ledger.reversal.actor == vendor_actor(source)
        return None if revoked_by_vendor else Finding(DiscrepancyKind.DIFFERENT, ("status",))
    if vendor.credit is None:
        raise ValueError("a counted vendor record has its credit")
    differences = _differences(vendor.credit, ledger.credit)
    return Finding(DiscrepancyKind.DIFFERENT, differences) if differences else None


@dataclass(frozen=True, slots=True)
class Comparison:
    """One record compared: both sides as read, and what differs."""

    record_id: str
    finding: Finding | None
    vendor: VendorRecord | None
    ledger: LedgerRecord | None

    @property
    def fingerprint(self) -> str | None:
        return None if self.vendor is None else self.vendor.fingerprint


def _differences(vendor: Credit, ledger: Entry) -> tuple[str, ...]:
    pairs = (
        ("person", vendor.person_id, ledger.person_id),
        ("course", vendor.course_code, ledger.course_code),
        ("subject", vendor.subject, ledger.subject),
        ("hours", vendor.hours, ledger.hours),
        ("completed_at", vendor.completed_at, ledger.completed_at),
    )
    return tuple(name for name, theirs, ours in pairs if theirs != ours)


# ---------------------------------------------------------------- runs


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Counts:
    """What a run compared (distinct records seen on either side), the discrepancies it leaves
    open by kind (an accepted one that still holds is not counted again), and the vendor's
    records it could not read."""

    compared: int = 0
    missing_in_ledger: int = 0
    missing_at_vendor: int = 0
    different: int = 0
    unknown_person: int = 0
    unreadable: int = 0

    @classmethod
    def of(cls, compared: int, unreadable: int, kinds: Mapping[DiscrepancyKind, int]) -> Counts:
        return cls(
            compared=compared,
            missing_in_ledger=kinds.get(DiscrepancyKind.MISSING_IN_LEDGER, 0),
            missing_at_vendor=kinds.get(DiscrepancyKind.MISSING_AT_VENDOR, 0),
            different=kinds.get(DiscrepancyKind.DIFFERENT, 0),
            unknown_person=kinds.get(DiscrepancyKind.UNKNOWN_PERSON, 0),
            unreadable=unreadable,
        )

    def of_kind(self, kind: DiscrepancyKind) -> int:
        count: int = getattr(self, kind.value)
        return count

    @property
    def discrepancies(self) -> int:
        return sum(self.of_kind(kind) for kind in DiscrepancyKind)


@dataclass(frozen=True, slots=True)
class Run:
    """One reconciliation of a vendor: who or what started it, when, how it ended, and its counts."""

    id: int
    vendor: Source
    scope: Scope
    status: RunStatus
    started_by: str
    started_at: datetime
    finished_at: datetime | None
    counts: Counts
    failure: str | None


# ---------------------------------------------------------------- discrepancies


class DiscrepancyStatus(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class ResolutionAction(enum.StrEnum):
    INGEST = "ingest"
    """The ledger takes the vendor's version: a credit, or a reversal and a new credit, or a reversal."""
    REVERSE = "reverse"
    """A reversal of the ledger's entry."""
    ACCEPT = "accept"
    """The difference stands, with a reason; the ledger is left as it is."""
    NO_LONGER_HOLDS = "no_longer_holds"
    """A later run found the difference gone (never an operator's choice)."""


FITTING_ACTIONS: Final[Mapping[DiscrepancyKind, tuple[ResolutionAction, ...]]] = {
    DiscrepancyKind.MISSING_IN_LEDGER: (ResolutionAction.INGEST, ResolutionAction.ACCEPT),
    DiscrepancyKind.MISSING_AT_VENDOR: (ResolutionAction.REVERSE, ResolutionAction.ACCEPT),
    DiscrepancyKind.DIFFERENT: (ResolutionAction.INGEST, ResolutionAction.REVERSE, ResolutionAction.ACCEPT),
    DiscrepancyKind.UNKNOWN_PERSON: (ResolutionAction.ACCEPT,),
}


@dataclass(frozen=True, slots=True)
class Resolution:
    """Who resolved a discrepancy, when, how and why, and the ledger entries it appended."""

    action: ResolutionAction
    reason: str
    resolved_by: str
    resolved_at: datetime
    entry_seqs: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """A difference a run found, as the hub keeps it: both sides as the run saw them."""

    id: int
    vendor: Source
    kind: DiscrepancyKind
    record_id: str
    person_id: PersonId | None
    differences: tuple[str, ...]
    vendor_state: VendorState | None
    vendor_record: str | None
    """JSON text of the record as the vendor gave it, personal data masked; ``None`` when missing there."""
    vendor_credit: Credit | None
    vendor_fingerprint: str | None
    ledger_record: str | None
    """JSON text of the ledger's entry (``ledger_document``); ``None`` when the ledger has none."""
    completed_at: datetime
    status: DiscrepancyStatus
    opened_at: datetime
    opened_by_run: int
    last_run_id: int
    resolution: Resolution | None


class Decision(enum.Enum):
    """What a run does with a record's finding, given the open and accepted discrepancies of the record."""

    NOTHING = enum.auto()
    OPEN = enum.auto()
    KEEP = enum.auto()
    """The open discrepancy still holds: it keeps its id, with both sides as seen now."""
    CLOSE = enum.auto()
    CLOSE_AND_OPEN = enum.auto()
    """The open discrepancy no longer holds, and another of another kind does."""


def decide(
    finding: Finding | None,
    fingerprint: str | None,
    open_one: Discrepancy | None,
    accepted: Iterable[Discrepancy],
) -> Decision:
    """What to record for one compared record. An accepted discrepancy of the same kind whose
    vendor's record is unchanged (the same ``fingerprint``, or still none) is not opened again."""
    if finding is None:
        return Decision.NOTHING if open_one is None else Decision.CLOSE
    if open_one is not None and open_one.kind is finding.kind:
        return Decision.KEEP
    still_accepted = any(
        earlier.kind is finding.kind and earlier.vendor_fingerprint == fingerprint for earlier in accepted
    )
    if open_one is None:
        return Decision.NOTHING if still_accepted else Decision.OPEN
    return Decision.CLOSE if still_accepted else Decision.CLOSE_AND_OPEN


def ledger_document(record: LedgerRecord) -> dict[str, object]:
    """The ledger's side of a discrepancy: its latest credit of the record, and whether it counts."""
    credit = record.credit
    return {
        "seq": credit.seq,
        "kind": credit.kind.value,
        "person_id": credit.person_id,
        "course": {"id": credit.course_code, "title": credit.course_title},
        "subject": credit.subject.value,
        "hours": format_hours(credit.hours),
        "completed_at": credit.completed_at.isoformat(),
        "recorded_at": credit.recorded_at.isoformat(),
        "actor": credit.actor,
        "status": "counted" if record.reversal is None else "reversed",
        "reversed_by_seq": None if record.reversal is None else record.reversal.seq,
    }


def credit_text(credit: Credit) -> str:
    """A credit as canonical JSON text, to keep it beside a discrepancy."""
    return canonical_json(
        {
            "person_id": credit.person_id,
            "source": credit.source.value,
            "record_id": credit.record_id,
            "course_code": credit.course_code,
            "course_title": credit.course_title,
            "subject": credit.subject.value,
            "hours": credit.hours,
            "completed_at": utc_text(credit.completed_at),
            "actor": credit.actor,
            "payload_hash": credit.payload_hash,
        }
    ).decode()


def credit_from_text(text: str) -> Credit:
    """The credit ``credit_text`` wrote; raises ``InvalidCommand`` if it is not one."""
    document = json.loads(text)
    return new_credit(
        person_id=document["person_id"],
        source=document["source"],
        record_id=document["record_id"],
        course_code=document["course_code"],
        course_title=document["course_title"],
        subject=document["subject"],
        hours=Decimal(document["hours"]) / HUNDREDTHS_PER_HOUR,
        completed_at=datetime.fromisoformat(document["completed_at"]),
        actor=document["actor"],
        payload_hash=document["payload_hash"],
    )


# ---------------------------------------------------------------- listing discrepancies


@dataclass(frozen=True, slots=True)
class DiscrepancyQuery:
    """A page of discrepancies in the order they were opened, after the id ``after``."""

    status: DiscrepancyStatus | None = None
    vendor: Source | None = None
    after: int = 0
    limit: int = DISCREPANCY_PAGE_SIZE_DEFAULT


@dataclass(frozen=True, slots=True)
class DiscrepancyPage:
    items: tuple[Discrepancy, ...]
    next_cursor: str | None


def encode_cursor(discrepancy_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{discrepancy_id}".encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> int | None:
    """The id in a cursor ``encode_cursor`` made, or ``None`` for anything else."""
    if _CURSOR.fullmatch(cursor) is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        return None
    number = text.removeprefix(_CURSOR_PREFIX)
    if not text.startswith(_CURSOR_PREFIX) or not (number.isascii() and number.isdigit()) or len(number) > 18:
        return None
    return int(number) if encode_cursor(int(number)) == cursor else None


# ---------------------------------------------------------------- parsing requests


def parse_run_request(document: Mapping[str, object]) -> RunRequest:
    """``{"vendor", "year"}`` or ``{"vendor", "from", "to"}`` (days ``YYYY-MM-DD``, both included).

    Raises ``InvalidReconciliationRequest`` naming every field at fault. Whether the vendor is
    configured and the years have rules is the service's to check.
    """
    errors = _unknown_fields(document, {"vendor", "year", "from", "to"})
    vendor = _vendor(document.get("vendor"), "vendor", errors, required=True)
    scope = _scope(document, errors)
    if errors or vendor is None or scope is None:
        raise InvalidReconciliationRequest(errors)
    return RunRequest(vendor, scope)


def parse_resolution(document: Mapping[str, object]) -> tuple[ResolutionAction, str]:
    """``{"action": "ingest" | "reverse" | "accept", "reason"}``; raises ``InvalidReconciliationRequest``."""
    errors = _unknown_fields(document, {"action", "reason"})
    action_text = document.get("action")
    chosen = [action for action in ResolutionAction if action.value == action_text]
    if not chosen or chosen[0] is ResolutionAction.NO_LONGER_HOLDS:
        errors.append(FieldError("action", "must be one of ingest, reverse, accept"))
    reason = document.get("reason")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > REASON_CHARACTERS_MAX:
        errors.append(FieldError("reason", f"is required: a text of 1 to {REASON_CHARACTERS_MAX} characters"))
    if errors or not isinstance(reason, str):
        raise InvalidReconciliationRequest(errors)
    return chosen[0], reason.strip()


def parse_discrepancy_query(parameters: Iterable[tuple[str, str]]) -> DiscrepancyQuery:
    """``status``, ``vendor``, ``cursor``, ``limit``; raises ``InvalidReconciliationRequest``."""
    values: dict[str, str] = {}
    errors: list[FieldError] = []
    for name, value in parameters:
        if name not in {"status", "vendor", "cursor", "limit"}:
            errors.append(FieldError(_shown(name), "is not a parameter of this query"))
        elif name in values or len(value) > QUERY_VALUE_CHARACTERS_MAX:
            errors.append(FieldError(name, f"must be given once, of at most {QUERY_VALUE_CHARACTERS_MAX} characters"))
        else:
            values[name] = value
    status = None
    if "status" in values:
        status = next((member for member in DiscrepancyStatus if member.value == values["status"]), None)
        if status is None:
            errors.append(FieldError("status", "must be open or resolved"))
    vendor = _vendor(values.get("vendor"), "vendor", errors, required=False)
    after = 0
    if "cursor" in values:
        decoded = decode_cursor(values["cursor"])
        if decoded is None:
            errors.append(FieldError("cursor", "must be a next_cursor this endpoint gave"))
        after = decoded or 0
    limit = _limit(values.get("limit"), errors)
    if errors:
        raise InvalidReconciliationRequest(errors)
    return DiscrepancyQuery(status=status, vendor=vendor, after=after, limit=limit)


def _unknown_fields(document: Mapping[str, object], known: set[str]) -> list[FieldError]:
    return [FieldError(_shown(name), "is unknown") for name in document if name not in known]


def _shown(name: str) -> str:
    """A name the caller sent, echoed only when it is short and plain."""
    return name if _FIELD_NAME.fullmatch(name) and len(name) <= FIELD_NAME_CHARACTERS_MAX else "?"


def _vendor(value: object, name: str, errors: list[FieldError], *, required: bool) -> Source | None:
    if value is None and not required:
        return None
    for vendor in VENDORS:
        if vendor.value == value:
            return vendor
    errors.append(FieldError(name, f"must be one of {', '.join(vendor.value for vendor in VENDORS)}"))
    return None


def _scope(document: Mapping[str, object], errors: list[FieldError]) -> Scope | None:
    year, first, last = document.get("year"), document.get("from"), document.get("to")
    if year is not None and (first is not None or last is not None):
        errors.append(FieldError("year", "give a year, or from and to, not both"))
        return None
    if year is not None:
        if isinstance(year, bool) or not isinstance(year, int) or not YEAR_MIN <= year <= YEAR_MAX:
            errors.append(FieldError("year", f"must be a whole number from {YEAR_MIN} to {YEAR_MAX}"))
            return None
        return Scope.of_year(year)
    if first is None and last is None:
        errors.append(FieldError("year", "is required, unless from and to are given"))
        return None
    return _range(_day(first, "from", errors), _day(last, "to", errors), errors)


def _range(first_day: date | None, last_day: date | None, errors: list[FieldError]) -> Scope | None:
    if first_day is None or last_day is None:
        return None
    if last_day < first_day:
        errors.append(FieldError("to", "must not be before from"))
        return None
    if (last_day - first_day).days >= RANGE_DAYS_MAX:
        errors.append(FieldError("to", f"a range covers at most {RANGE_DAYS_MAX} days"))
        return None
    return Scope(first_day, last_day)


def _day(value: object, name: str, errors: list[FieldError]) -> date | None:
    if isinstance(value, str) and _DAY.fullmatch(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            pass
        else:
            if YEAR_MIN <= day.year <= YEAR_MAX:
                return day
    errors.append(FieldError(name, f"must be a day written YYYY-MM-DD, in the years {YEAR_MIN} to {YEAR_MAX}"))
    return None


def _limit(value: str | None, errors: list[FieldError]) -> int:
    if value is None:
        return DISCREPANCY_PAGE_SIZE_DEFAULT
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= DISCREPANCY_PAGE_SIZE_MAX:
        errors.append(FieldError("limit", f"must be a whole number from 1 to {DISCREPANCY_PAGE_SIZE_MAX}"))
        return DISCREPANCY_PAGE_SIZE_DEFAULT
    return int(value)
