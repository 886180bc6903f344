"""The ingestion view, pure: refusals and their counts, the events operators page through, the
per-vendor summary, and the parsing of their queries.

An event is either a receipt of the ledger (one delivery that reached it, with the outcome the ledger
decided: appended, duplicate, held with its reason, pending) or a bucket of refusals (deliveries
refused at the door, counted per vendor, reason, fields at fault and minute). Events are listed
newest first by the time they were received; a bucket by the first refusal it counts, which never
changes once written, so a cursor stays valid while buckets are counted up.
"""

from __future__ import annotations

import base64
import binascii
import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from types import MappingProxyType
from typing import Final, TypeVar

from adapters.errors import AdapterError, DeliveryInvalid
from adapters.ingestion.errors import InvalidEventQuery
from ledger.errors import FieldError
from ledger.model import Decision, EntryKind, OutcomeKind, Source, utc_text

__all__ = [
    "ACTIVITY_PERIODS_MAX",
    "EVENTS_PAGE_SIZE_DEFAULT",
    "EVENTS_PAGE_SIZE_MAX",
    "VENDORS",
    "ActivityPeriod",
    "ActivitySpan",
    "DeliveryCounts",
    "EventOrigin",
    "EventOutcome",
    "EventPage",
    "EventPosition",
    "EventQuery",
    "IngestionEvent",
    "Refusal",
    "RefusalBucket",
    "RefusalCount",
    "VendorActivity",
    "VendorHealth",
    "VendorSummary",
    "Window",
    "activity_bounds",
    "decode_cursor",
    "encode_cursor",
    "page_of",
    "parse_event_query",
    "parse_summary_query",
    "refusal_of",
]

VENDORS: Final = tuple(source for source in Source if source.is_vendor)
EVENTS_PAGE_SIZE_DEFAULT: Final = 50
EVENTS_PAGE_SIZE_MAX: Final = 200
QUERY_VALUE_CHARACTERS_MAX: Final = 100
REASON_CHARACTERS_MAX: Final = 32
FIELD_NAME_CHARACTERS_MAX: Final = 40
FIELDS_PER_REFUSAL_MAX: Final = 12
"""With names of at most 40 characters and commas, the fields fit the table's 500 characters."""
DELIVERY_ID_CHARACTERS_MAX: Final = 200
GENERIC_REASON: Final = "refused"
ACTIVITY_PERIODS_MAX: Final = 48
"""Periods one activity read counts at most: each is a branch of the query's CASE."""

_REASON: Final = re.compile(r"[a-z][a-z0-9_]*", re.ASCII)
_FIELD_NAME: Final = re.compile(r"[A-Za-z0-9_.\[\]-]+", re.ASCII)
_DELIVERY_ID: Final = re.compile(r"[\x21-\x7e]+", re.ASCII)
_CURSOR: Final = re.compile(r"[A-Za-z0-9_-]{1,100}", re.ASCII)
_EVENT_PARAMETERS: Final = frozenset({"vendor", "outcome", "from", "to", "cursor", "limit"})
_SUMMARY_PARAMETERS: Final = frozenset({"from", "to"})
_Code = TypeVar("_Code", bound=enum.StrEnum)


# ---------------------------------------------------------------- refusals


@dataclass(frozen=True, slots=True)
class RefusalBucket:
    """What refusals are counted under: a vendor, a reason, the fields at fault, a minute (UTC)."""

    vendor: Source
    reason: str
    fields: str
    minute: datetime


@dataclass(frozen=True, slots=True)
class Refusal:
    """One delivery refused before it reached the ledger. ``delivery_id`` is the vendor's id of it,
    given only once its signature verified: before that it is the sender's word."""

    vendor: Source
    reason: str
    fields: tuple[str, ...]
    delivery_id: str | None
    refused_at: datetime

    @property
    def bucket(self) -> RefusalBucket:
        minute = self.refused_at.astimezone(UTC).replace(second=0, microsecond=0)
        return RefusalBucket(self.vendor, self.reason, ",".join(self.fields), minute)


