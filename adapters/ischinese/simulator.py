"""思想天下 (ischinese)'s side of the SSO handoff, as a small aiohttp app for the demo and tests.

It plays vendors.md §1 "SSO handoff (jwt-post)" as the vendor would, sharing no code with the
hub's signing side: it receives the form POST of ``id_token`` at ``/sso/launch``, fetches the hub's
JWKS over HTTP (again when it meets a ``kid`` it does not know), allows only its own algorithm,
verifies the signature, checks ``iss`` byte for byte, ``aud``, ``exp``, ``iat`` and that ``jti`` was
never seen, then creates or finds the account of ``sub`` and shows the learner logged in.

webtrn's handoff is the same protocol with its own audience and algorithm (vendors.md: "As for
ischinese"); its simulator builds on ``JwtPostVendor`` below.

    app = create_simulator("http://127.0.0.1:8080")
    state = app[SIMULATOR]          # .accounts by sub, .refusals in order
"""

from __future__ import annotations

import base64
import binascii
import html
import itertools
import json
import time
import warnings
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import aiohttp
from aiohttp import web
from joserfc import jwt
from joserfc.errors import ClaimError, ExpiredTokenError, JoseError, SecurityWarning
from joserfc.jwk import Key, KeySet

__all__ = [
    "SIMULATOR",
    "Account",
    "JwtPostVendor",
    "Refusal",
    "create_jwt_post_simulator",
    "create_simulator",
    "html_page",
]

AUDIENCE: Final = "ischinese"
ALGORITHMS: Final = ("EdDSA",)
TOKEN_LIFETIME_SECONDS_MAX: Final = 120
CLOCK_SKEW_SECONDS: Final = 30
TOKEN_CHARACTERS_MAX: Final = 16 * 1024
JWKS_BYTES_MAX: Final = 256 * 1024
JWKS_TIMEOUT_SECONDS: Final = 5
SEEN_TOKEN_IDS_MAX: Final = 100_000
FORM_BYTES_MAX: Final = 64 * 1024
# The name "EdDSA" that vendors.md requires, which joserfc warns about on every use (RFC 9864).
_EDDSA_WARNING: Final = r"EdDSA is deprecated via RFC 9864"

Clock = Callable[[], float]


@dataclass(slots=True)
class Account:
    """A learner's account at the vendor, created at the first launch and found by ``sub`` afterwards."""

    account_id: str
    sub: str
    registration: Mapping[str, Any]
    logins: int = 0


@dataclass(frozen=True, slots=True)
class Refusal:
    """A launch the vendor refused, and why (``algorithm``, ``unknown_kid``, ``signature``, ``issuer``,
    ``audience``, ``expired``, ``lifetime``, ``issued_at``, ``replayed``, ``malformed``, ``jwks_unavailable``)."""

    reason: str
    detail: str


