"""webtrn's completions API as the hub calls it (vendors.md, section 2).

OAuth 2.0 client credentials with HTTP Basic client authentication, through Authlib's
``AsyncOAuth2Client``, which fetches a new token when the one it holds has expired. Every call
states its timeout, the size of answer it reads at most, and its retry budget (``CallBudget``):

- 401 from the API: a new token, and one more try;
- 429: wait ``Retry-After`` seconds, at most ``adapters.retries.RETRY_AFTER_SECONDS_MAX``;
- 502, 503, 504, a timeout or a broken connection: exponential backoff with jitter, bounded;
- anything else stops the pull (``adapters.webtrn.errors``).
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog

from adapters.retries import backoff_seconds, retry_after_seconds
from adapters.webtrn.errors import AnswerInvalid, CredentialsRefused, UnexpectedAnswer, WebtrnUnavailable

with warnings.catch_warnings():
    # Authlib 1.9 prefers the httpx2 package and warns when it falls back to httpx; httpx2 stays
    # out on purpose (respx cannot intercept it). Importing authlib.deprecate first puts Authlib's
    # own "always" filter in place, so that the "ignore" added after it comes first.
    import authlib.deprecate  # type: ignore[import-untyped]  # noqa: F401  # Authlib ships no types

    warnings.filterwarnings("ignore", "The httpx module is deprecated", DeprecationWarning)
    from authlib.integrations.httpx_client import (  # type: ignore[import-untyped]  # Authlib ships no types
        AsyncOAuth2Client,
        OAuthError,
    )

SCOPE = "completions.read"
COMPLETIONS_PATH = "/api/v1/completions"
CONNECT_TIMEOUT_SECONDS = 10.0
ANSWER_LIMIT_EXTENSION = "hub.answer_bytes_max"
"""The request extension that tells the transport how large an answer the call reads at most."""
RETRIED_STATUSES = frozenset({502, 503, 504})
HTTP_OK = 200
HTTP_UNAUTHORIZED = 401
HTTP_TOO_MANY_REQUESTS = 429

log = structlog.get_logger(__name__)

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class CallBudget:
    """What one call may take: a timeout per try, the largest answer it reads, and how many tries."""

    timeout_seconds: float
    answer_bytes_max: int
    tries_max: int


TOKEN_CALL = CallBudget(timeout_seconds=15.0, answer_bytes_max=64 * 1024, tries_max=5)
PAGE_CALL = CallBudget(timeout_seconds=30.0, answer_bytes_max=8 * 1024 * 1024, tries_max=6)


@dataclass(frozen=True, slots=True)
class WebtrnAccount:
    """Where webtrn's API is and the hub's client credentials there (from ``[vendors.webtrn]``)."""

    token_url: str
    api_base: str
    client_id: str
    client_secret: str = field(repr=False)


class _Retry(Exception):
    """A try that failed in a way worth trying again; ``delay_seconds`` is the vendor's wish, if any."""

    def __init__(self, what: str, delay_seconds: float | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.delay_seconds = delay_seconds


class WebtrnClient:
    """Fetches pages of webtrn's completions with the hub's token."""

    def __init__(self, oauth: Any, api_base: str, *, sleep: Sleep = asyncio.sleep) -> None:
        self._oauth = oauth
        self._url = api_base.rstrip("/") + COMPLETIONS_PATH
        self._sleep = sleep

    async def page(self, parameters: Mapping[str, str]) -> bytes:
        """The body of one page (``updated_since`` and ``limit``, or ``cursor`` and ``limit``).

        Raises ``WebtrnUnavailable`` when the retry budget is spent, ``CredentialsRefused``,
        ``UnexpectedAnswer`` or ``AnswerInvalid``.
        """
        attempt, token_renewed = 0, False
        while True:
            try:
                return await self._page_once(parameters)
            except _Retry as retry:
                await self._wait(retry, attempt, PAGE_CALL)
                attempt += 1
            except CredentialsRefused:
                # A token may expire at the vendor before the hub's clock says so: renew it once.
                if token_renewed:
                    raise
                token_renewed = True
                await self.renew_token()

    async def renew_token(self) -> None:
        """Fetch a new token from the token endpoint, whatever the client holds now."""
        for attempt in range(TOKEN_CALL.tries_max):
            try:
                await self._fetch_token_once()
            except _Retry as retry:
                await self._wait(retry, attempt, TOKEN_CALL)
            else:
                return

    async def _page_once(self, parameters: Mapping[str, str]) -> bytes:
        if not self._oauth.token:
            await self.renew_token()
        try:
            async with self._oauth.stream(
                "GET",
                self._url,
                params=dict(parameters),
                timeout=PAGE_CALL.timeout_seconds,
                extensions={ANSWER_LIMIT_EXTENSION: PAGE_CALL.answer_bytes_max},
            ) as response:
                _raise_for_status(response.status_code, response.headers, "a page request")
                body: bytes = await response.aread()
        except (httpx.HTTPStatusError, httpx.TransportError, OAuthError, ValueError) as exc:
            # A timeout or a broken connection, or Authlib failing to renew an expired token on the way.
            raise _failure(exc, "a page request") from exc
        return body

    async def _fetch_token_once(self) -> None:
        try:
            token = await self._oauth.fetch_token(timeout=TOKEN_CALL.timeout_seconds)
        except (httpx.HTTPStatusError, httpx.TransportError, OAuthError, ValueError) as exc:
            raise _failure(exc, "a token request") from exc
        if not isinstance(token.get("access_token"), str) or str(token.get("token_type", "")).lower() != "bearer":
            raise UnexpectedAnswer("webtrn's token endpoint answered without a bearer access_token")

    async def _wait(self, retry: _Retry, attempt: int, budget: CallBudget) -> None:
        if attempt + 1 >= budget.tries_max:
            raise WebtrnUnavailable(f"webtrn kept failing: {retry.what}, {budget.tries_max} tries")
        delay = retry.delay_seconds if retry.delay_seconds is not None else backoff_seconds(attempt)
        log.warning("webtrn_call_retried", failure=retry.what, attempt=attempt + 1, delay_seconds=delay)
        await self._sleep(delay)


def _raise_for_status(status: int, headers: Mapping[str, str], what: str) -> None:
    if status == HTTP_OK:
        return
    if status == HTTP_UNAUTHORIZED:
        raise CredentialsRefused(f"webtrn refused the token for {what}")
    if status == HTTP_TOO_MANY_REQUESTS:
        raise _Retry(f"429 to {what}", retry_after_seconds(headers.get("retry-after")))
    if status in RETRIED_STATUSES:
        raise _Retry(f"{status} to {what}")
    raise UnexpectedAnswer(f"webtrn answered {status} to {what}")


def _failure(exc: Exception, what: str) -> Exception:
    """What an exception of httpx or Authlib means for the pull: try again, or stop."""
    if isinstance(exc, httpx.TimeoutException):
        return _Retry(f"a timeout of {what}")
    if isinstance(exc, httpx.TransportError):
        return _Retry(f"a broken connection for {what}")
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        if status == HTTP_TOO_MANY_REQUESTS or status in RETRIED_STATUSES:
            return _Retry(f"{status} to a token request", retry_after_seconds(exc.response.headers.get("retry-after")))
        return UnexpectedAnswer(f"webtrn answered {status} to a token request")
    if isinstance(exc, OAuthError):
        # The OAuth error code (invalid_client, invalid_scope …) names no secret.
        return CredentialsRefused(f"webtrn's token endpoint refused the client credentials ({exc.error})")
    return UnexpectedAnswer("webtrn's token endpoint answered something that is not a JSON object")


class _LimitedStream(httpx.AsyncByteStream):
    """An answer's body that stops with ``AnswerInvalid`` once it grows past the limit."""

    def __init__(self, inner: httpx.AsyncByteStream, bytes_max: int) -> None:
        self._inner = inner
        self._bytes_max = bytes_max

    async def __aiter__(self) -> AsyncIterator[bytes]:
        seen = 0
        async for chunk in self._inner:
            seen += len(chunk)
            if seen > self._bytes_max:
                raise AnswerInvalid(f"webtrn sent an answer over {self._bytes_max} bytes")
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


class _LimitedTransport(httpx.AsyncBaseTransport):
    """Every answer cut off at its call's size limit before it is read whole; a call that names
    none (Authlib's token requests) gets ``default_bytes_max``."""

    def __init__(self, inner: httpx.AsyncBaseTransport, default_bytes_max: int) -> None:
        self._inner = inner
        self._default_bytes_max = default_bytes_max

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        bytes_max = int(request.extensions.get(ANSWER_LIMIT_EXTENSION, self._default_bytes_max))
        response = await self._inner.handle_async_request(request)
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > bytes_max:
            await response.aclose()
            raise AnswerInvalid(f"webtrn sent an answer over {bytes_max} bytes")
        if not isinstance(response.stream, httpx.AsyncByteStream):
            raise TypeError("an asynchronous transport answered with a synchronous body")
        response.stream = _LimitedStream(response.stream, bytes_max)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


@asynccontextmanager
async def open_client(
    account: WebtrnAccount,
    *,
    sleep: Sleep = asyncio.sleep,
    transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncIterator[WebtrnClient]:
    """A client for webtrn's API, closed when the context ends; ``transport`` is for tests."""
    oauth = AsyncOAuth2Client(
        client_id=account.client_id,
        client_secret=account.client_secret,
        token_endpoint=account.token_url,
        token_endpoint_auth_method="client_secret_basic",  # noqa: S106  (a method name, not a secret)
        grant_type="client_credentials",
        scope=SCOPE,
        timeout=httpx.Timeout(TOKEN_CALL.timeout_seconds, connect=CONNECT_TIMEOUT_SECONDS),
        follow_redirects=False,
        transport=_LimitedTransport(transport or httpx.AsyncHTTPTransport(), TOKEN_CALL.answer_bytes_max),
    )
    try:
        yield WebtrnClient(oauth, account.api_base, sleep=sleep)
    finally:
        await oauth.aclose()
