"""The SSO handoff over HTTP, end to end: the hub and the vendors' simulators as real servers on
127.0.0.1, a person registered and signed in through the hub's own API, and a browser that submits
the pages' forms. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from sqlalchemy import text

from gateway.database import create_engine
from sso.handoff.model import KeyUse, SigningAlgorithm
from sso.handoff.tokens import sign_token

from .handoff_support import ID_NUMBER, Page, World, handoff_world, sqlite_copy

PROBLEM = "application/problem+json"


@pytest.fixture
async def world(tmp_path: Path, database_url: str) -> AsyncIterator[World]:
    """On SQLite and PostgreSQL, for what the handoff stores."""
    async with handoff_world(tmp_path, database_url) as world:
        yield world


@pytest.fixture
async def sqlite_world(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[World]:
    """On SQLite alone, for pages and refusals whose storage the tests above cover on both."""
    async with handoff_world(tmp_path, sqlite_copy(tmp_path, sqlite_template)) as world:
        yield world


@pytest.fixture
async def world_through_the_api(tmp_path: Path, database_url: str) -> AsyncIterator[World]:
    """A person registered and signed in through the hub's own API, on both databases."""
    async with handoff_world(tmp_path, database_url, through_the_api=True) as world:
        yield world


def _policy(page: Page) -> dict[str, str]:
    directives = page.headers["Content-Security-Policy"].split("; ")
    return dict(directive.split(" ", 1) for directive in directives)  # type: ignore[misc]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _assert_auto_submitting(page: Page, posts_to: str) -> None:
    policy = _policy(page)
    nonce = re.search(r'<script nonce="([^"]+)">document\.forms\[0\]\.submit\(\);</script>', page.text)
    assert nonce is not None
    assert policy["script-src"] == f"'nonce-{nonce[1]}'"
    assert policy["form-action"] == _origin(posts_to)
    assert page.form().action == posts_to
    assert "<button" in page.text  # the way on without script
    assert page.headers["Cache-Control"] == "no-store"


def _query(location: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


def _claims(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))  # type: ignore[no-any-return]


# ---------------------------------------------------------------- the JWKS


async def test_the_jwks_publishes_one_key_per_handoff_algorithm_and_the_document_key(sqlite_world: World) -> None:
    page = await sqlite_world.browser.get(sqlite_world.url("/.well-known/jwks.json"))

    assert page.status == 200
    keys = json.loads(page.text)["keys"]
    assert sorted(key["alg"] for key in keys) == ["ES256", "Ed25519", "EdDSA", "RS256"]
    assert {(key["kty"], key.get("crv")) for key in keys} == {("OKP", "Ed25519"), ("EC", "P-256"), ("RSA", None)}
    assert all(key["use"] == "sig" and key["kid"] and "d" not in key for key in keys)
    assert "max-age" in page.headers["Cache-Control"]


# ---------------------------------------------------------------- launches and consent pages


async def test_a_launch_needs_a_signed_in_person(sqlite_world: World) -> None:
    await sqlite_world.browser.post_json(sqlite_world.url("/api/v1/logout"), {})

    page = await sqlite_world.browser.get(sqlite_world.url("/sso/launch/ischinese"))

    assert page.status == 401
    assert page.headers["Content-Type"].startswith("text/html")
    assert "WWW-Authenticate" in page.headers
    assert "请先登录" in page.text


async def test_a_launch_to_an_unknown_vendor_is_404(sqlite_world: World) -> None:
    page = await sqlite_world.browser.get(sqlite_world.url("/sso/launch/moodle"))

    assert page.status == 404
    assert page.headers["Content-Type"].startswith("text/html")


