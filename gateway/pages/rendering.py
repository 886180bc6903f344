"""Every HTML page of the hub is answered here: the layout's navigation, the form token, and the headers.

``render_page`` renders a template of ``gateway/templates`` (autoescaped) with what the layout needs,
and answers with:

- a Content-Security-Policy: ``default-src 'self'``; scripts only inline with the nonce made for this
  answer; ``form-action`` naming the origins the page's forms may post to (``'self'`` unless told
  otherwise: a vendor's origin for a handoff's form, and the origins a posted form is redirected on
  to, since browsers check those too); ``frame-ancestors 'none'``;
- ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer`` and ``Cache-Control: no-store``
  (pages show personal data and carry form tokens).

Forms carry a token tied to the browser and, once signed in, to the session: an HMAC by the hub's
key of a random cookie (``hub_form``, HttpOnly, SameSite=Lax), of the staff session token and of the
operators' console cookie. Another site
can neither read the cookie nor compute the HMAC, so it cannot make a form that the hub accepts.
``gateway.pages.forms.read_form`` checks it on every POST.

A page refused before its handler could answer (an unreadable form, a wrong token) raises
``PageRefused``; ``page_refusals`` answers it with the error page.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final
from urllib.parse import urlencode, urlsplit

import aiohttp_jinja2
from aiohttp import hdrs, web

from gateway.keys import HUB, STYLESHEET
from gateway.sessions import console_cookie_of, session_token_of
from ledger.model import PersonId

__all__ = [
    "FORM_COOKIE",
    "FORM_TOKEN_FIELD",
    "PAGE_HEADERS",
    "SELF",
    "Audience",
    "PageRefused",
    "content_security_policy",
    "expected_form_token",
    "local_time",
    "origin_of",
    "page_refusals",
    "redirect",
    "render_page",
    "signed_in_or_sent_to_login",
    "staff_member",
]

SELF: Final = "'self'"
NONCE_BYTES: Final = 16
FORM_COOKIE: Final = "hub_form"
FORM_COOKIE_BYTES: Final = 32
FORM_COOKIE_CHARACTERS_MAX: Final = 64
FORM_TOKEN_FIELD: Final = "csrf_token"  # noqa: S105 -- a form field's name, not a secret
FORM_TOKEN_PURPOSE: Final = "page.form_token"  # noqa: S105 -- the blind index's purpose label, not a secret
PAGE_HEADERS: Final = {
    hdrs.CACHE_CONTROL: "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
LOGIN_PATH: Final = "/login"


class Audience(StrEnum):
    """Who a page is for; the layout's navigation follows it."""

    VISITOR = "visitor"
    STAFF = "staff"
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"


@dataclass(frozen=True, slots=True)
class NavigationLink:
    path: str
    label: str


NAVIGATION: Final[Mapping[Audience, tuple[NavigationLink, ...]]] = {
    Audience.VISITOR: (NavigationLink("/login", "登录"), NavigationLink("/register", "注册")),
    Audience.STAFF: (
        NavigationLink("/me", "个人中心"),
        NavigationLink("/me/training", "培训信息"),
        NavigationLink("/me/certificates", "我的证书"),
        NavigationLink("/me/messages", "消息"),
        NavigationLink("/me/password", "修改密码"),
        NavigationLink("/logout", "退出登录"),
    ),
    Audience.OPERATOR: (
        NavigationLink("/console", "运行概况"),
        NavigationLink("/console/reconciliations", "对账"),
        NavigationLink("/console/discrepancies", "差异"),
        NavigationLink("/console/quarantine", "暂存记录"),
        NavigationLink("/console/filings", "线下培训"),
        NavigationLink("/console/password-reset", "重置密码"),
        NavigationLink("/console/logout", "退出控制台"),
    ),
    Audience.SUPERVISOR: (
        NavigationLink("/console/compliance", "达标情况"),
        NavigationLink("/console/vendor-share", "供应商占比"),
        NavigationLink("/console/feedback", "反馈"),
        NavigationLink("/console/filings", "线下培训审批"),
        NavigationLink("/console/logout", "退出控制台"),
    ),
    Audience.AUDITOR: (
        NavigationLink("/console/exports", "台账导出"),
        NavigationLink("/console/verification", "哈希链校验"),
        NavigationLink("/console/logout", "退出控制台"),
    ),
}


