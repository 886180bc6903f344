"""Token and signature attacks, each refused, storing nothing, and logged with its reason and no secret:

- against the hub's own verifying endpoints: ischinese's webhooks (stale or future timestamps, a
  one-byte change of the body, only unknown signature versions, another secret), hnou's forms (the
  same, a reused nonce, an unknown appid), bearer tokens (``alg: none``, HS256 keyed with a public key,
  injected ``kid``, ``jku``/``x5u``/``jwk`` headers, unknown, expired, revoked), session cookies (forged,
  unknown, logged out) and the LTI authorization endpoint (a forged, a replayed or a foreign message
  hint, an unregistered redirect_uri, an unknown client);
- against the vendors' simulators' verification of the hub's tokens (ischinese EdDSA, webtrn ES256,
  hnou's pylti1p3 tool RS256): the same forgeries, a wrong ``aud``, expired, ``iat`` in the future,
  a replayed ``jti``.

"Stores nothing": a digest of every row of every table is the same before and after the attack (the
counters of refused deliveries excepted: counting refusals is what the hub does with them). Runs on
SQLite: the stores' behaviour on PostgreSQL is covered by the scenarios that write.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from sqlalchemy import inspect, text

from adapters.hnou.simulator_hours import hnou_sign
from adapters.ischinese.simulator import JwtPostVendor
from gateway.database import create_engine
from sso.access.model import Role, token_request
from sso.access.service import Access
from sso.handoff.model import KeyUse, PairwiseSubject, SharedDetails, SigningAlgorithm, Vendor
from sso.handoff.tokens import handoff_claims, lti_launch_claims, sign_token
from sso.id_numbers import IdNumber
from sso.people.service import PeopleService

from ..gateway.handoff_support import CLIENT_ID, ID_NUMBER, World, handoff_world, sqlite_copy
from ..sso.people.forms import registration_form
from .conftest import Scenario
from .evidence import LogTail
from .forgery import (
    ATTACKER_KID,
    INJECTED_KIDS,
    attacker_key,
    hmac_keyed_with_public_key,
    public_jwk,
    signed_by,
    unsigned,
)

WEBHOOK_SECRET = "whsec_cGxhY2Vob2xkZXItd2ViaG9vay1rZXktb25lIQ=="  # handoff_support's settings
APPSECRET = "test-hnou-appsecret"
NOT_STORE = frozenset({"ingestion_refusal"})
"""Tables an attack may change: the counters of refused deliveries."""
DETAILS = SharedDetails(
    name="欧阳娜娜",
    gender="女",
    phone="13912345678",
    email="ouyang@example.cn",
    unit_code="430100-0001",
    unit_name="长沙市中心医院",
    title="主治医师",
    education="硕士研究生",
    id_number=IdNumber(ID_NUMBER),
)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What became of one attack."""

    target: str
    case: str
    refused: bool
    stored_nothing: bool
    logged_reason: bool
    leaked: bool
    changed: tuple[str, ...]
    """The tables the attack changed."""

    @property
    def held(self) -> bool:
        return self.refused and self.stored_nothing and self.logged_reason and not self.leaked


@pytest.fixture
def sqlite_world_url(tmp_path: Path, sqlite_template: Path) -> str:
    return sqlite_copy(tmp_path, sqlite_template)


@pytest.fixture
async def attacked(
    tmp_path: Path, sqlite_world_url: str, in_process_logs: Path, scenario: Scenario
) -> AsyncIterator[Attacked]:
    async with (
        handoff_world(tmp_path, sqlite_world_url) as world,
        aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as stranger,
    ):
        scenario.evidence.keep_database(sqlite_world_url)
        scenario.evidence.id_number(ID_NUMBER)
        for secret in (
            WEBHOOK_SECRET.removeprefix("whsec_"),
            APPSECRET,
            "test-webtrn-secret",
            "test-ischinese-api-key",
        ):
            scenario.evidence.secret(secret, "vendor secret")
        sub = await world.hub.handoff.subject_for(world.person_id, Vendor.ISCHINESE)  # type: ignore[arg-type]
        yield Attacked(world, sqlite_world_url, in_process_logs, stranger, sub)