async def test_the_first_launch_to_ischinese_asks_consent_then_logs_the_learner_in(
    world_through_the_api: World,
) -> None:
    world = world_through_the_api
    consent_page = await world.browser.get(world.url("/sso/launch/ischinese"))

    assert consent_page.status == 200
    for label in ("姓名", "手机号码", "电子邮箱", "工作单位", "职称", "学历", "身份证号（仅前6位和后4位）"):
        assert label in consent_page.text
    assert "完整的身份证号" not in consent_page.text
    assert _policy(consent_page)["form-action"] == "'self'"
    assert world.ischinese.accounts == {}

    back_to_launch = await world.browser.submit(consent_page)
    assert (back_to_launch.status, back_to_launch.location) == (303, "/sso/launch/ischinese")
    handoff_page = await world.browser.follow(back_to_launch)
    _assert_auto_submitting(handoff_page, world.ischinese_launch)
    assert set(handoff_page.form().fields) == {"id_token"}
    vendor_page = await world.browser.submit(handoff_page)

    assert vendor_page.status == 200, world.ischinese.refusals
    assert "欢迎您，欧阳娜娜" in vendor_page.text
    [(sub, account)] = world.ischinese.accounts.items()
    assert account.registration["id_number_masked"] == ID_NUMBER[:6] + "********" + ID_NUMBER[-4:]
    assert account.registration["unit"] == {"code": "430100-0001", "name": "长沙市中心医院"}
    assert (account.registration["phone"], account.registration["education"]) == ("13912345678", "硕士研究生")
    assert await world.hub.handoff.resolve_subject("ischinese", sub) == world.person_id

    again = await world.browser.submit(await world.browser.get(world.url("/sso/launch/ischinese")))
    assert again.status == 200
    assert list(world.ischinese.accounts) == [sub]
    assert account.logins == 2


async def test_webtrn_gets_its_own_subject_and_an_es256_token(world: World) -> None:
    await world.consent("ischinese")
    await world.consent("webtrn")

    for vendor in ("ischinese", "webtrn"):
        page = await world.browser.get(world.url(f"/sso/launch/{vendor}"))
        assert (await world.browser.submit(page)).status == 200

    [ischinese_sub] = world.ischinese.accounts
    [webtrn_sub] = world.webtrn.accounts
    assert ischinese_sub != webtrn_sub
    assert await world.hub.handoff.resolve_subject("webtrn", webtrn_sub) == world.person_id
    assert world.webtrn.refusals == []


async def test_the_consent_form_only_counts_from_the_persons_own_page(sqlite_world: World) -> None:
    consent_page = await sqlite_world.browser.get(sqlite_world.url("/sso/launch/webtrn"))

    forged = await sqlite_world.browser.submit(consent_page, form_token="forged")
    other_vendor = await sqlite_world.browser.submit(consent_page, vendor="ischinese")

    empty = await sqlite_world.browser.post(sqlite_world.url("/api/v1/me/consents"), {"something": "else"})

    assert (forged.status, other_vendor.status) == (422, 422)
    assert forged.headers["Content-Type"].startswith(PROBLEM)
    assert {error["field"] for error in json.loads(empty.text)["errors"]} == {"vendor", "form_token"}
    consents = await sqlite_world.browser.get(sqlite_world.url("/api/v1/me/consents"))
    assert json.loads(consents.text) == {"items": []}


# ---------------------------------------------------------------- the consent API


async def test_consents_are_given_listed_and_withdrawn_over_the_api(world: World) -> None:
    given = await world.browser.post_json(world.url("/api/v1/me/consents"), {"vendor": "hnou"})
    listed = await world.browser.get(world.url("/api/v1/me/consents"))

    assert given.status == 201
    consent = json.loads(given.text)
    assert (consent["vendor"], consent["vendor_name"]) == ("hnou", "湖南开放大学")
    assert "id_number" in consent["fields"]
    assert json.loads(listed.text) == {"items": [consent]}

    async with world.browser.session.delete(world.url("/api/v1/me/consents/hnou")) as withdrawn:
        assert withdrawn.status == 204
    async with world.browser.session.delete(world.url("/api/v1/me/consents/hnou")) as again:
        assert (again.status, again.content_type) == (404, PROBLEM)
    async with world.browser.session.delete(world.url("/api/v1/me/consents/moodle")) as unknown:
        assert unknown.status == 404
    consent_page = await world.browser.get(world.url("/sso/launch/hnou"))
    assert "完整的身份证号" in consent_page.text
    # The consent's form is sent on to the launch, which redirects to the tool's login: browsers hold
    # every redirect of a form's submission to form-action.
    assert _policy(consent_page)["form-action"] == f"'self' {_origin(world.hnou_login)}"


