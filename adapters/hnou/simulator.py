"""湖南开放大学 (hnou)'s side of the SSO handoff: a standard LTI 1.3 tool on the unmodified
``pylti1p3`` library, as a small aiohttp app for the demo and tests.

It plays vendors.md §3 "SSO handoff" as Open University's tool would, sharing no code with the
hub's signing side: ``GET|POST /lti/login`` answers the hub's third-party initiated login with a
redirect to the hub's ``/lti/authorize`` (``pylti1p3.OIDCLogin``), and ``POST /lti/launch`` takes the
``id_token`` and ``state`` back (``pylti1p3.MessageLaunch``, which fetches the hub's JWKS itself with
``requests``). pylti1p3 checks that the nonce is present but does not use it up, accepts a launch
again once it succeeded, and compares only the first audience; so the tool keeps its own replay
protection of nonces and states and checks the audience whole, as the library's docs advise.
Learners are kept by ID number, as hnou's legacy systems key them.

    app = create_simulator("http://127.0.0.1:8080", client_id="hub-client", deployment_id="d-1")
    tool = app[SIMULATOR]           # .accounts by ID number, .refusals in order
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import itertools
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import requests
from aiohttp import web
from pylti1p3.cookie import CookieService
from pylti1p3.exception import LtiException
from pylti1p3.message_launch import MessageLaunch
from pylti1p3.oidc_login import OIDCLogin
from pylti1p3.redirect import Redirect
from pylti1p3.request import Request
from pylti1p3.session import SessionService
from pylti1p3.tool_config.dict import ToolConfDict

from adapters.ischinese.simulator import html_page

__all__ = ["REGISTRATION_CLAIM", "SIMULATOR", "Learner", "LtiTool", "Refusal", "create_simulator"]

REGISTRATION_CLAIM: Final = "https://hnxxpt.example/claim/registration"
SESSION_COOKIE: Final = "hnou_session"
SESSIONS_MAX: Final = 10_000
USED_VALUES_MAX: Final = 100_000
FORM_BYTES_MAX: Final = 64 * 1024
JWKS_TIMEOUT_SECONDS: Final = 5


@dataclass(slots=True)
class Learner:
    """A learner's account at the tool, keyed by ID number, with the hub's ``sub`` for it."""

    account_id: str
    id_number: str
    sub: str
    registration: Mapping[str, Any]
    logins: int = 0


@dataclass(frozen=True, slots=True)
class Refusal:
    """A login or launch the tool refused: the step (``login`` or ``launch``) and the library's words."""

    step: str
    detail: str


class _ToolRequest(Request):
    """pylti1p3's view of one HTTP request: its parameters and the browser's session at the tool."""

    def __init__(self, parameters: Mapping[str, str], session: dict[str, Any], *, secure: bool) -> None:
        self._parameters = parameters
        self._session = session
        self._secure = secure

    @property
    def session(self) -> dict[str, Any]:
        return self._session

    def is_secure(self) -> bool:
        return self._secure

    def get_param(self, key: str) -> str:
        return self._parameters.get(key, "")


class _ToolCookies(CookieService):
    """pylti1p3's cookies (``lti1p3-<name>``): read from the request, written on the answer."""

    def __init__(self, cookies: Mapping[str, str]) -> None:
        self._cookies = cookies
        self.to_set: dict[str, tuple[str, int | None]] = {}

    def get_cookie(self, name: str) -> str | None:
        return self._cookies.get(f"{self._cookie_prefix}-{name}")

    def set_cookie(self, name: str, value: str | int, exp: int | None = 3600) -> None:
        self.to_set[f"{self._cookie_prefix}-{name}"] = (str(value), exp)


class _ToolRedirect(Redirect[str]):
    def __init__(self, location: str) -> None:
        self._location = location

    def do_redirect(self) -> str:
        return self._location

    def do_js_redirect(self) -> str:
        return self._location

    def set_redirect_url(self, location: str) -> None:
        self._location = location

    def get_redirect_url(self) -> str:
        return self._location