@dataclass
class Attacked:
    """The world under attack, and how each attack is judged."""

    world: World
    database_url: str
    log: Path
    stranger: aiohttp.ClientSession
    """A client with no cookies of the signed-in person's: the attacker's."""
    ischinese_sub: str

    async def footprint(self) -> dict[str, str]:
        """A digest of every row of every table but the refusal counters."""
        engine = create_engine(self.database_url)
        digests = {}
        try:
            async with engine.connect() as connection:
                names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
                for name in sorted(set(names) - NOT_STORE):
                    rows = (await connection.execute(text(f'SELECT * FROM "{name}"'))).all()  # noqa: S608
                    digests[name] = hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()
        finally:
            await engine.dispose()
        return digests

    async def judge(
        self,
        target: str,
        case: str,
        attack: Callable[[], Awaitable[bool]],
        *,
        log_event: str | None,
        secrets_sent: tuple[str, ...] = (),
        may_change: frozenset[str] = frozenset(),
    ) -> Verdict:
        """Run one attack (which says whether it was refused) and judge what it left behind."""
        before = await self.footprint()
        tail = LogTail(self.log)
        refused = await attack()
        after = await self.footprint()
        events = tail.events()
        logged = log_event is None or any(
            event.get("event") == log_event and any(key in event for key in ("reason", "error", "code"))
            for event in events
        )
        leaked = any(secret in tail.text() for secret in secrets_sent if len(secret) > 8)
        changed = [name for name in before if before[name] != after.get(name) and name not in may_change]
        return Verdict(target, case, refused, not changed, logged, leaked, tuple(changed))


def _record(scenario: Scenario, key: str, title: str, verdicts: list[Verdict]) -> None:
    scenario.record_figures(
        key,
        title,
        {
            "attacks tried": len(verdicts),
            "refused": sum(verdict.refused for verdict in verdicts),
            "stored something": sum(not verdict.stored_nothing for verdict in verdicts),
            "logged without a reason": sum(not verdict.logged_reason for verdict in verdicts),
            "secrets in the logs": sum(verdict.leaked for verdict in verdicts),
        },
    )


# ---------------------------------------------------------------- the hub's webhooks


def _webhook_headers(message_id: str, timestamp: int, body: bytes, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signature = base64.b64encode(hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, "sha256").digest())
    return {
        "Content-Type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"v1,{signature.decode()}",
    }


def _completion_body(sub: str, completion_id: str) -> bytes:
    event = {
        "type": "completion.created",
        "timestamp": "2021-06-01T10:00:00+08:00",
        "data": {
            "completion_id": completion_id,
            "sub": sub,
            "course": {"id": "XJP-2021-01", "title": "概论", "subject": "public", "hours": "3.5"},
            "completed_at": "2021-06-01T09:58:12+08:00",
        },
    }
    return json.dumps(event, ensure_ascii=False).encode()