async def test_a_consent_for_no_configured_vendor_names_the_field(sqlite_world: World) -> None:
    unknown = await sqlite_world.browser.post_json(sqlite_world.url("/api/v1/me/consents"), {"vendor": "moodle"})
    not_json = await sqlite_world.browser.post(sqlite_world.url("/api/v1/me/consents"), {})

    assert (unknown.status, not_json.status) == (422, 422)
    assert [error["field"] for error in json.loads(unknown.text)["errors"]] == ["vendor"]


async def test_the_consent_api_needs_a_signed_in_person(sqlite_world: World) -> None:
    await sqlite_world.browser.post_json(sqlite_world.url("/api/v1/logout"), {})

    given = await sqlite_world.browser.post_json(sqlite_world.url("/api/v1/me/consents"), {"vendor": "hnou"})
    listed = await sqlite_world.browser.get(sqlite_world.url("/api/v1/me/consents"))

    assert (given.status, listed.status) == (401, 401)
    assert "WWW-Authenticate" in listed.headers


# ---------------------------------------------------------------- hnou: LTI 1.3 with pylti1p3


async def _to_the_hubs_answer(world: World, **authorize_changes: str) -> Page:
    """Launch hnou up to the hub's answer to the tool's authorization request."""
    await world.consent("hnou")
    launch = await world.browser.get(world.url("/sso/launch/hnou"))
    tool_login = await world.browser.follow(launch)
    assert tool_login.status == 302, world.hnou.refusals
    parameters = {**_query(tool_login.location), **authorize_changes}
    return await world.browser.get(world.url("/lti/authorize?" + urlencode(parameters)))


async def test_pylti1p3_accepts_the_hubs_launch(world: World) -> None:
    await world.consent("hnou")
    launch = await world.browser.get(world.url("/sso/launch/hnou"))

    assert launch.status == 302
    initiation = _query(launch.location)
    assert launch.location.startswith(world.hnou_login + "?")
    assert initiation["iss"] == world.hub_url
    assert (initiation["client_id"], initiation["lti_deployment_id"]) == ("hub-client", "hub-deployment-1")
    assert initiation["target_link_uri"] == world.hnou_launch
    tool_login = await world.browser.follow(launch)
    assert tool_login.location.startswith(world.url("/lti/authorize?"))
    answer = await world.browser.follow(tool_login)
    _assert_auto_submitting(answer, world.hnou_launch)
    assert set(answer.form().fields) == {"id_token", "state"}
    tool_page = await world.browser.submit(answer)

    assert tool_page.status == 200, world.hnou.refusals
    assert "欢迎您，欧阳娜娜" in tool_page.text
    learner = world.hnou.accounts[ID_NUMBER]
    assert learner.registration["id_number"] == ID_NUMBER
    assert await world.hub.handoff.resolve_subject("hnou", learner.sub) == world.person_id


async def test_pylti1p3_refuses_a_replayed_launch(sqlite_world: World) -> None:
    answer = await _to_the_hubs_answer(sqlite_world)
    first = await sqlite_world.browser.submit(answer)

    replayed = await sqlite_world.browser.submit(answer)

    assert (first.status, replayed.status) == (200, 401)
    assert sqlite_world.hnou.accounts[ID_NUMBER].logins == 1


async def test_pylti1p3_refuses_a_launch_with_another_nonce(sqlite_world: World) -> None:
    answer = await _to_the_hubs_answer(sqlite_world, nonce="a-nonce-the-tool-never-made")

    page = await sqlite_world.browser.submit(answer)

    assert page.status == 401
    assert sqlite_world.hnou.accounts == {}
    assert "Nonce" in sqlite_world.hnou.refusals[-1].detail


async def test_pylti1p3_refuses_a_launch_with_another_state(sqlite_world: World) -> None:
    answer = await _to_the_hubs_answer(sqlite_world)

    page = await sqlite_world.browser.submit(answer, state="state-the-tool-never-made")

    assert page.status == 401
    assert sqlite_world.hnou.accounts == {}
    assert "State" in sqlite_world.hnou.refusals[-1].detail


