"""思想天下 (ischinese)'s sending side of completions, simulated for the demo and the tests.

It plays vendors.md §1 "Completions (push)" and "Listing" as the vendor would: it keeps completion
records, sends each event (``completion.created``, ``completion.revoked``, ``account.linked``) to
``{hub}/webhooks/ischinese`` as a Standard Webhook signed with the ``standardwebhooks`` package (the
spec's reference library), and retries every non-2xx answer with growing delays, up to a bound,
under the same ``webhook-id`` and body, each try stamped and signed afresh. It can be told to lose
the events of chosen completions (they are never sent, but stay in its listing), so that
reconciliation has something to find. It serves ``GET /api/v2/completions`` to holders of its API
key, in pages that stay stable for a year: records keep the place they were first kept in.

It imports nothing of the hub: its signing and its parsing are its own, so that the hub's side is
tested against the contract and not against itself.

    hours = HoursSimulator(hub_url="http://127.0.0.1:8080", webhook_secret="whsec_…", api_key="…", http=client)
    sent = await hours.send(hours.keep(SimulatedCompletion(...)))   # tries until a 2xx
    await hours.send(sent.event)                                     # a redelivery: the same webhook-id
    hours.lose("c-000007")                                           # its events are never sent
    hours.fail_listing(503, on_requests=[1])                         # the first listing request fails
    app.add_routes(hours.routes())                                   # the listing, in another app
"""

from __future__ import annotations

import asyncio
import enum
import hmac
import json
import math
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Final

import httpx
from aiohttp import web
from standardwebhooks import Webhook

__all__ = [
    "LISTING_PATH",
    "WEBHOOK_PATH",
    "Attempt",
    "CompletionStatus",
    "Event",
    "EventType",
    "HoursSimulator",
    "Sending",
    "SimulatedCompletion",
    "SimulatorGaveUp",
]

BEIJING: Final = timezone(timedelta(hours=8), "Asia/Shanghai")
WEBHOOK_PATH: Final = "/webhooks/ischinese"
LISTING_PATH: Final = "/api/v2/completions"
SEND_TIMEOUT_SECONDS: Final = 10.0
ANSWER_CHARACTERS_KEPT_MAX: Final = 2_000
PER_PAGE_DEFAULT: Final = 100
PER_PAGE_MAX: Final = 500
PAGE_MAX: Final = 1_000_000
YEAR_MIN: Final = 2000
YEAR_MAX: Final = 2100
WEBHOOK_ID_BYTES: Final = 12


class EventType(enum.StrEnum):
    COMPLETION_CREATED = "completion.created"
    COMPLETION_REVOKED = "completion.revoked"
    ACCOUNT_LINKED = "account.linked"