def refusal_of(vendor: Source, error: AdapterError, refused_at: datetime, delivery_id: str | None = None) -> Refusal:
    """The refusal an adapter's error stands for: its stable code and the names of the fields at fault.

    hnou's refusals carry the reason hnou is answered (``FAIL:<reason>``), finer than their adapter
    code (a stale timestamp and a reused nonce are both a refused signature); its field names are
    kept apart from it, so that the reason stays one of a few codes. A reason, a field name or a
    delivery id of an unexpected shape is not kept: what is recorded must never fail.
    """
    reason = getattr(error, "reason", None)
    code = reason.partition(":")[0] if isinstance(reason, str) else error.code
    fields = [item.field for item in error.errors] if isinstance(error, DeliveryInvalid) else []
    return Refusal(
        vendor=vendor,
        reason=code if _fits(_REASON, code, REASON_CHARACTERS_MAX) else GENERIC_REASON,
        fields=tuple(name for name in dict.fromkeys(fields) if _fits(_FIELD_NAME, name, FIELD_NAME_CHARACTERS_MAX))[
            :FIELDS_PER_REFUSAL_MAX
        ],
        delivery_id=delivery_id if _fits(_DELIVERY_ID, delivery_id, DELIVERY_ID_CHARACTERS_MAX) else None,
        refused_at=refused_at,
    )


def _fits(shape: re.Pattern[str], text: str | None, length_max: int) -> bool:
    return text is not None and len(text) <= length_max and shape.fullmatch(text) is not None


@dataclass(frozen=True, slots=True)
class RefusalCount:
    """Refusals of one bucket not yet written: how many, the first and last time, and the delivery
    id last given (a refusal before the signature verified gives none)."""

    bucket: RefusalBucket
    count: int
    first_at: datetime
    last_at: datetime
    last_delivery_id: str | None

    @classmethod
    def of(cls, refusal: Refusal) -> RefusalCount:
        at = refusal.refused_at
        return cls(refusal.bucket, 1, at, at, refusal.delivery_id)

    def plus(self, newer: RefusalCount) -> RefusalCount:
        """Both counts of the same bucket as one; ``newer`` was counted after this one, so its
        delivery id, if it has one, is the last."""
        return RefusalCount(
            bucket=self.bucket,
            count=self.count + newer.count,
            first_at=min(self.first_at, newer.first_at),
            last_at=max(self.last_at, newer.last_at),
            last_delivery_id=newer.last_delivery_id or self.last_delivery_id,
        )


# ---------------------------------------------------------------- events


class EventOutcome(enum.StrEnum):
    """What became of a delivery: the ledger's outcomes (a held one, once an operator decided, is
    released or rejected), or refused before it reached the ledger."""

    APPENDED = OutcomeKind.APPENDED.value
    DUPLICATE = OutcomeKind.DUPLICATE.value
    HELD = OutcomeKind.HELD.value
    PENDING = OutcomeKind.PENDING.value
    RELEASED = Decision.RELEASED.value
    REJECTED = Decision.REJECTED.value
    REFUSED = "refused"


class EventOrigin(enum.IntEnum):
    """Where an event is kept; it orders events received at the same instant."""

    REFUSAL = 0
    RECEIPT = 1


@dataclass(frozen=True, slots=True, order=True)
class EventPosition:
    """An event's place in the listing, which is newest first: by time, then origin, then row id."""

    at: datetime
    origin: EventOrigin
    id: int


@dataclass(frozen=True, slots=True)
class IngestionEvent:
    """One receipt of the ledger, or one bucket of refusals (``count`` of them)."""

    position: EventPosition
    vendor: Source
    outcome: EventOutcome
    delivery_id: str | None
    record_id: str | None
    kind: EntryKind | None
    reason: str | None
    """The held record's reason (conflict, unknown_person, malformed; kept once it is decided) or the refusal's."""
    fields: tuple[str, ...]
    count: int
    received_at: datetime
    last_received_at: datetime
    entry_seq: int | None


@dataclass(frozen=True, slots=True)
class Window:
    """Received at or after ``since`` and before ``until``; either end may be open."""

    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class EventQuery:
    """A page of events, newest first: of these vendors, with this outcome, in this window, after ``after``."""

    vendors: tuple[Source, ...] = VENDORS
    outcome: EventOutcome | None = None
    window: Window = field(default_factory=Window)
    after: EventPosition | None = None
    limit: int = EVENTS_PAGE_SIZE_DEFAULT


@dataclass(frozen=True, slots=True)
class EventPage:
    """Events newest first; ``next_cursor`` continues with older ones, ``None`` on the last page."""

    events: tuple[IngestionEvent, ...]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class VendorSummary:
    """What one vendor delivered in a window: counts by outcome, held (still waiting for an operator)
    by reason, refused by reason, and when the last delivery that reached the ledger was received."""

    vendor: Source
    outcomes: Mapping[EventOutcome, int] = field(default_factory=lambda: MappingProxyType({}))
    held: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    refusals: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    last_stored_at: datetime | None = None

    @property
    def arrived(self) -> int:
        """Every delivery counted: those the ledger took and those refused at the door."""
        return sum(self.outcomes.values())


