"""A stand-in for webtrn's side of the completions API (vendors.md, section 2), for tests and demos.

It issues bearer tokens for client credentials given with HTTP Basic, and serves its completions in
pages ordered by (``updated_at``, ``id``): ``updated_since`` inclusive, opaque cursors that alone
set the position, ``limit`` at most 500, and a revoked item coming again with a new ``updated_at``.
It can be told to answer 429 (with ``Retry-After``), 401 or 502 at chosen page requests, to stall
a request, and to expire every token it issued.

It shares no code with the hub's side of the contract: it is there to test that side.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import unquote_plus
from zoneinfo import ZoneInfo

from aiohttp import web

TOKEN_PATH = "/oauth/token"  # noqa: S105  (a path, not a secret)
COMPLETIONS_PATH = "/api/v1/completions"
SCOPE = "completions.read"
LIMIT_MAX = 500
LIMIT_DEFAULT = 100
TOKEN_BYTES = 24
BEIJING = ZoneInfo("Asia/Shanghai")
SUBJECT_LABELS = {"public": "公共科目", "professional": "专业科目"}
_NUMBER_MARK = "\x00"
_MARKED_NUMBER = re.compile(r'"\\u0000([-+.0-9Ee]+)\\u0000"')


@dataclass(frozen=True, slots=True)
class Fault:
    """An answer to give instead of a page."""

    status: int
    retry_after_seconds: int | None = None


@dataclass(slots=True)
class _Stored:
    record_id: int
    updated_at: datetime
    item: dict[str, Any]

    @property
    def key(self) -> tuple[datetime, int]:
        return (self.updated_at, self.record_id)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class WebtrnApiSimulator:
    """webtrn's completions API with the records a test or demo gives it."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        token_lifetime_seconds: int = 3600,
        page_size_max: int = LIMIT_MAX,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        """``page_size_max``: webtrn may send fewer items than the ``limit`` asked for."""
        self.client_id = client_id
        self._client_secret = client_secret
        self.token_lifetime_seconds = token_lifetime_seconds
        self.page_size_max = page_size_max
        self._clock = clock
        self.page_requests = 0
        """Every request to the completions path, answered or not."""
        self.token_requests = 0
        self.page_queries: list[dict[str, str]] = []
        """The query of every page request, in order."""
        self._records: dict[int, _Stored] = {}
        self._tokens: dict[str, datetime] = {}
        self._faults: dict[int, Fault] = {}
        self._stalls: dict[int, asyncio.Event] = {}
        self._release = asyncio.Event()

    # ------------------------------------------------------------ records

    def complete(
        self,
        record_id: int,
        *,
        sub: str,
        updated_at: datetime,
        course_code: str = "C1001",
        course_name: str = "习近平新时代中国特色社会主义思想概论",
        subject: str = "public",
        hours: str = "2.5",
        finished_at: datetime | None = None,
    ) -> None:
        """A completion of ``hours`` (a decimal text, sent as a JSON number), finished in Beijing time."""
        finished = (finished_at or updated_at).astimezone(BEIJING)
        self.put(
            record_id,
            updated_at,
            {
                "id": record_id,
                "learner": {"sub": sub},
                "course_code": course_code,
                "course_name": course_name,
                "subject": SUBJECT_LABELS[subject],
                "credit_hours": Decimal(hours),
                "finished_at": finished.strftime("%Y-%m-%d %H:%M:%S"),
                "status": "completed",
            },
        )

    def revoke(self, record_id: int, *, updated_at: datetime) -> None:
        """Revoke a completion: it comes again, revoked, with a new ``updated_at``."""
        stored = self._records[record_id]
        if updated_at <= stored.updated_at:
            raise ValueError("a revocation comes after the completion it revokes")
        self.put(record_id, updated_at, {**stored.item, "status": "revoked"})

    def put(self, record_id: int, updated_at: datetime, item: dict[str, Any]) -> None:
        """Serve ``item`` as it is (malformed, if a test wants it so) at this place in the order.

        ``updated_at`` is kept to the whole second, as webtrn writes it. ``Decimal`` values are
        written as JSON numbers.
        """
        moment = updated_at.astimezone(UTC).replace(microsecond=0)
        served = {**item, "updated_at": moment.strftime("%Y-%m-%dT%H:%M:%SZ")}
        self._records[record_id] = _Stored(record_id, moment, served)

    def items(self) -> list[dict[str, Any]]:
        """Every record as it stands now, in webtrn's order."""
        return [stored.item for stored in sorted(self._records.values(), key=lambda stored: stored.key)]

    # ------------------------------------------------------------ misbehaviour on request

    def answer(self, status: int, *, on_requests: Iterable[int], retry_after_seconds: int | None = None) -> None:
        """Answer ``status`` instead of a page to these page requests (counted from 1)."""
        for number in on_requests:
            self._faults[number] = Fault(status, retry_after_seconds)

    def heal(self) -> None:
        """Forget every fault not yet given."""
        self._faults.clear()

    def stall(self, on_request: int) -> asyncio.Event:
        """Hold this page request until ``release``; the event is set when the request arrives."""
        arrived = asyncio.Event()
        self._stalls[on_request] = arrived
        return arrived

    def release(self) -> None:
        self._release.set()

    def expire_tokens(self) -> None:
        """Every token issued so far stops working, as if its lifetime had run out at webtrn."""
        self._tokens.clear()

    # ------------------------------------------------------------ HTTP

    def app(self) -> web.Application:
        app = web.Application()
        self.add_routes(app)
        return app

    def add_routes(self, app: web.Application, prefix: str = "") -> None:
        """Mount the token endpoint and the completions path under ``prefix`` of another app."""
        app.router.add_post(prefix + TOKEN_PATH, self._token)
        app.router.add_get(prefix + COMPLETIONS_PATH, self._completions)

    async def _token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        if not self._client_authenticated(request.headers.get("Authorization", "")):
            return _oauth_error(401, "invalid_client", {"WWW-Authenticate": 'Basic realm="webtrn"'})
        form = await request.post()
        if form.get("grant_type") != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type")
        scopes = str(form.get("scope", SCOPE)).split()
        if not scopes or set(scopes) - {SCOPE}:
            return _oauth_error(400, "invalid_scope")
        token = secrets.token_urlsafe(TOKEN_BYTES)
        self._tokens[token] = self._clock() + timedelta(seconds=self.token_lifetime_seconds)
        answer = {"access_token": token, "token_type": "Bearer", "expires_in": self.token_lifetime_seconds}
        return web.json_response(answer, headers={"Cache-Control": "no-store"})

    def _client_authenticated(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        client_id, _, client_secret = decoded.partition(":")
        # RFC 6749 2.3.1: both are form-encoded before they are joined.
        same_id = hmac.compare_digest(unquote_plus(client_id).encode(), self.client_id.encode())
        same_secret = hmac.compare_digest(unquote_plus(client_secret).encode(), self._client_secret.encode())
        return same_id and same_secret

    async def _completions(self, request: web.Request) -> web.Response:
        self.page_requests += 1
        number = self.page_requests
        self.page_queries.append(dict(request.query))
        if number in self._stalls:
            self._stalls[number].set()
            await self._release.wait()
        fault = self._faults.pop(number, None)
        if fault is not None:
            return _fault_answer(fault)
        if not self._bearer_valid(request.headers.get("Authorization", "")):
            return _oauth_error(401, "invalid_token", {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        try:
            after, inclusive, limit = _position(request.query)
        except ValueError as exc:
            return _oauth_error(400, "invalid_request", description=str(exc))
        return _json_response(self._page(after, inclusive=inclusive, limit=min(limit, self.page_size_max)))

    def _bearer_valid(self, header: str) -> bool:
        scheme, _, token = header.partition(" ")
        expires_at = self._tokens.get(token) if scheme.lower() == "bearer" else None
        return expires_at is not None and self._clock() < expires_at

    def _page(self, after: tuple[datetime, int], *, inclusive: bool, limit: int) -> dict[str, Any]:
        ordered = sorted(self._records.values(), key=lambda stored: stored.key)
        following = [stored for stored in ordered if stored.key > after or (inclusive and stored.key >= after)]
        page = following[:limit]
        more = len(following) > limit
        return {"items": [stored.item for stored in page], "next_cursor": _cursor(page[-1].key) if more else None}


def _position(query: Mapping[str, str]) -> tuple[tuple[datetime, int], bool, int]:
    """Where a page starts, whether that place is included, and how many items it holds."""
    limit_text = query.get("limit", str(LIMIT_DEFAULT))
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= LIMIT_MAX:
        raise ValueError(f"limit must be from 1 to {LIMIT_MAX}")
    if "cursor" in query:
        return _read_cursor(query["cursor"]), False, int(limit_text)
    since_text = query.get("updated_since", "")
    try:
        since = datetime.fromisoformat(since_text)
    except ValueError:
        since = None
    if since is None or since.utcoffset() is None:
        raise ValueError("updated_since must be an ISO 8601 time with an offset, like 2021-06-01T00:00:00Z")
    return (since.astimezone(UTC), 0), True, int(limit_text)


def _cursor(key: tuple[datetime, int]) -> str:
    text = json.dumps([key[0].isoformat(), key[1]])
    return base64.urlsafe_b64encode(text.encode()).decode()


def _read_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        moment, record_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(moment), int(record_id)
    except (ValueError, TypeError, binascii.Error):
        raise ValueError("cursor is not one this API gave") from None


def _fault_answer(fault: Fault) -> web.Response:
    headers = {} if fault.retry_after_seconds is None else {"Retry-After": str(fault.retry_after_seconds)}
    if fault.status == 401:
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    body = {"error": "told_to_fail", "status": fault.status}
    return web.json_response(body, status=fault.status, headers=headers)


def _oauth_error(
    status: int, error: str, headers: dict[str, str] | None = None, description: str | None = None
) -> web.Response:
    body = {"error": error} if description is None else {"error": error, "error_description": description}
    return web.json_response(body, status=status, headers=headers)


def _json_response(document: dict[str, Any]) -> web.Response:
    """JSON in which every ``Decimal`` is a JSON number, written exactly as its text."""

    def mark(value: object) -> str:
        if isinstance(value, Decimal):
            return f"{_NUMBER_MARK}{value}{_NUMBER_MARK}"
        raise TypeError(f"cannot send {type(value).__name__} as JSON")

    text = _MARKED_NUMBER.sub(r"\1", json.dumps(document, ensure_ascii=False, default=mark))
    return web.Response(text=text, content_type="application/json")
