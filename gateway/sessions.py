"""Staff sessions on the web: the cookie that carries one, and who is signed in.

A route for staff calls ``await signed_in_person(request)``; without a live session it raises
``SessionRequired``, which the problem middleware answers 401 with ``WWW-Authenticate``. A request
that carries an ``Authorization`` header is judged by that header alone (hub-api.md), so a session
cookie beside it is not looked at: ``gateway.bearer`` judges the token, 401 with the bearer challenge
when it admits nobody, and 404 when it does, since no token's role is staff's.
"""

from __future__ import annotations

from typing import ClassVar, Final, NoReturn
from urllib.parse import urlsplit

from aiohttp import hdrs, web

from config import Settings
from gateway.keys import HUB
from ledger.model import PersonId
from sso.access.errors import OutOfReach
from sso.people.model import SESSION_LIFETIME_SECONDS_MAX, SessionToken

__all__ = [
    "CONSOLE_COOKIE",
    "SESSION_CHALLENGE",
    "SESSION_COOKIE",
    "SessionRequired",
    "clear_session_cookie",
    "console_cookie_of",
    "session_token_of",
    "set_session_cookie",
    "signed_in_person",
]

SESSION_COOKIE: Final = "hub_session"
CONSOLE_COOKIE: Final = "hub_console"
"""The operators' console session (``gateway.pages.console``): their bearer token, sealed by the hub's key."""
CONSOLE_COOKIE_CHARACTERS_MAX: Final = 1024
SESSION_CHALLENGE: Final = f'Session realm="training-hours-hub", cookie="{SESSION_COOKIE}"'
"""The ``WWW-Authenticate`` challenge of staff routes: sign in to get the session cookie."""


class SessionRequired(Exception):
    """The request has no live staff session; the answer is 401 with the session challenge."""

    code: ClassVar[str] = "session_required"
    title: ClassVar[str] = "Sign-in required"
    headers: ClassVar[dict[str, str]] = {hdrs.WWW_AUTHENTICATE: SESSION_CHALLENGE}

    def __init__(self) -> None:
        super().__init__("sign in with POST /api/v1/login to use this")


async def signed_in_person(request: web.Request) -> PersonId:
    """The person whose live session the request's cookie carries.

    Raises ``SessionRequired`` without a live session; for a request with an ``Authorization`` header,
    ``BearerTokenRequired`` or ``BearerTokenInvalid`` (401) when its token admits nobody, and
    ``OutOfReach`` (404) when it admits an operator, auditor or supervisor.
    """
    if hdrs.AUTHORIZATION in request.headers:
        await _refuse_token_holder(request)
    token = session_token_of(request)
    if token is None:
        raise SessionRequired
    person_id = await request.app[HUB].people.person_for_session(token)
    if person_id is None:
        raise SessionRequired
    return person_id


async def _refuse_token_holder(request: web.Request) -> NoReturn:
    # gateway.bearer reads the session cookie through this module, so it is imported when first needed.
    from gateway.bearer import authenticate_caller  # noqa: PLC0415

    await authenticate_caller(request)
    raise OutOfReach


def session_token_of(request: web.Request) -> str | None:
    """The session token the request's cookie carries, unless an ``Authorization`` header overrides it."""
    if hdrs.AUTHORIZATION in request.headers:
        return None
    return request.cookies.get(SESSION_COOKIE) or None


def console_cookie_of(request: web.Request) -> str | None:
    """The sealed console session the request's cookie carries, if any and of a bounded length."""
    sealed = request.cookies.get(CONSOLE_COOKIE, "")
    return sealed if 0 < len(sealed) <= CONSOLE_COOKIE_CHARACTERS_MAX else None


def set_session_cookie(response: web.StreamResponse, token: SessionToken, settings: Settings) -> None:
    """Give the browser the session cookie: HttpOnly, SameSite=Lax, Path=/, Secure behind https."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_LIFETIME_SECONDS_MAX,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=_is_https(settings),
    )


def clear_session_cookie(response: web.StreamResponse, settings: Settings) -> None:
    """Tell the browser to forget the session cookie."""
    response.del_cookie(SESSION_COOKIE, path="/", secure=_is_https(settings), httponly=True, samesite="Lax")


def _is_https(settings: Settings) -> bool:
    return urlsplit(settings.hub.base_url).scheme == "https"