def _ischinese_attacks(attacked: Attacked) -> dict[str, Callable[[], Awaitable[tuple[int, str]]]]:
    world = attacked.world
    url = world.url("/webhooks/ischinese")

    async def post(body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        async with attacked.stranger.post(url, data=body, headers=headers) as answer:
            return answer.status, answer.headers.get("Content-Type", "")

    async def stale() -> tuple[int, str]:
        body = _completion_body(attacked.ischinese_sub, "c-stale")
        return await post(body, _webhook_headers("msg_stale", int(time.time()) - 301, body))

    async def future() -> tuple[int, str]:
        body = _completion_body(attacked.ischinese_sub, "c-future")
        return await post(body, _webhook_headers("msg_future", int(time.time()) + 301, body))

    async def one_byte() -> tuple[int, str]:
        body = _completion_body(attacked.ischinese_sub, "c-byte")
        headers = _webhook_headers("msg_byte", int(time.time()), body)
        return await post(body.replace(b'"3.5"', b'"9.5"'), headers)

    async def unknown_version() -> tuple[int, str]:
        body = _completion_body(attacked.ischinese_sub, "c-version")
        headers = _webhook_headers("msg_version", int(time.time()), body)
        headers["webhook-signature"] = headers["webhook-signature"].replace("v1,", "v2,")
        return await post(body, headers)

    async def another_secret() -> tuple[int, str]:
        body = _completion_body(attacked.ischinese_sub, "c-secret")
        forged = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
        return await post(body, _webhook_headers("msg_secret", int(time.time()), body, forged))

    async def another_message_id() -> tuple[int, str]:
        body = _completion_body(attacked.ischinese_sub, "c-moved")
        headers = _webhook_headers("msg_original", int(time.time()), body)
        return await post(body, {**headers, "webhook-id": "msg_replayed_elsewhere"})

    return {
        "stale webhook-timestamp": stale,
        "future webhook-timestamp": future,
        "one byte of the body changed": one_byte,
        "only an unknown signature version": unknown_version,
        "signed with another secret": another_secret,
        "signature moved to another webhook-id": another_message_id,
    }


def _hnou_form(record_no: str, *, timestamp: int | None = None, nonce: str | None = None) -> dict[str, str]:
    fields = {
        "appid": "hub",
        "record_no": record_no,
        "idcard": ID_NUMBER,
        "kcbh": "HN-2021-ZY07",
        "kcmc": "行业前沿与案例研究",
        "kmlx": "2",
        "xs": "3.5",
        "wcsj": "20210610101010",
        "zt": "1",
        "timestamp": str(int(time.time()) if timestamp is None else timestamp),
        "nonce": nonce or secrets.token_urlsafe(24),
    }
    return {**fields, "sign_type": "HMAC-SHA256", "sign": hnou_sign(fields, APPSECRET)}


def _hnou_attacks(attacked: Attacked) -> dict[str, Callable[[], Awaitable[tuple[int, str]]]]:
    url = attacked.world.url("/webhooks/hnou")

    async def post(form: dict[str, str]) -> tuple[int, str]:
        async with attacked.stranger.post(url, data=form) as answer:
            return answer.status, await answer.text()

    async def one_byte() -> tuple[int, str]:
        return await post({**_hnou_form("HN-byte"), "xs": "9.5"})

    async def unknown_appid() -> tuple[int, str]:
        form = _hnou_form("HN-appid")
        fields = {key: value for key, value in form.items() if key not in {"sign", "sign_type"}}
        fields["appid"] = "intruder"
        return await post({**fields, "sign_type": "HMAC-SHA256", "sign": hnou_sign(fields, APPSECRET)})

    async def another_appsecret() -> tuple[int, str]:
        form = _hnou_form("HN-secret")
        fields = {key: value for key, value in form.items() if key not in {"sign", "sign_type"}}
        return await post({**fields, "sign_type": "HMAC-SHA256", "sign": hnou_sign(fields, "guessed-secret")})

    return {
        "stale timestamp": lambda: post(_hnou_form("HN-stale", timestamp=int(time.time()) - 301)),
        "future timestamp": lambda: post(_hnou_form("HN-future", timestamp=int(time.time()) + 301)),
        "one byte of a field changed": one_byte,
        "unknown appid": unknown_appid,
        "signed with another appsecret": another_appsecret,
    }


async def test_forged_webhooks_and_forms_are_refused_and_store_nothing(attacked: Attacked, scenario: Scenario) -> None:
    world = attacked.world
    verdicts = []
    for case, attack in _ischinese_attacks(attacked).items():

        async def ischinese(attack: Callable[[], Awaitable[tuple[int, str]]] = attack) -> bool:
            status, content_type = await attack()
            return status == 401 and content_type.startswith("application/problem+json")

        verdicts.append(
            await attacked.judge(
                "ischinese webhook", case, ischinese, log_event="delivery_refused", secrets_sent=(WEBHOOK_SECRET,)
            )
        )
    for case, attack in _hnou_attacks(attacked).items():

        async def hnou(attack: Callable[[], Awaitable[tuple[int, str]]] = attack) -> bool:
            status, answer = await attack()
            return status == 200 and answer.startswith("FAIL:")

        verdicts.append(
            await attacked.judge("hnou form", case, hnou, log_event="delivery_refused", secrets_sent=(APPSECRET,))
        )
    nonce = secrets.token_urlsafe(24)
    async with attacked.stranger.post(world.url("/webhooks/hnou"), data=_hnou_form("HN-first", nonce=nonce)) as ok:
        assert await ok.text() == "SUCCESS"

    async def reused_nonce() -> bool:
        async with attacked.stranger.post(
            world.url("/webhooks/hnou"), data=_hnou_form("HN-second", nonce=nonce)
        ) as answer:
            return await answer.text() == "FAIL:reused_nonce"

    verdicts.append(await attacked.judge("hnou form", "a reused nonce", reused_nonce, log_event="delivery_refused"))

    _record(scenario, "attacks_webhooks", "Attacks on the hub's webhooks (ischinese) and forms (hnou)", verdicts)
    assert [verdict for verdict in verdicts if not verdict.held] == []


# ---------------------------------------------------------------- bearer tokens and session cookies


async def _jwks(world: World) -> list[dict[str, object]]:
    return json.loads((await world.browser.get(world.url("/.well-known/jwks.json"))).text)["keys"]  # type: ignore[no-any-return]


async def _forged_jwts(world: World) -> dict[str, str]:
    """JWT-shaped credentials, none of which the hub ever issued."""
    published = next(key for key in await _jwks(world) if key["alg"] == "EdDSA")
    claims = {"sub": "operator", "role": "operator", "exp": int(time.time()) + 600}
    attacker = attacker_key("EdDSA")
    forged = {
        "alg none": unsigned({"typ": "JWT", "kid": published["kid"]}, claims),
        "HS256 keyed with the hub's public key": hmac_keyed_with_public_key(published, claims),
        "jwk header with the attacker's key": signed_by(
            attacker, {"alg": "EdDSA", "kid": published["kid"], "jwk": public_jwk(attacker)}, claims
        ),
        "jku header to the attacker's keys": signed_by(
            attacker, {"alg": "EdDSA", "kid": ATTACKER_KID, "jku": "http://127.0.0.1:9/jwks.json"}, claims
        ),
        "x5u header to the attacker's certificate": signed_by(
            attacker, {"alg": "EdDSA", "kid": ATTACKER_KID, "x5u": "http://127.0.0.1:9/cert.pem"}, claims
        ),
    }
    for kid in INJECTED_KIDS:
        forged[f"injected kid {kid!r}"] = signed_by(attacker, {"alg": "EdDSA", "kid": kid}, claims)
    return forged


async def _bearer_tokens(attacked: Attacked) -> dict[str, str]:
    hub = attacked.world.hub
    organisation = await hub.organisation.organisation()
    request = token_request(organisation, role=Role.OPERATOR.value, department=None, institution=None, lifetime_days=1)
    month_ago = datetime.now(UTC) - timedelta(days=31)
    expired = await Access.on(hub.engine, lambda: month_ago).tokens.issue(request)
    revoked = await hub.access.tokens.issue(request)
    await hub.access.tokens.revoke(revoked.token.id)
    valid = (await hub.access.tokens.issue(request)).secret
    return {
        **await _forged_jwts(attacked.world),
        "unknown token of the hub's shape": valid[:-6] + ("A" * 6 if not valid.endswith("A" * 6) else "B" * 6),
        "expired token": expired.secret,
        "revoked token": revoked.secret,
        "over-long token": "hub_" + "A" * 600,
    }


async def test_forged_bearer_tokens_and_session_cookies_are_refused(attacked: Attacked, scenario: Scenario) -> None:
    world = attacked.world
    form = registration_form(id_number="43010219880520001X", phone="13600000000", email="x@example.cn")
    verdicts = []
    for case, token in (await _bearer_tokens(attacked)).items():

        async def with_token(token: str = token) -> bool:
            headers = {"Authorization": f"Bearer {token}"}
            async with attacked.stranger.post(world.url("/api/v1/people"), json=form, headers=headers) as answer:
                challenge = answer.headers.get("WWW-Authenticate", "")
                return answer.status == 401 and 'error="invalid_token"' in challenge

        verdicts.append(
            await attacked.judge(
                "bearer token", case, with_token, log_event="bearer_token_refused", secrets_sent=(token,)
            )
        )
    closed = await world.hub.people.open_session(world.person_id)
    await world.hub.people.close_session(closed)
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    hub = world.hub
    idle = await PeopleService(hub.engine, hub.keyring, hub.organisation, clock=lambda: an_hour_ago).open_session(
        world.person_id
    )
    cookies = {
        **{f"{case} as a session cookie": token for case, token in list((await _forged_jwts(world)).items())[:2]},
        "unknown session token": secrets.token_urlsafe(32),
        "a session that was logged out": closed,
        "a session idle for an hour": idle,
    }
    for case, cookie in cookies.items():

        async def with_cookie(cookie: str = cookie) -> bool:
            headers = {"Cookie": f"hub_session={cookie}"}
            async with attacked.stranger.patch(
                world.url("/api/v1/me"), json={"title": "伪造"}, headers=headers
            ) as answer:
                return answer.status == 401 and "WWW-Authenticate" in answer.headers

        verdicts.append(
            await attacked.judge(
                "session cookie",
                case,
                with_cookie,
                log_event="request_refused",
                secrets_sent=(cookie,),
                # A session found to have ended is dropped when it is presented: that is all that changes.
                may_change=frozenset({"person_session"}) if cookie == idle else frozenset(),
            )
        )

    _record(scenario, "attacks_credentials", "Attacks with forged bearer tokens and session cookies", verdicts)
    assert [verdict for verdict in verdicts if not verdict.held] == []


# ---------------------------------------------------------------- the LTI authorization endpoint


async def _message_hint(world: World) -> dict[str, str]:
    """The login parameters the hub sends hnou's tool for a fresh launch."""
    launch = await world.browser.get(world.url("/sso/launch/hnou"))
    assert launch.status == 302, launch.text
    query = parse_qs(urlsplit(launch.location).query)
    return {name: values[0] for name, values in query.items()}


def _authorization(world: World, login: dict[str, str], **changes: str) -> dict[str, str]:
    return {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": CLIENT_ID,
        "redirect_uri": world.hnou_launch,
        "login_hint": login["login_hint"],
        "lti_message_hint": login["lti_message_hint"],
        "state": "state-1",
        "nonce": secrets.token_urlsafe(16),
        **changes,
    }


async def test_forged_lti_authorizations_get_no_token(attacked: Attacked, scenario: Scenario) -> None:
    world = attacked.world
    await world.consent("hnou")
    used = await _message_hint(world)
    first = await world.browser.post(world.url("/lti/authorize"), _authorization(world, used))
    assert "id_token" in first.form().fields
    cases = {
        "a replayed message hint": _authorization(world, used),
        "a forged message hint": _authorization(world, used, lti_message_hint=secrets.token_urlsafe(32)),
        "an unregistered redirect_uri": _authorization(
            world, await _message_hint(world), redirect_uri="http://127.0.0.1:9/steal"
        ),
        "an unknown client": _authorization(world, await _message_hint(world), client_id="intruder"),
        "another person's login hint": _authorization(
            world, await _message_hint(world), login_hint=secrets.token_urlsafe(16)
        ),
    }
    verdicts = []
    for case, parameters in cases.items():

        async def authorize(parameters: dict[str, str] = parameters) -> bool:
            async with attacked.stranger.post(world.url("/lti/authorize"), data=parameters) as answer:
                return "id_token" not in await answer.text()

        verdicts.append(
            await attacked.judge(
                "LTI authorize",
                case,
                authorize,
                log_event="lti_authorization_refused",
                secrets_sent=(parameters["lti_message_hint"],),
                # A message hint is single-use: any try with it uses it up, the attacker's too.
                may_change=frozenset({"handoff_message_hint"}),
            )
        )

    _record(scenario, "attacks_lti", "Attacks on the hub's LTI 1.3 authorization endpoint", verdicts)
    assert [verdict for verdict in verdicts if not verdict.held] == []


# ---------------------------------------------------------------- the vendors' verification of the hub's tokens


@dataclass(frozen=True, slots=True)
class JwtVendor:
    name: str
    vendor: Vendor
    algorithm: SigningAlgorithm


JWT_POST_VENDORS = (
    JwtVendor("ischinese", Vendor.ISCHINESE, SigningAlgorithm.EDDSA),
    JwtVendor("webtrn", Vendor.WEBTRN, SigningAlgorithm.ES256),
)


async def _claims(world: World, vendor: Vendor, **changes: object) -> dict[str, object]:
    subject = await world.hub.handoff.subject_for(world.person_id, vendor)  # type: ignore[arg-type]
    now = datetime.now(UTC)
    claims = handoff_claims(
        issuer=world.hub_url,
        vendor=vendor,
        subject=PairwiseSubject(subject),
        details=DETAILS,
        issued_at=now,
        token_id=secrets.token_urlsafe(12),
    )
    return {**claims, **changes}


async def _vendor_forgeries(world: World, target: JwtVendor) -> dict[str, str]:
    published = next(key for key in await _jwks(world) if key["alg"] == target.algorithm.value)
    claims = await _claims(world, target.vendor)
    attacker = attacker_key(target.algorithm.value)
    hub_key = await world.hub.handoff.signing_key(KeyUse.HANDOFF, target.algorithm)
    now = int(time.time())
    forged = {
        "alg none": unsigned({"typ": "JWT", "kid": published["kid"]}, claims),
        "HS256 keyed with the hub's public key": hmac_keyed_with_public_key(published, claims),
        "unknown kid": signed_by(attacker, {"alg": target.algorithm.value, "typ": "JWT", "kid": ATTACKER_KID}, claims),
        "jwk header with the attacker's key": signed_by(
            attacker, {"alg": target.algorithm.value, "kid": published["kid"], "jwk": public_jwk(attacker)}, claims
        ),
        "jku header to the attacker's keys": signed_by(
            attacker, {"alg": target.algorithm.value, "kid": published["kid"], "jku": "http://127.0.0.1:9/k"}, claims
        ),
        "x5u header to the attacker's certificate": signed_by(
            attacker, {"alg": target.algorithm.value, "kid": published["kid"], "x5u": "http://127.0.0.1:9/c"}, claims
        ),
        "wrong aud": sign_token(hub_key, await _claims(world, target.vendor, aud="someone-else")),
        "expired": sign_token(hub_key, await _claims(world, target.vendor, iat=now - 3600, exp=now - 3480)),
        "iat in the future": sign_token(hub_key, await _claims(world, target.vendor, iat=now + 3600, exp=now + 3720)),
    }
    for kid in INJECTED_KIDS:
        forged[f"injected kid {kid!r}"] = signed_by(attacker, {"alg": target.algorithm.value, "kid": kid}, claims)
    return forged


async def test_the_vendors_refuse_forged_hub_tokens(attacked: Attacked, scenario: Scenario) -> None:
    world = attacked.world
    verdicts = []
    for target in JWT_POST_VENDORS:
        await world.consent(target.name)
        simulator = world.ischinese if target.name == "ischinese" else world.webtrn
        launch = f"{world.vendor_urls[target.name]}/sso/launch"
        cases = await _vendor_forgeries(world, target)
        replayed = (await world.browser.get(world.url(f"/sso/launch/{target.name}"))).form().fields["id_token"]
        assert (await world.browser.post(launch, {"id_token": replayed})).status == 200
        cases["replayed jti"] = replayed
        for case, token in cases.items():

            async def present(token: str = token, simulator: JwtPostVendor = simulator, launch: str = launch) -> bool:
                accounts, refusals = len(simulator.accounts), len(simulator.refusals)
                page = await world.browser.post(launch, {"id_token": token})
                return (
                    page.status == 401
                    and len(simulator.accounts) == accounts
                    and len(simulator.refusals) == refusals + 1
                    and token not in simulator.refusals[-1].detail
                )

            verdicts.append(await attacked.judge(f"{target.name} simulator", case, present, log_event=None))
    verdicts += await _lti_tool_attacks(attacked)

    _record(scenario, "attacks_vendors", "Attacks on the vendors' verification of the hub's tokens", verdicts)
    assert [verdict for verdict in verdicts if not verdict.held] == []


async def _lti_tool_attacks(attacked: Attacked) -> list[Verdict]:
    """Forged launches at hnou's pylti1p3 tool, each after a real login there, so that only the
    ``id_token`` is at fault."""
    world = attacked.world
    await world.consent("hnou")
    link = world.hub.handoff.config.vendors[Vendor.HNOU]
    hub_key = await world.hub.handoff.signing_key(KeyUse.HANDOFF, SigningAlgorithm.RS256)
    published = next(key for key in await _jwks(world) if key["alg"] == "RS256")
    attacker = attacker_key("RS256")
    subject = PairwiseSubject(await world.hub.handoff.subject_for(world.person_id, Vendor.HNOU))  # type: ignore[arg-type]

    def claims(nonce: str, **changes: object) -> dict[str, object]:
        made = lti_launch_claims(
            issuer=world.hub_url,
            link=link,  # type: ignore[arg-type]
            subject=subject,
            details=DETAILS,
            nonce=nonce,
            issued_at=datetime.now(UTC),
            token_id=secrets.token_urlsafe(12),
        )
        return {**made, **changes}

    now = int(time.time())
    forgeries: dict[str, Callable[[str], str]] = {
        "alg none": lambda nonce: unsigned({"typ": "JWT", "kid": published["kid"]}, claims(nonce)),
        "HS256 keyed with the hub's public key": lambda nonce: hmac_keyed_with_public_key(published, claims(nonce)),
        "unknown kid": lambda nonce: signed_by(attacker, {"alg": "RS256", "kid": ATTACKER_KID}, claims(nonce)),
        "jwk header with the attacker's key": lambda nonce: signed_by(
            attacker, {"alg": "RS256", "kid": published["kid"], "jwk": public_jwk(attacker)}, claims(nonce)
        ),
        "jku header to the attacker's keys": lambda nonce: signed_by(
            attacker, {"alg": "RS256", "kid": published["kid"], "jku": "http://127.0.0.1:9/k"}, claims(nonce)
        ),
        "injected kid": lambda nonce: signed_by(attacker, {"alg": "RS256", "kid": INJECTED_KIDS[0]}, claims(nonce)),
        "wrong aud": lambda nonce: sign_token(hub_key, claims(nonce, aud="someone-else", azp="someone-else")),
        "expired": lambda nonce: sign_token(hub_key, claims(nonce, iat=now - 3600, exp=now - 3480)),
        "iat in the future": lambda nonce: sign_token(hub_key, claims(nonce, iat=now + 3600, exp=now + 3720)),
    }
    tool = world.hnou
    verdicts = []
    for case, forge in forgeries.items():
        login = await world.browser.follow(await world.browser.get(world.url("/sso/launch/hnou")))
        query = {name: values[0] for name, values in parse_qs(urlsplit(login.location).query).items()}

        async def present(forge: Callable[[str], str] = forge, query: dict[str, str] = query) -> bool:
            token = forge(query["nonce"])
            learners, refusals = len(tool.accounts), len(tool.refusals)
            page = await world.browser.post(world.hnou_launch, {"id_token": token, "state": query["state"]})
            return page.status == 401 and len(tool.accounts) == learners and len(tool.refusals) == refusals + 1

        verdicts.append(await attacked.judge("hnou LTI tool", case, present, log_event=None))
    replayed = await _lti_replay(attacked)
    verdicts.append(replayed)
    return verdicts


async def _lti_replay(attacked: Attacked) -> Verdict:
    """A launch the tool accepted, posted to it again."""
    world = attacked.world
    authorize = await world.browser.follow(await world.browser.get(world.url("/sso/launch/hnou")))
    answer = await world.browser.follow(authorize)
    accepted = await world.browser.submit(answer)
    assert accepted.status == 200, accepted.text
    learners = len(world.hnou.accounts)

    async def replay() -> bool:
        page = await world.browser.submit(answer)
        return page.status == 401 and len(world.hnou.accounts) == learners

    return await attacked.judge("hnou LTI tool", "a replayed launch", replay, log_event=None)