async def test_pylti1p3_refuses_a_tampered_signature(sqlite_world: World) -> None:
    answer = await _to_the_hubs_answer(sqlite_world)
    header, payload, signature = answer.form().fields["id_token"].split(".")
    flipped = ("B" if signature[10] == "A" else "A").join((signature[:10], signature[11:]))

    page = await sqlite_world.browser.submit(answer, id_token=f"{header}.{payload}.{flipped}")

    assert page.status == 401
    assert sqlite_world.hnou.accounts == {}
    assert "Signature verification failed" in sqlite_world.hnou.refusals[-1].detail


async def test_pylti1p3_refuses_a_hub_signed_launch_for_another_audience(sqlite_world: World) -> None:
    answer = await _to_the_hubs_answer(sqlite_world)
    claims = _claims(answer.form().fields["id_token"])
    key = await sqlite_world.hub.handoff.signing_key(KeyUse.HANDOFF, SigningAlgorithm.RS256)
    for_another_tool = sign_token(key, {**claims, "aud": "another-tool", "azp": "another-tool"})

    page = await sqlite_world.browser.submit(answer, id_token=for_another_tool)

    assert page.status == 401
    assert sqlite_world.hnou.accounts == {}
    assert "Client id not registered" in sqlite_world.hnou.refusals[-1].detail


# ---------------------------------------------------------------- bad authorization requests


async def _hints(world: World) -> dict[str, str]:
    await world.consent("hnou")
    return _query((await world.browser.get(world.url("/sso/launch/hnou"))).location)


async def _authorize(world: World, hints: dict[str, str], **changes: str | None) -> Page:
    parameters: dict[str, str | None] = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": "hub-client",
        "redirect_uri": world.hnou_launch,
        "login_hint": hints["login_hint"],
        "lti_message_hint": hints["lti_message_hint"],
        "state": "state-1",
        "nonce": "nonce-1",
        **changes,
    }
    form = {name: value for name, value in parameters.items() if value is not None}
    return await world.browser.post(world.url("/lti/authorize"), form)


@pytest.mark.parametrize("changes", [{"client_id": "someone-else"}, {"redirect_uri": "http://127.0.0.1:1/lti/launch"}])
async def test_an_unknown_client_or_redirect_uri_gets_an_error_page_and_no_token(
    sqlite_world: World, changes: dict[str, str]
) -> None:
    page = await _authorize(sqlite_world, await _hints(sqlite_world), **changes)

    assert page.status == 400
    assert "invalid_request" in page.text
    assert "id_token" not in page.text
    assert "<form" not in page.text


async def test_a_missing_nonce_gets_an_oidc_error_at_the_redirect_uri(sqlite_world: World) -> None:
    page = await _authorize(sqlite_world, await _hints(sqlite_world), nonce=None)

    form = page.form()
    assert (page.status, form.action) == (200, sqlite_world.hnou_launch)
    assert form.fields == {"error": "invalid_request", "error_description": "nonce is required", "state": "state-1"}


async def test_a_reused_hint_gets_an_oidc_error_and_no_token(world: World) -> None:
    hints = await _hints(world)
    first = await _authorize(world, hints)

    reused = await _authorize(world, hints, nonce="nonce-2")

    assert set(first.form().fields) == {"id_token", "state"}
    assert reused.form().fields == {
        "error": "login_required",
        "error_description": "lti_message_hint is unknown, expired or used",
        "state": "state-1",
    }


async def test_a_stale_hint_gets_an_oidc_error_and_no_token(world: World, database_url: str) -> None:
    hints = await _hints(world)
    engine = create_engine(database_url)
    async with engine.begin() as connection:
        await connection.execute(text("UPDATE handoff_message_hint SET expires_at = issued_at"))
    await engine.dispose()

    page = await _authorize(world, hints)

    assert page.form().fields["error"] == "login_required"
    assert "id_token" not in page.form().fields


async def test_a_login_hint_of_another_launch_gets_an_oidc_error(sqlite_world: World) -> None:
    hints = await _hints(sqlite_world)

    page = await _authorize(sqlite_world, hints, login_hint="someone-elses-login-hint")

    assert page.form().fields["error"] == "login_required"