@dataclass(frozen=True, slots=True)
class DeliveryCounts:
    """One vendor's deliveries as the database holds them: the last one the ledger took, how many it
    stored (appended, duplicate, pending), how many were refused at the door (within the refusals'
    retention), and how many held records still wait for an operator."""

    last_delivery_at: datetime | None = None
    stored: int = 0
    refused: int = 0
    quarantined: int = 0


@dataclass(frozen=True, slots=True)
class VendorHealth:
    """How one vendor stands: configured or not, its deliveries, its last successful pull, and the
    discrepancies with it still open."""

    vendor: Source
    configured: bool
    deliveries: DeliveryCounts
    last_pull_at: datetime | None
    open_discrepancies: int

    @property
    def last_success_at(self) -> datetime | None:
        """The later of the last delivery the ledger took and the last successful pull."""
        moments = [moment for moment in (self.deliveries.last_delivery_at, self.last_pull_at) if moment is not None]
        return max(moments, default=None)

    def lag_seconds(self, now: datetime) -> float | None:
        """How long since the last success; ``None`` when there was none."""
        last = self.last_success_at
        return None if last is None else max(0.0, (now - last).total_seconds())


def page_of(candidates: Iterable[IngestionEvent], limit: int) -> EventPage:
    """The newest ``limit`` candidates, with a cursor when more remain.

    The candidates are the newest ``limit + 1`` of every part read (a vendor's receipts, its
    refusals): the newest ``limit + 1`` of all are among them.
    """
    ordered = sorted(candidates, key=lambda event: event.position, reverse=True)
    page = tuple(ordered[:limit])
    return EventPage(page, encode_cursor(page[-1].position) if len(ordered) > limit else None)


def encode_cursor(position: EventPosition) -> str:
    """An opaque cursor that continues after (older than) this position."""
    text = f"{utc_text(position.at)}|{position.origin.value}|{position.id}"
    return base64.urlsafe_b64encode(text.encode("ascii")).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> EventPosition | None:
    """The position in a cursor ``encode_cursor`` made, or ``None`` for anything else."""
    if _CURSOR.fullmatch(cursor) is None:
        return None
    try:
        at_text, origin_text, id_text = (
            base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii").split("|")
        )
        position = EventPosition(datetime.fromisoformat(at_text), EventOrigin(int(origin_text)), int(id_text))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    # Only the one spelling this endpoint writes: a cursor is not a place to smuggle text through.
    return position if position.at.tzinfo is not None and encode_cursor(position) == cursor else None


# ---------------------------------------------------------------- activity over time


class ActivitySpan(enum.StrEnum):
    """How far back the activity goes, and in which periods: a day of hours, a week or a month of days."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"

    @property
    def periods(self) -> int:
        return {ActivitySpan.DAY: 24, ActivitySpan.WEEK: 7, ActivitySpan.MONTH: 30}[self]

    @property
    def period(self) -> timedelta:
        return timedelta(hours=1) if self is ActivitySpan.DAY else timedelta(days=1)


def activity_bounds(now: datetime, span: ActivitySpan, zone: tzinfo) -> tuple[datetime, ...]:
    """The bounds of the span's periods up to ``now``, oldest first, in UTC: one more than the periods.

    The last period is the current one (its hour, or its day in ``zone``) and ends with it, so it is
    still filling; hours and days start on the hour and at midnight in ``zone``.
    """
    local = now.astimezone(zone)
    current = (
        local.replace(minute=0, second=0, microsecond=0)
        if span is ActivitySpan.DAY
        else local.replace(hour=0, minute=0, second=0, microsecond=0)
    )
    # Days are stepped in the local calendar and hours on the UTC clock, so a zone's change of offset
    # leaves every period one day or one hour long.
    if span is ActivitySpan.DAY:
        first = current.astimezone(UTC) - span.period * (span.periods - 1)
        return tuple(first + span.period * index for index in range(span.periods + 1))
    days = [current.date() - timedelta(days=span.periods - 1 - index) for index in range(span.periods + 1)]
    return tuple(datetime.combine(day, current.timetz()).astimezone(UTC) for day in days)


@dataclass(frozen=True, slots=True)
class ActivityPeriod:
    """One period of a vendor's deliveries: those that reached the ledger, those refused at the door,
    and the lag of the credits it appended, in whole seconds from their completion to their arrival."""

    starts_at: datetime
    ends_at: datetime
    delivered: int = 0
    refused: int = 0
    credits: int = 0
    """Credits appended in the period: the deliveries whose lag is counted."""
    lag_seconds_total: int = 0
    lag_seconds_max: int = 0

    @property
    def lag_seconds_mean(self) -> int | None:
        """The mean lag of the period's credits, rounded down to the second; ``None`` without credits."""
        return None if self.credits == 0 else self.lag_seconds_total // self.credits


