"""Who may call the operators' API: 401 without valid credentials, 404 for anything outside the caller's
role or scope. Through a real aiohttp test server on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from sso.access.model import AuditAction, AuditOutcome, Role, Target, new_secret

from ..sso.people.forms import PASSWORD
from .access_support import (
    Client,
    ClientMaker,
    audit_entries,
    bearer,
    hub_of,
    long_ago,
    new_token,
    register,
    serve_hub,
)

UNKNOWN_PERSON = "0" * 32


@pytest.fixture
async def client(aiohttp_client: ClientMaker, settings_file: Path, database_url: str) -> Client:
    return await serve_hub(aiohttp_client, settings_file, database_url)


async def test_without_credentials_the_answer_is_401_with_the_bearer_challenge(client: Client) -> None:
    for method, path in (
        ("GET", f"/api/v1/people/{UNKNOWN_PERSON}"),
        ("GET", f"/api/v1/people/{UNKNOWN_PERSON}/ledger?year=2021"),
        ("POST", "/api/v1/people"),
        ("POST", f"/api/v1/people/{UNKNOWN_PERSON}/deactivation"),
        ("GET", "/api/v1/audit-log"),
    ):
        for headers in ({}, {"Authorization": "Basic d2FuZzpmYW5n"}):
            response = await client.request(method, path, headers=headers)
            assert response.status == 401, (method, path)
            assert response.headers["WWW-Authenticate"] == 'Bearer realm="hub"'
            assert response.content_type == "application/problem+json"
            body = await response.json()
            assert (body["status"], body["type"]) == (401, "https://hub.example/problems/bearer_token_required")
    assert await audit_entries(client) == []


async def test_malformed_unknown_expired_and_revoked_tokens_get_one_401(client: Client) -> None:
    hub = hub_of(client)
    expired = await new_token(client, Role.OPERATOR, issued_at=long_ago())
    revoked = await new_token(client, Role.OPERATOR)
    await hub.access.tokens.revoke((await hub.access.tokens.authenticate(revoked)).id)

    bodies = []
    for secret in ("not-a-token", "", new_secret(), expired, revoked, "x" * 600):
        response = await client.get("/api/v1/audit-log", headers=bearer(secret))
        assert response.status == 401, secret
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="hub", error="invalid_token"'
        bodies.append(await response.json())
    assert all(body == bodies[0] for body in bodies)
    assert bodies[0]["type"] == "https://hub.example/problems/invalid_token"
    assert await audit_entries(client) == []


async def test_a_role_that_does_not_fit_gets_404_and_is_audited_as_denied(client: Client) -> None:
    person = await register(client, 124, "430181-0001")
    operator = await new_token(client, Role.OPERATOR)
    auditor = await new_token(client, Role.AUDITOR)
    supervisor = await new_token(client, Role.SUPERVISOR, institution="430181-0001")

    attempts = [
        (auditor, "POST", f"/api/v1/people/{person.id}/deactivation"),
        (auditor, "POST", "/api/v1/people"),
        (supervisor, "POST", f"/api/v1/people/{person.id}/id-number"),
        (supervisor, "POST", f"/api/v1/people/{person.id}/password-reset"),
        (operator, "GET", "/api/v1/audit-log"),
        (supervisor, "GET", "/api/v1/audit-log"),
    ]
    for secret, method, path in attempts:
        response = await client.request(method, path, headers=bearer(secret), json={"id_number": person.id_number})
        assert response.status == 404, (method, path)
        assert (await response.json())["type"] == "https://hub.example/problems/not_found"

    entries = await audit_entries(client)
    assert [entry.action for entry in entries] == [
        AuditAction.PERSON_DEACTIVATED,
        AuditAction.PERSON_REGISTERED,
        AuditAction.ID_NUMBER_CORRECTED,
        AuditAction.PASSWORD_RESET_ISSUED,
        AuditAction.AUDIT_LOG_READ,
        AuditAction.AUDIT_LOG_READ,
    ]
    assert {entry.outcome for entry in entries} == {AuditOutcome.DENIED}
    assert [entry.actor.kind.value for entry in entries] == [
        *("auditor", "auditor", "supervisor", "supervisor", "operator", "supervisor")
    ]
    assert (await hub_of(client).people.get(person.id)).active


async def test_a_supervisor_reaches_only_the_staff_their_unit_oversees(client: Client) -> None:
    liuyang = await register(client, 124, "430181-0001")  # a county hospital of Changsha
    zhuzhou = await register(client, 126, "430200-0001")  # a hospital of another city
    changsha_personnel = await new_token(client, Role.SUPERVISOR, department="430100-personnel")
    changsha_health = await new_token(client, Role.SUPERVISOR, department="430100-health")
    hospital = await new_token(client, Role.SUPERVISOR, institution="430181-0001")

    async def status(secret: str, person_id: str) -> int:
        return (await client.get(f"/api/v1/people/{person_id}", headers=bearer(secret))).status

    assert [await status(changsha_personnel, person.id) for person in (liuyang, zhuzhou)] == [200, 404]
    assert [await status(hospital, person.id) for person in (liuyang, zhuzhou)] == [200, 404]
    # The city's health commission governs the city's own hospitals, not the counties'.
    assert [await status(changsha_health, person.id) for person in (liuyang, zhuzhou)] == [404, 404]

    outside = await client.get(f"/api/v1/people/{zhuzhou.id}/ledger?year=2021", headers=bearer(hospital))
    unknown = await client.get(f"/api/v1/people/{UNKNOWN_PERSON}/ledger?year=2021", headers=bearer(hospital))
    assert (outside.status, unknown.status) == (404, 404)
    assert await outside.json() == await unknown.json()  # nothing tells that the person exists

    denied = [entry for entry in await audit_entries(client) if entry.outcome is AuditOutcome.DENIED]
    assert [(entry.target, entry.details["reason"]) for entry in denied] == [
        (Target.person(zhuzhou.id), "outside_scope"),
        (Target.person(zhuzhou.id), "outside_scope"),
        (Target.person(liuyang.id), "outside_scope"),
        (Target.person(zhuzhou.id), "outside_scope"),
        (Target.person(zhuzhou.id), "outside_scope"),
        (Target.person(UNKNOWN_PERSON), "unknown_person"),
    ]


async def test_signed_in_staff_reading_anyone_through_the_operators_api_get_404(client: Client) -> None:
    me = await register(client, 124, "430181-0001")
    colleague = await register(client, 126, "430181-0001")
    login = await client.post("/api/v1/login", json={"id_number": me.id_number, "password": PASSWORD})
    assert login.status == 200

    for person in (colleague, me):
        response = await client.get(f"/api/v1/people/{person.id}")
        assert response.status == 404
        assert colleague.id_number not in await response.text()
    assert (await client.get("/api/v1/audit-log")).status == 404
    assert (await client.get("/api/v1/me")).status == 200  # the session itself is fine


async def test_a_request_with_a_bearer_token_is_judged_by_the_token_alone(client: Client) -> None:
    me = await register(client, 124, "430181-0001")
    assert (await client.post("/api/v1/login", json={"id_number": me.id_number, "password": PASSWORD})).status == 200
    operator = await new_token(client, Role.OPERATOR)

    with_bad_token = await client.get(f"/api/v1/people/{me.id}", headers=bearer(new_secret()))
    with_good_token = await client.get(f"/api/v1/people/{me.id}", headers=bearer(operator))
    staff_route_with_bad_token = await client.get("/api/v1/me", headers=bearer(new_secret()))

    assert with_bad_token.status == 401
    assert with_good_token.status == 200
    assert staff_route_with_bad_token.status == 401  # the session cookie beside it counts for nothing


async def test_a_staff_route_answers_a_valid_token_404_and_an_invalid_one_401_whatever_the_cookie(
    client: Client,
) -> None:
    me = await register(client, 124, "430181-0001")
    assert (await client.post("/api/v1/login", json={"id_number": me.id_number, "password": PASSWORD})).status == 200
    tokens = [
        await new_token(client, Role.OPERATOR),
        await new_token(client, Role.AUDITOR),
        await new_token(client, Role.SUPERVISOR, institution="430181-0001"),  # even one who oversees me
    ]
    expired = await new_token(client, Role.OPERATOR, issued_at=long_ago())

    for secret in tokens:
        for method, path in (("GET", "/api/v1/me"), ("PATCH", "/api/v1/me"), ("GET", "/api/v1/me/data")):
            response = await client.request(method, path, headers=bearer(secret), json={"title": "其他"})
            assert response.status == 404, (method, path)
            assert response.content_type == "application/problem+json"
            assert (await response.json())["type"] == "https://hub.example/problems/not_found"
            assert me.id not in await response.text()
    for secret, challenge in (
        (new_secret(), 'Bearer realm="hub", error="invalid_token"'),
        (expired, 'Bearer realm="hub", error="invalid_token"'),
    ):
        response = await client.get("/api/v1/me", headers=bearer(secret))
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == challenge
    basic = await client.get("/api/v1/me", headers={"Authorization": "Basic d2FuZzpmYW5n"})
    assert (basic.status, basic.headers["WWW-Authenticate"]) == (401, 'Bearer realm="hub"')

    page_with_token = await client.get("/sso/launch/ischinese", headers=bearer(tokens[0]))
    page_with_bad_token = await client.get("/sso/launch/ischinese", headers=bearer(new_secret()))
    assert (page_with_token.status, page_with_token.content_type) == (404, "text/html")
    assert "找不到该页面" in await page_with_token.text()
    assert (page_with_bad_token.status, page_with_bad_token.content_type) == (401, "text/html")
    assert page_with_bad_token.headers["WWW-Authenticate"] == 'Bearer realm="hub", error="invalid_token"'

    mine = await client.get("/api/v1/me")  # without a token, the session cookie counts again
    assert (mine.status, (await mine.json())["title"]) == (200, "主治医师")  # no PATCH above went through
    assert await audit_entries(client) == []  # no token's holder acted on anyone
