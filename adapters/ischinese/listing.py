"""ischinese's listing of completions (vendors.md §1 "Listing"), as the hub reads it for reconciliation.

``GET {api_base}/api/v2/completions?year=2021&page=1&per_page=500`` with ``Authorization: Bearer
{api_key}`` answers ``{"data": [...], "page": 1, "total_pages": 7}``: each item the ``data`` of a
``completion.created`` event plus ``"status": "active" | "revoked"``. Every call states its budget
where it is made (``PAGE_CALL``): a timeout per try, the largest answer it reads (counted while it
streams in, before it is parsed), and how many tries; 429 waits ``Retry-After`` (bounded), 5xx, a
timeout or a broken connection back off exponentially, anything else stops the read.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

import httpx
import structlog

from adapters.ischinese.errors import ListingInvalid, ListingRefused, ListingUnavailable
from adapters.retries import backoff_seconds, retry_after_seconds

LISTING_PATH: Final = "/api/v2/completions"
PER_PAGE: Final = 500
TOTAL_PAGES_MAX: Final = 10_000
CONNECT_TIMEOUT_SECONDS: Final = 10.0
RETRIED_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
REFUSED_STATUSES: Final = frozenset({401, 403})
HTTP_OK: Final = 200

log = structlog.get_logger(__name__)

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class CallBudget:
    """What one call may take: a timeout per try, the largest answer it reads, and how many tries."""

    timeout_seconds: float
    answer_bytes_max: int
    tries_max: int


PAGE_CALL: Final = CallBudget(timeout_seconds=30.0, answer_bytes_max=8 * 1024 * 1024, tries_max=5)


@dataclass(frozen=True, slots=True)
class ListingPage:
    """One page as ischinese sent it: its items still raw, each to be read on its own."""

    items: tuple[object, ...]
    page: int
    total_pages: int


class _Retry(Exception):
    def __init__(self, what: str, delay_seconds: float | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.delay_seconds = delay_seconds


class ListingClient:
    """Reads pages of ischinese's listing with the hub's api_key, over an injected HTTP client."""

    def __init__(self, http: httpx.AsyncClient, *, api_base: str, api_key: str, sleep: Sleep = asyncio.sleep) -> None:
        self._http = http
        self._url = api_base.rstrip("/") + LISTING_PATH
        self._api_key = api_key
        self._sleep = sleep

    async def page(self, year: int, page: int) -> ListingPage:
        """One page of a year's completions.

        Raises ``ListingUnavailable`` when the retry budget is spent, ``ListingRefused`` and
        ``ListingInvalid``.
        """
        for attempt in range(PAGE_CALL.tries_max):
            try:
                body = await self._page_once(year, page)
            except _Retry as retry:
                if attempt + 1 == PAGE_CALL.tries_max:
                    raise ListingUnavailable(f"ischinese kept failing: {retry.what}, {attempt + 1} tries") from None
                delay = retry.delay_seconds if retry.delay_seconds is not None else backoff_seconds(attempt)
                log.warning("ischinese_listing_retried", failure=retry.what, attempt=attempt + 1, delay_seconds=delay)
                await self._sleep(delay)
            else:
                return parse_page(body, page)
        raise ListingUnavailable("ischinese was not asked")  # tries_max is at least 1

    async def _page_once(self, year: int, page: int) -> bytes:
        parameters = {"year": str(year), "page": str(page), "per_page": str(PER_PAGE)}
        timeout = httpx.Timeout(PAGE_CALL.timeout_seconds, connect=CONNECT_TIMEOUT_SECONDS)
        headers = {"Authorization": f"Bearer {self._api_key}", "Accept": "application/json"}
        try:
            async with self._http.stream(
                "GET", self._url, params=parameters, headers=headers, timeout=timeout
            ) as answer:
                _check_status(answer)
                return await _body(answer, PAGE_CALL.answer_bytes_max)
        except httpx.TimeoutException:
            raise _Retry("a timeout of a page request") from None
        except httpx.TransportError as exc:
            raise _Retry(f"a broken connection for a page request ({type(exc).__name__})") from None


def _check_status(answer: httpx.Response) -> None:
    status = answer.status_code
    if status == HTTP_OK:
        return
    if status in REFUSED_STATUSES:
        raise ListingRefused(f"ischinese answered {status}: it refuses the hub's api_key")
    if status in RETRIED_STATUSES:
        raise _Retry(f"{status} to a page request", retry_after_seconds(answer.headers.get("retry-after")))
    raise ListingInvalid(f"ischinese answered {status} to a page request")


async def _body(answer: httpx.Response, bytes_max: int) -> bytes:
    """The answer's body, refused as soon as it grows past ``bytes_max``."""
    length = answer.headers.get("content-length", "")
    if length.isdigit() and int(length) > bytes_max:
        raise ListingInvalid(f"ischinese sent a page over {bytes_max} bytes")
    body = bytearray()
    async for chunk in answer.aiter_bytes():
        body += chunk
        if len(body) > bytes_max:
            raise ListingInvalid(f"ischinese sent a page over {bytes_max} bytes")
    return bytes(body)


def parse_page(body: bytes, page: int) -> ListingPage:
    """The items and the page count of a page; raises ``ListingInvalid`` when the page itself is not
    what the contract says (its items are read later, one by one)."""
    try:
        document = json.loads(body, parse_float=Decimal)
    except (UnicodeDecodeError, ValueError):
        raise ListingInvalid("ischinese sent a page that is not JSON in UTF-8") from None
    if not isinstance(document, dict):
        raise ListingInvalid("ischinese sent a page that is not a JSON object")
    items, number, total = document.get("data"), document.get("page"), document.get("total_pages")
    if not isinstance(items, list) or len(items) > PER_PAGE:
        raise ListingInvalid(f"ischinese sent a page whose data is not a list of at most {PER_PAGE}")
    if number != page or isinstance(number, bool):
        raise ListingInvalid(f"ischinese sent another page than page {page}")
    if isinstance(total, bool) or not isinstance(total, int) or not 1 <= total <= TOTAL_PAGES_MAX:
        raise ListingInvalid(f"ischinese sent a total_pages that is not a whole number from 1 to {TOTAL_PAGES_MAX}")
    return ListingPage(tuple(items), page, total)