class _ToolLogin(OIDCLogin[_ToolRequest, ToolConfDict, SessionService, _ToolCookies, str]):
    def get_redirect(self, url: str) -> Redirect[str]:
        return _ToolRedirect(url)


class _ToolLaunch(MessageLaunch[_ToolRequest, ToolConfDict, SessionService, _ToolCookies]):
    def _get_request_param(self, key: str) -> str:
        return self._request.get_param(key)


class _TimedSession(requests.Session):
    """pylti1p3 fetches the JWKS without a timeout; this session gives every request one."""

    def request(self, *arguments: Any, **options: Any) -> Any:
        options.setdefault("timeout", JWKS_TIMEOUT_SECONDS)
        return super().request(*arguments, **options)


@dataclass
class LtiTool:
    """The tool's state: its registration at the hub, the browsers' sessions, the nonces and states
    used up, and its learners. ``accounts`` and ``refusals`` are there for assertions."""

    issuer: str
    client_id: str
    deployment_id: str
    accounts: dict[str, Learner] = field(default_factory=dict)
    refusals: list[Refusal] = field(default_factory=list)
    _sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    _used_nonces: set[str] = field(default_factory=set)
    _used_states: set[str] = field(default_factory=set)
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def tool_config(self) -> ToolConfDict:
        """The tool's one registration: the hub as its platform."""
        return ToolConfDict(
            {
                self.issuer: {
                    "default": True,
                    "client_id": self.client_id,
                    "auth_login_url": f"{self.issuer}/lti/authorize",
                    "auth_token_url": f"{self.issuer}/lti/token",
                    "key_set_url": f"{self.issuer}/.well-known/jwks.json",
                    "key_set": None,
                    "deployment_ids": [self.deployment_id],
                }
            }
        )

    async def login(self, request: web.Request) -> web.Response:
        """``GET|POST /lti/login``: the third-party initiated login; redirects to the hub."""
        parameters = await _parameters(request)
        session_id, session = self._session(request)
        tool_request = _ToolRequest(parameters, session, secure=request.secure)
        cookies = _ToolCookies(request.cookies)
        login = _ToolLogin(tool_request, self.tool_config(), SessionService(tool_request), cookies)
        launch_url = f"{request.url.origin()}/lti/launch"
        try:
            location = login.get_redirect_object(launch_url).get_redirect_url()
        except (
            Exception
        ) as error:  # pylti1p3's own errors, and the bare Exception ToolConfDict raises for an unknown iss
            self.refusals.append(Refusal("login", str(error)))
            return html_page(400, "登录失败", "无法识别的平台请求")
        response = web.Response(status=302, headers={"Location": location})
        _apply_cookies(response, cookies, session_id, secure=request.secure)
        return response

    async def launch(self, request: web.Request) -> web.Response:
        """``POST /lti/launch``: the ``id_token`` and ``state`` the hub posts back."""
        parameters = await _parameters(request)
        session_id, session = self._session(request)
        tool_request = _ToolRequest(parameters, session, secure=request.secure)
        cookies = _ToolCookies(request.cookies)
        launch = _ToolLaunch(
            tool_request,
            self.tool_config(),
            SessionService(tool_request),
            cookies,
            requests_session=_TimedSession(),
        )
        try:
            self._refuse_replay(parameters)
            # validate() blocks and fetches the hub's JWKS: off the event loop, which may serve the hub.
            await asyncio.to_thread(launch.validate)
            claims: dict[str, Any] = dict(launch.get_launch_data())
            self._check_audience(claims)
        except Exception as error:  # pylti1p3's own errors, and the bare Exceptions it also raises
            self.refusals.append(Refusal("launch", str(error)))
            return html_page(401, "登录失败", "登录凭证无效")
        self._use_up(parameters["state"], claims, session)
        learner = self._log_in(claims)
        page = html_page(
            200, "登录成功", f"欢迎您，{learner.registration.get('name', '')}（学号 {learner.account_id}）"
        )
        _apply_cookies(page, cookies, session_id, secure=request.secure)
        return page

    def _refuse_replay(self, parameters: Mapping[str, str]) -> None:
        state = parameters.get("state", "")
        if state in self._used_states:
            raise LtiException("State already used")
        nonce = _unverified_claims(parameters.get("id_token", "")).get("nonce")
        if isinstance(nonce, str) and nonce in self._used_nonces:
            raise LtiException("Nonce already used")

    def _check_audience(self, claims: Mapping[str, Any]) -> None:
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.client_id not in audiences:
            raise LtiException("The tool is not an audience of this launch")
        if len(audiences) > 1 and claims.get("azp") != self.client_id:
            raise LtiException("A launch for several audiences must name the tool as its azp")

    def _use_up(self, state: str, claims: Mapping[str, Any], session: dict[str, Any]) -> None:
        nonce = str(claims["nonce"])
        if len(self._used_nonces) >= USED_VALUES_MAX:
            self._used_nonces.clear()
            self._used_states.clear()
        self._used_nonces.add(nonce)
        self._used_states.add(state)
        session.pop(f"lti1p3-nonce-{nonce}", None)

    def _log_in(self, claims: Mapping[str, Any]) -> Learner:
        registration = dict(claims.get(REGISTRATION_CLAIM, {}))
        id_number = str(registration.get("id_number", "")).upper()
        learner = self.accounts.get(id_number)
        if learner is None:
            learner = Learner(f"hn-{next(self._numbers):06d}", id_number, str(claims["sub"]), registration)
            self.accounts[id_number] = learner
        else:
            learner.registration = registration
            learner.sub = str(claims["sub"])
        learner.logins += 1
        return learner

    def _session(self, request: web.Request) -> tuple[str, dict[str, Any]]:
        session_id = request.cookies.get(SESSION_COOKIE, "")
        session = self._sessions.get(session_id)
        if session is None:
            if len(self._sessions) >= SESSIONS_MAX:
                self._sessions.clear()
            session_id = secrets.token_urlsafe(24)
            session = self._sessions[session_id] = {}
        return session_id, session