class PageRefused(Exception):
    """A request for a page that is answered with the error page, ``status`` and ``message`` in it."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(f"{status} {title}")
        self.status = status
        self.title = title
        self.message = message


def content_security_policy(nonce: str, form_action: Sequence[str]) -> str:
    """The policy of a page whose inline scripts carry ``nonce`` and whose forms post to ``form_action``."""
    targets = " ".join(form_action) or "'none'"
    return (
        f"default-src 'self'; script-src 'nonce-{nonce}'; style-src 'self'; img-src 'self'; object-src 'none'; "
        f"form-action {targets}; base-uri 'none'; frame-ancestors 'none'"
    )


def origin_of(url: str) -> str:
    """The origin (scheme and authority) of an absolute URL, as a policy names it."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def render_page(
    request: web.Request,
    template: str,
    context: Mapping[str, object],
    *,
    audience: Audience,
    status: int = 200,
    form_action: Sequence[str] = (SELF,),
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """The page ``template`` rendered with ``context`` and the layout's own values, with the page headers."""
    nonce = secrets.token_urlsafe(NONCE_BYTES)
    browser_key = _browser_key(request)
    fresh_key = browser_key is None
    if browser_key is None:
        browser_key = secrets.token_urlsafe(FORM_COOKIE_BYTES)
    stylesheet = request.app[STYLESHEET]
    layout = {
        "nonce": nonce,
        "csrf_field": FORM_TOKEN_FIELD,
        "csrf_token": _form_token(request, browser_key),
        "navigation": NAVIGATION[audience],
        "current_path": request.path,
        "stylesheet_url": stylesheet.url,
    }
    response = aiohttp_jinja2.render_template(template, request, {**context, **layout}, status=status)
    response.headers.update(
        {**PAGE_HEADERS, "Content-Security-Policy": content_security_policy(nonce, form_action), **(headers or {})}
    )
    if fresh_key:
        response.set_cookie(
            FORM_COOKIE,
            browser_key,
            path="/",
            httponly=True,
            samesite="Lax",
            secure=request.app[HUB].settings.hub.base_url.startswith("https://"),
        )
    return response


def redirect(location: str) -> web.HTTPSeeOther:
    """A 303 to ``location`` (a path of the hub), to raise from a page's handler."""
    return web.HTTPSeeOther(location, headers=PAGE_HEADERS)


def local_time(request: web.Request, moment: datetime) -> str:
    """A moment as pages show it: to the minute, in the hub's time zone."""
    return moment.astimezone(request.app[HUB].settings.hub.timezone).strftime("%Y-%m-%d %H:%M")


def expected_form_token(request: web.Request) -> str | None:
    """The form token a page rendered for this browser and session carries; ``None`` without the cookie."""
    browser_key = _browser_key(request)
    return None if browser_key is None else _form_token(request, browser_key)


def _browser_key(request: web.Request) -> str | None:
    key = request.cookies.get(FORM_COOKIE, "")
    return key if 0 < len(key) <= FORM_COOKIE_CHARACTERS_MAX else None


def _form_token(request: web.Request, browser_key: str) -> str:
    session = session_token_of(request) or ""
    console = console_cookie_of(request) or ""
    return request.app[HUB].keyring.blind_index(f"{browser_key}:{session}:{console}", purpose=FORM_TOKEN_PURPOSE)


async def staff_member(request: web.Request) -> PersonId | None:
    """The person whose live session the request's cookie carries, or ``None``."""
    token = session_token_of(request)
    return None if token is None else await request.app[HUB].people.person_for_session(token)


async def signed_in_or_sent_to_login(request: web.Request) -> PersonId:
    """The signed-in person; without a live session, a 303 to the login page that comes back here."""
    person_id = await staff_member(request)
    if person_id is None:
        raise redirect(f"{LOGIN_PATH}?{urlencode({'next': request.path_qs})}")
    return person_id


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def page_refusals(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answers ``PageRefused`` with the error page."""
    try:
        return await handler(request)
    except PageRefused as refusal:
        audience = Audience.STAFF if await staff_member(request) is not None else Audience.VISITOR
        context = {"title": refusal.title, "message": refusal.message}
        return render_page(request, "pages/error.html", context, audience=audience, status=refusal.status)