@dataclass(frozen=True, slots=True)
class VendorActivity:
    """A vendor's deliveries period by period, oldest first."""

    vendor: Source
    periods: tuple[ActivityPeriod, ...]

    @property
    def idle(self) -> bool:
        return not any(period.delivered or period.refused for period in self.periods)


# ---------------------------------------------------------------- parsing the queries


def parse_event_query(parameters: Iterable[tuple[str, str]]) -> EventQuery:
    """The events query in URL parameters (``vendor``, ``outcome``, ``from``, ``to``, ``cursor``, ``limit``).

    Raises ``InvalidEventQuery`` listing every parameter at fault, unknown and repeated ones included.
    """
    values, errors = _parameters(parameters, _EVENT_PARAMETERS)
    vendor = _member(values.get("vendor"), "vendor", errors, VENDORS)
    outcome = _member(values.get("outcome"), "outcome", errors, tuple(EventOutcome))
    window = _window(values, errors)
    after = _cursor(values.get("cursor"), errors)
    limit = _limit(values.get("limit"), errors)
    if errors:
        raise InvalidEventQuery(errors)
    return EventQuery(
        vendors=VENDORS if vendor is None else (vendor,),
        outcome=outcome,
        window=window,
        after=after,
        limit=limit,
    )


def parse_summary_query(parameters: Iterable[tuple[str, str]]) -> Window:
    """The summary's window in URL parameters (``from``, ``to``). Raises ``InvalidEventQuery``."""
    values, errors = _parameters(parameters, _SUMMARY_PARAMETERS)
    window = _window(values, errors)
    if errors:
        raise InvalidEventQuery(errors)
    return window


def _parameters(
    parameters: Iterable[tuple[str, str]], known: frozenset[str]
) -> tuple[dict[str, str], list[FieldError]]:
    values: dict[str, str] = {}
    errors: list[FieldError] = []
    for name, value in parameters:
        # A name the caller typed is echoed only if it is one of ours or short and plain.
        shown = name if _fits(_FIELD_NAME, name, FIELD_NAME_CHARACTERS_MAX) else "?"
        if name not in known:
            errors.append(FieldError(shown, "is not a parameter of this query"))
        elif name in values:
            errors.append(FieldError(name, "must be given once"))
        elif len(value) > QUERY_VALUE_CHARACTERS_MAX:
            errors.append(FieldError(name, f"must be at most {QUERY_VALUE_CHARACTERS_MAX} characters"))
            values[name] = ""
        else:
            values[name] = value
    return values, errors


def _member(value: str | None, name: str, errors: list[FieldError], allowed: tuple[_Code, ...]) -> _Code | None:
    if value is None or any(error.field == name for error in errors):
        return None
    for member in allowed:
        if member.value == value:
            return member
    errors.append(FieldError(name, f"must be one of {', '.join(member.value for member in allowed)}"))
    return None


def _window(values: Mapping[str, str], errors: list[FieldError]) -> Window:
    since = _instant(values.get("from"), "from", errors)
    until = _instant(values.get("to"), "to", errors)
    if since is not None and until is not None and until <= since:
        errors.append(FieldError("to", "must be later than from"))
    return Window(since, until)


def _instant(value: str | None, name: str, errors: list[FieldError]) -> datetime | None:
    if value is None or any(error.field == name for error in errors):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        errors.append(FieldError(name, "must be an ISO 8601 time with its offset, such as 2021-06-01T08:00:00+08:00"))
        return None
    return moment


def _cursor(value: str | None, errors: list[FieldError]) -> EventPosition | None:
    if value is None or any(error.field == "cursor" for error in errors):
        return None
    position = decode_cursor(value)
    if position is None:
        errors.append(FieldError("cursor", "must be a next_cursor this endpoint gave"))
    return position


def _limit(value: str | None, errors: list[FieldError]) -> int:
    if value is None or any(error.field == "limit" for error in errors):
        return EVENTS_PAGE_SIZE_DEFAULT
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= EVENTS_PAGE_SIZE_MAX:
        errors.append(FieldError("limit", f"must be a whole number from 1 to {EVENTS_PAGE_SIZE_MAX}"))
        return EVENTS_PAGE_SIZE_DEFAULT
    return int(value)