async def _parameters(request: web.Request) -> dict[str, str]:
    parameters = dict(request.query)
    if request.method == "POST":
        form = await request.post()
        parameters.update({name: value for name, value in form.items() if isinstance(value, str)})
    return parameters


def _unverified_claims(token: str) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _apply_cookies(response: web.StreamResponse, cookies: _ToolCookies, session_id: str, *, secure: bool) -> None:
    # A launch is a POST from the hub's page: over https the cookies must be SameSite=None to come
    # along; over plain http (a local demo, where hub and tool are the same site) Lax does.
    same_site = "None" if secure else "Lax"
    response.set_cookie(SESSION_COOKIE, session_id, path="/", httponly=True, secure=secure, samesite=same_site)
    for name, (value, lifetime) in cookies.to_set.items():
        response.set_cookie(name, value, max_age=lifetime, path="/", httponly=True, secure=secure, samesite=same_site)


SIMULATOR = web.AppKey("lti_tool", LtiTool)


def create_simulator(hub_base_url: str, *, client_id: str, deployment_id: str) -> web.Application:
    """hnou's LTI tool, registered at the hub whose ``base_url`` is ``hub_base_url``."""
    app = web.Application(client_max_size=FORM_BYTES_MAX)
    tool = LtiTool(issuer=hub_base_url, client_id=client_id, deployment_id=deployment_id)
    app[SIMULATOR] = tool
    app.router.add_route("GET", "/lti/login", tool.login)
    app.router.add_route("POST", "/lti/login", tool.login)
    app.router.add_post("/lti/launch", tool.launch)
    return app
