"""The personal-data search of the identity issue, over the operators' flows: after registering,
reading, correcting, transferring, resetting and deactivating through the bearer API, reading the
audit log, and a person's download of their data, neither the logs (debug level, SQL statements with
their parameters) nor the raw database (both dialects) hold an ID number, phone, e-mail, password or
secret token that was used."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

from config import load_settings
from gateway.app import create_app
from sso.access.model import Role
from sso.id_numbers import make_id_number
from sso.organisation import load_organisation

from ..sso.people.forms import PASSWORD
from .access_support import ORGANISATION_FILE, Client, bearer, hub_of, new_token, registration

CORRECTED = make_id_number("430102", date(1990, 3, 8), 124, today=date(2021, 12, 1))
NEW_PASSWORD = "Reset7password"


async def _expect(response: Any, status: int) -> dict[str, Any]:
    assert response.status == status, await response.text()
    return await response.json() if response.content_type.endswith("json") else {}


async def test_the_operators_flows_leave_no_personal_data_in_logs_or_database(
    aiohttp_client: Callable[..., Awaitable[Client]],
    settings_file: Path,
    personal_data_probe: Any,
    id_number_needles_of: Callable[[str], set[str]],
) -> None:
    client = await aiohttp_client(create_app(load_settings(settings_file)))
    await hub_of(client).organisation.replace(load_organisation(ORGANISATION_FILE))
    operator_secret = await new_token(client, Role.OPERATOR)
    auditor_secret = await new_token(client, Role.AUDITOR)
    operator, auditor = bearer(operator_secret), bearer(auditor_secret)
    form = registration(124, "430181-0001")
    id_number = str(form["id_number"])

    person_id = (await _expect(await client.post("/api/v1/people", json=form, headers=operator), 201))["id"]
    people = f"/api/v1/people/{person_id}"
    await _expect(await client.post("/api/v1/people", json=form, headers=operator), 409)
    await _expect(await client.get(f"/api/v1/people/{id_number}", headers=operator), 404)
    await _expect(await client.get(people, headers=operator), 200)
    await _expect(await client.post(f"{people}/transfer", json={"unit_code": id_number}, headers=operator), 422)
    await _expect(await client.post(f"{people}/transfer", json={"unit_code": "430200-0001"}, headers=operator), 200)
    wrong = {"id_number": CORRECTED[:17] + "0"}
    await _expect(await client.post(f"{people}/id-number", json=wrong, headers=operator), 422)
    await _expect(
        await client.post(f"{people}/id-number", json={"id_number": CORRECTED.lower()}, headers=operator), 200
    )
    link = await _expect(await client.post(f"{people}/password-reset", headers=operator), 201)
    new_password = {"new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD}
    await _expect(await client.post("/api/v1/password-reset", json={"token": link["token"], **new_password}), 204)
    await _expect(await client.post("/api/v1/password-reset", json={"token": link["token"], **new_password}), 410)
    await _expect(await client.post("/api/v1/login", json={"id_number": CORRECTED, "password": NEW_PASSWORD}), 200)
    data = await _expect(await client.get("/api/v1/me/data"), 200)
    assert data["person"]["id_number"] == CORRECTED  # the person alone sees it whole
    await _expect(await client.post(f"{people}/deactivation", headers=operator), 200)
    await _expect(await client.get("/api/v1/audit-log", headers=auditor), 200)
    forged = bearer(operator_secret[:-2] + "xx")
    await _expect(await client.get(f"/api/v1/people/{id_number}", headers=forged), 401)
    await client.close()

    needles = id_number_needles_of(id_number) | id_number_needles_of(CORRECTED) | {CORRECTED[:17] + "0"}
    needles |= {str(form["phone"]), str(form["email"]), PASSWORD, NEW_PASSWORD}
    needles |= {operator_secret, auditor_secret, link["token"]}
    assert await personal_data_probe.places_holding(needles) == {}
    logs = personal_data_probe.logs()
    assert "INSERT INTO access_audit_entry" in logs  # the audit log's statements were searched too
    assert '"event": "bearer_token_refused"' in logs