class CompletionStatus(enum.StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"


class SimulatorGaveUp(Exception):
    """The hub did not answer a 2xx within the simulator's tries."""


@dataclass(frozen=True, slots=True)
class SimulatedCompletion:
    """A completion as ischinese keeps it; ``hours`` is the decimal text it sends."""

    completion_id: str
    sub: str
    course_id: str
    course_title: str
    subject: str
    """``public`` or ``professional``."""
    hours: str
    completed_at: datetime

    def data(self) -> dict[str, object]:
        """The ``data`` of its ``completion.created`` event: the completion time in Beijing time."""
        return {
            "completion_id": self.completion_id,
            "sub": self.sub,
            "course": {
                "id": self.course_id,
                "title": self.course_title,
                "subject": self.subject,
                "hours": self.hours,
            },
            "completed_at": self.completed_at.astimezone(BEIJING).isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Event:
    """One event as it goes on the wire: the ``webhook-id`` and the body stay the same on every try."""

    webhook_id: str
    type: EventType
    body: str
    completion_id: str | None
    """The completion the event is about; ``None`` for ``account.linked``."""


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try's answer: the status (0 when the hub could not be reached) and the start of its text."""

    status: int
    text: str

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True, slots=True)
class Sending:
    """What became of one event: every try's answer, or nothing tried because it was lost."""

    event: Event
    attempts: tuple[Attempt, ...]
    lost: bool = False

    @property
    def delivered(self) -> bool:
        return bool(self.attempts) and self.attempts[-1].accepted


@dataclass(slots=True)
class _Kept:
    completion: SimulatedCompletion
    status: CompletionStatus


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class HoursSimulator:
    """ischinese's completions: webhooks sent to the hub, and the listing served."""

    hub_url: str
    webhook_secret: str = field(repr=False)
    """The ``whsec_…`` secret the hub has configured; change it to play a rotation."""
    api_key: str = field(repr=False)
    http: httpx.AsyncClient
    clock: Callable[[], datetime] = _utc_now
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    retry_delay_seconds_base: float = 5.0
    retry_delay_seconds_max: float = 3600.0
    attempts_max: int = 20
    losing: set[str] = field(default_factory=set)
    """Completion ids whose events are lost: never sent."""
    lost_events: list[Event] = field(default_factory=list)
    sent: list[Sending] = field(default_factory=list)
    """Every event sent, in order, with its answers (for assertions and the demo's story)."""
    listing_requests: int = 0
    listing_faults: dict[int, int] = field(default_factory=dict)
    """Listing requests (counted from 1) answered with a status instead of a page."""
    _records: dict[str, _Kept] = field(default_factory=dict)

    # ------------------------------------------------------------ records and their events

    def keep(self, completion: SimulatedCompletion) -> Event:
        """Keep a completion (active) and return its ``completion.created`` event, not yet sent."""
        self._records[completion.completion_id] = _Kept(completion, CompletionStatus.ACTIVE)
        return self._event(EventType.COMPLETION_CREATED, completion.data(), completion.completion_id)

    def withdraw(self, completion_id: str, reason: str) -> Event:
        """Revoke a kept completion and return its ``completion.revoked`` event, not yet sent."""
        self._records[completion_id].status = CompletionStatus.REVOKED
        data = {"completion_id": completion_id, "reason": reason}
        return self._event(EventType.COMPLETION_REVOKED, data, completion_id)

    def account_linked(self, sub: str, account_id: str) -> Event:
        """The ``account.linked`` event of a learner's account, not yet sent."""
        return self._event(EventType.ACCOUNT_LINKED, {"sub": sub, "account_id": account_id}, None)

    def lose(self, *completion_ids: str) -> None:
        """From now on, the events of these completions are lost on the way: never sent."""
        self.losing.update(completion_ids)

    def fail_listing(self, status: int, *, on_requests: Iterable[int]) -> None:
        """Answer ``status`` instead of a page to these listing requests (counted from 1)."""
        self.listing_faults.update(dict.fromkeys(on_requests, status))

    def completion(self, completion_id: str) -> SimulatedCompletion:
        """The completion kept under this id, as it stands now; raises ``KeyError``."""
        return self._records[completion_id].completion

    def listed(self, year: int) -> list[dict[str, object]]:
        """The records of a training year (Beijing time), as the listing gives them, in their kept order."""
        return [
            {**kept.completion.data(), "status": kept.status.value}
            for kept in self._records.values()
            if kept.completion.completed_at.astimezone(BEIJING).year == year
        ]

    def _event(self, kind: EventType, data: Mapping[str, object], completion_id: str | None) -> Event:
        document = {"type": kind.value, "timestamp": self.clock().astimezone(BEIJING).isoformat(), "data": data}
        webhook_id = f"msg_{secrets.token_hex(WEBHOOK_ID_BYTES)}"
        return Event(webhook_id, kind, json.dumps(document, ensure_ascii=False), completion_id)

    # ------------------------------------------------------------ sending

    async def send(self, event: Event) -> Sending:
        """Send the event until the hub answers a 2xx; each failure waits longer (doubling from
        ``retry_delay_seconds_base`` up to ``retry_delay_seconds_max``). Sending an event again is a
        redelivery under the same ``webhook-id``.

        An event of a completion being lost is not sent. Raises ``SimulatorGaveUp`` after
        ``attempts_max`` tries.
        """
        if event.completion_id in self.losing:
            self.lost_events.append(event)
            return self._remember(Sending(event, (), lost=True))
        attempts: list[Attempt] = []
        for attempt in range(self.attempts_max):
            if attempt:
                await self.sleep(min(self.retry_delay_seconds_max, self.retry_delay_seconds_base * 2 ** (attempt - 1)))
            attempts.append(await self.post(event))
            if attempts[-1].accepted:
                return self._remember(Sending(event, tuple(attempts)))
        self._remember(Sending(event, tuple(attempts)))
        raise SimulatorGaveUp(f"no 2xx for {event.webhook_id} in {self.attempts_max} tries: last {attempts[-1]}")

    async def post(self, event: Event) -> Attempt:
        """One try: the event stamped with the clock's time and signed for it."""
        moment = self.clock().astimezone(UTC)
        # standardwebhooks reads the time as UTC whatever its zone: it must be given in UTC.
        signature = Webhook(self.webhook_secret).sign(event.webhook_id, moment, event.body)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "webhook-id": event.webhook_id,
            "webhook-timestamp": str(math.floor(moment.timestamp())),
            "webhook-signature": signature,
        }
        try:
            response = await self.http.post(
                self.hub_url.rstrip("/") + WEBHOOK_PATH,
                content=event.body.encode(),
                headers=headers,
                timeout=SEND_TIMEOUT_SECONDS,
            )
        except httpx.TransportError as exc:
            return Attempt(0, type(exc).__name__)
        return Attempt(response.status_code, response.text[:ANSWER_CHARACTERS_KEPT_MAX])

    def _remember(self, sending: Sending) -> Sending:
        self.sent.append(sending)
        return sending

    # ------------------------------------------------------------ the listing

    def routes(self) -> web.RouteTableDef:
        routes = web.RouteTableDef()
        routes.get(LISTING_PATH)(self._serve_listing)
        return routes

    def app(self) -> web.Application:
        app = web.Application()
        app.add_routes(self.routes())
        return app

    async def _serve_listing(self, request: web.Request) -> web.Response:
        self.listing_requests += 1
        fault = self.listing_faults.pop(self.listing_requests, None)
        if fault is not None:
            return web.json_response({"error": "told_to_fail", "status": fault}, status=fault)
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(key.encode(), self.api_key.encode()):
            return web.json_response(
                {"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": 'Bearer realm="ischinese"'}
            )
        errors: dict[str, str] = {}
        year = _number(request.query, "year", None, (YEAR_MIN, YEAR_MAX), errors)
        page = _number(request.query, "page", 1, (1, PAGE_MAX), errors)
        per_page = _number(request.query, "per_page", PER_PAGE_DEFAULT, (1, PER_PAGE_MAX), errors)
        if errors:
            return web.json_response({"error": "invalid_request", "fields": errors}, status=400)
        records = self.listed(year)
        start = (page - 1) * per_page
        document = {
            "data": records[start : start + per_page],
            "page": page,
            "total_pages": max(1, math.ceil(len(records) / per_page)),
        }
        return web.json_response(document, dumps=lambda value: json.dumps(value, ensure_ascii=False))


def _number(
    query: Mapping[str, str], name: str, default: int | None, bounds: tuple[int, int], errors: dict[str, str]
) -> int:
    """A whole number parameter within bounds; a missing one takes ``default`` (``None``: required)."""
    text = query.get(name)
    lowest, highest = bounds
    if text is None and default is not None:
        return default
    if text is None or not (text.isascii() and text.isdigit()) or not lowest <= int(text) <= highest:
        errors[name] = f"must be a whole number from {lowest} to {highest}"
        return lowest
    return int(text)