class LaunchRefused(Exception):
    """A token that does not log anybody in."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.refusal = Refusal(reason, detail)


@dataclass
class JwtPostVendor:
    """The vendor's state: its configuration, the hub's keys it has fetched, its accounts and the
    token ids it has seen. ``accounts`` and ``refusals`` are there for assertions."""

    issuer: str
    audience: str
    algorithms: Collection[str]
    account_prefix: str
    clock: Clock = time.time
    accounts: dict[str, Account] = field(default_factory=dict)
    refusals: list[Refusal] = field(default_factory=list)
    _seen_token_ids: dict[str, int] = field(default_factory=dict)
    _jwks: dict[str, Any] = field(default_factory=dict)
    http: aiohttp.ClientSession | None = None
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/.well-known/jwks.json"

    async def launch(self, request: web.Request) -> web.Response:
        """``POST /sso/launch``: the form with ``id_token``."""
        form = await request.post()
        try:
            claims = await self.verify(form.get("id_token"))
        except LaunchRefused as refused:
            self.refusals.append(refused.refusal)
            return html_page(401, "登录失败", f"登录凭证无效（{refused.refusal.reason}）")
        account = self._log_in(claims)
        name = str(account.registration.get("name", ""))
        return html_page(200, "登录成功", f"欢迎您，{name}（账号 {account.account_id}）")

    async def verify(self, token: object) -> dict[str, Any]:
        """The claims of a token this vendor accepts; raises ``LaunchRefused`` saying why not."""
        if not isinstance(token, str) or not 0 < len(token) <= TOKEN_CHARACTERS_MAX:
            raise LaunchRefused("malformed", "the form holds no id_token")
        header = _header(token)
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in self.algorithms:
            raise LaunchRefused("algorithm", f"alg {algorithm!r} is not allowed")
        if header.get("typ", "JWT") != "JWT":
            raise LaunchRefused("malformed", "typ is not JWT")
        key = await self._key(header.get("kid"), algorithm)
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=_EDDSA_WARNING, category=SecurityWarning)
                claims = jwt.decode(token, key, algorithms=[algorithm]).claims
        except JoseError as error:
            raise LaunchRefused("signature", error.error) from None
        self._check_claims(claims)
        return claims

    def _check_claims(self, claims: dict[str, Any]) -> None:
        now = int(self.clock())
        registry = jwt.JWTClaimsRegistry(
            now=now,
            leeway=CLOCK_SKEW_SECONDS,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.audience},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            jti={"essential": True},
        )
        try:
            registry.validate(claims)
        except ExpiredTokenError:
            raise LaunchRefused("expired", "exp has passed") from None
        except ClaimError as error:
            reason = {"iss": "issuer", "aud": "audience", "iat": "issued_at"}.get(error.claim, "malformed")
            raise LaunchRefused(reason, error.description or error.error) from None
        if claims["exp"] - claims["iat"] > TOKEN_LIFETIME_SECONDS_MAX:
            raise LaunchRefused("lifetime", f"the token lives over {TOKEN_LIFETIME_SECONDS_MAX} seconds")
        if claims["iat"] > now + CLOCK_SKEW_SECONDS:
            raise LaunchRefused("issued_at", "iat is in the future")
        self._use_token_id(str(claims["jti"]), int(claims["exp"]), now)

    def _use_token_id(self, token_id: str, expires: int, now: int) -> None:
        for seen, seen_expires in list(self._seen_token_ids.items()):
            if seen_expires + CLOCK_SKEW_SECONDS < now:
                del self._seen_token_ids[seen]
        if token_id in self._seen_token_ids:
            raise LaunchRefused("replayed", "this jti was used before")
        if len(self._seen_token_ids) >= SEEN_TOKEN_IDS_MAX:
            raise LaunchRefused("malformed", "too many launches at once")
        self._seen_token_ids[token_id] = expires

    async def _key(self, kid: object, algorithm: str) -> Key:
        if not isinstance(kid, str) or not kid:
            raise LaunchRefused("unknown_kid", "the header names no kid")
        key = _key_in(self._jwks, kid) or _key_in(await self._fetch_jwks(), kid)
        if key is None:
            raise LaunchRefused("unknown_kid", "the hub publishes no such key")
        if key.get("alg") != algorithm:
            raise LaunchRefused("algorithm", "the key is published for another algorithm")
        return key

    async def _fetch_jwks(self) -> dict[str, Any]:
        if self.http is None:
            raise RuntimeError("the simulator's HTTP client is not open")
        timeout = aiohttp.ClientTimeout(total=JWKS_TIMEOUT_SECONDS)
        try:
            async with self.http.get(self.jwks_url, timeout=timeout) as response:
                body = await response.content.read(JWKS_BYTES_MAX + 1)
            jwks = json.loads(body)
        except (aiohttp.ClientError, TimeoutError, ValueError):
            raise LaunchRefused("jwks_unavailable", "the hub's JWKS cannot be read") from None
        if response.status != 200 or len(body) > JWKS_BYTES_MAX or not isinstance(jwks, dict):
            raise LaunchRefused("jwks_unavailable", f"the hub's JWKS answered {response.status}")
        self._jwks = jwks
        return jwks

    def _log_in(self, claims: Mapping[str, Any]) -> Account:
        sub = str(claims["sub"])
        account = self.accounts.get(sub)
        if account is None:
            account = Account(f"{self.account_prefix}-{next(self._numbers):06d}", sub, dict(claims.get("reg", {})))
            self.accounts[sub] = account
        else:
            account.registration = dict(claims.get("reg", account.registration))
        account.logins += 1
        return account


def _header(token: str) -> dict[str, Any]:
    encoded = token.split(".", maxsplit=1)[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except (binascii.Error, ValueError):
        raise LaunchRefused("malformed", "the header is not base64url JSON") from None
    if not isinstance(header, dict):
        raise LaunchRefused("malformed", "the header is not a JSON object")
    return header


def _key_in(jwks: Mapping[str, Any], kid: str) -> Key | None:
    keys = [key for key in jwks.get("keys", []) if isinstance(key, dict) and key.get("kid") == kid]
    if len(keys) != 1:
        return None
    return KeySet.import_key_set({"keys": keys}).keys[0]


def html_page(status: int, title: str, message: str) -> web.Response:
    """A small page the learner sees: ``title`` as its heading over ``message``, both escaped."""
    body = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(message)}</p></body></html>"
    )
    return web.Response(status=status, text=body, content_type="text/html")


SIMULATOR = web.AppKey("jwt_post_vendor", JwtPostVendor)


def create_jwt_post_simulator(vendor: JwtPostVendor) -> web.Application:
    """An app that plays ``vendor``'s side of a jwt-post handoff at ``POST /sso/launch``."""
    app = web.Application(client_max_size=FORM_BYTES_MAX)
    app[SIMULATOR] = vendor

    async def http_client(_app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession() as session:
            vendor.http = session
            yield
            vendor.http = None

    app.cleanup_ctx.append(http_client)
    app.router.add_post("/sso/launch", vendor.launch)
    return app


def create_simulator(hub_base_url: str, *, clock: Clock = time.time) -> web.Application:
    """ischinese's side of the handoff, for a hub whose ``base_url`` is ``hub_base_url``."""
    vendor = JwtPostVendor(
        issuer=hub_base_url, audience=AUDIENCE, algorithms=ALGORITHMS, account_prefix="isc", clock=clock
    )
    return create_jwt_post_simulator(vendor)
