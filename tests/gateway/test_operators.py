"""The operators' account endpoints, through a real aiohttp test server on SQLite and PostgreSQL: every
audited action leaves exactly one audit entry, and no answer shows a whole ID number, phone or e-mail."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from ledger.model import BEIJING, new_credit
from sso.access.model import AuditAction, AuditOutcome, Role, Target
from sso.access.service import Access
from sso.id_numbers import make_id_number, mask_id_number, normalise_id_number

from ..sso.people.forms import PASSWORD
from .access_support import (
    Client,
    ClientMaker,
    Staff,
    audit_entries,
    bearer,
    hub_of,
    long_ago,
    new_token,
    register,
    registration,
    serve_hub,
)


@pytest.fixture
async def client(aiohttp_client: ClientMaker, settings_file: Path, database_url: str) -> Client:
    return await serve_hub(aiohttp_client, settings_file, database_url)


@pytest.fixture
async def operator(client: Client) -> dict[str, str]:
    return bearer(await new_token(client, Role.OPERATOR))


def _assert_masked(answer: str, *people: Staff) -> None:
    for person in people:
        for secret in (person.id_number, person.id_number[:17], person.phone, person.email):
            assert secret not in answer


async def _log_in(client: Client, id_number: str, password: str = PASSWORD) -> int:
    return (await client.post("/api/v1/login", json={"id_number": id_number, "password": password})).status


async def test_an_operator_registers_and_reads_a_person_masked(client: Client, operator: dict[str, str]) -> None:
    form = registration(124, "430181-0001")

    created = await client.post("/api/v1/people", json=form, headers=operator)
    again = await client.post("/api/v1/people", json=form, headers=operator)
    invalid = await client.post("/api/v1/people", json={**form, "phone": "12", "gender": "?"}, headers=operator)
    person_id = (await created.json())["id"]
    read = await client.get(f"/api/v1/people/{person_id}", headers=operator)

    assert created.status == 201
    assert created.headers["Location"] == f"/api/v1/people/{person_id}"
    assert again.status == 409
    assert invalid.status == 422
    assert [error["field"] for error in (await invalid.json())["errors"]] == ["gender", "phone"]
    assert read.status == 200
    person = await read.json()
    id_number = normalise_id_number(str(form["id_number"]))
    assert person["id_number_masked"] == id_number[:6] + "********" + id_number[-4:]
    assert person["phone_masked"] == f"139****{str(form['phone'])[-4:]}"
    assert person["email_masked"] == "s***@example.cn"
    assert person["unit"] == {"code": "430181-0001", "name": "浏阳市人民医院"}
    assert (person["name"], person["active"], person["deactivated_at"]) == ("王芳", True, None)
    staff = Staff(person_id, id_number, str(form["phone"]), str(form["email"]))
    for answer in (created, again, invalid, read):
        _assert_masked(await answer.text(), staff)
    assert await _log_in(client, id_number) == 200

    entries = await audit_entries(client)
    assert [(entry.action, entry.outcome) for entry in entries] == [
        (AuditAction.PERSON_REGISTERED, AuditOutcome.SUCCEEDED),
        (AuditAction.PERSON_REGISTERED, AuditOutcome.REFUSED),
        (AuditAction.PERSON_REGISTERED, AuditOutcome.REFUSED),
        (AuditAction.PERSON_READ, AuditOutcome.SUCCEEDED),
    ]
    assert entries[0].target == entries[3].target == Target.person(person_id)
    assert [entry.details.get("error") for entry in entries] == [None, "id_number_taken", "invalid_person_data", None]


async def test_a_person_ledger_shows_entries_and_balance_of_a_year(client: Client, operator: dict[str, str]) -> None:
    person = await register(client, 124, "430181-0001")
    for record, hours in (("c-1", "12"), ("c-2", "3.5")):
        await hub_of(client).ledger.record(
            new_credit(
                person_id=person.id,
                source="ischinese",
                record_id=record,
                course_code="XJP-2021-01",
                course_title="习近平新时代中国特色社会主义思想概论",
                subject="public",
                hours=hours,
                completed_at=datetime(2021, 3, 2, 9, 58, tzinfo=BEIJING),
                actor="vendor:ischinese",
                payload_hash=hashlib.sha256(record.encode()).hexdigest(),
            )
        )

    year_2021 = await client.get(f"/api/v1/people/{person.id}/ledger?year=2021", headers=operator)
    year_2020 = await client.get(f"/api/v1/people/{person.id}/ledger?year=2020", headers=operator)
    no_year = await client.get(f"/api/v1/people/{person.id}/ledger", headers=operator)

    assert year_2021.status == 200
    ledger = await year_2021.json()
    assert ledger["balance"] == {"total": "15.50", "public": "15.50", "professional": "0.00"}
    assert [(entry["record_id"], entry["hours"], entry["kind"]) for entry in ledger["entries"]] == [
        ("c-1", "12.00", "credit"),
        ("c-2", "3.50", "credit"),
    ]
    assert ledger["entries"][0]["course"] == {"id": "XJP-2021-01", "title": "习近平新时代中国特色社会主义思想概论"}
    assert (await year_2020.json())["entries"] == []
    assert no_year.status == 422
    assert [error["field"] for error in (await no_year.json())["errors"]] == ["year"]
    entries = await audit_entries(client)
    assert [(entry.outcome, entry.details.get("year")) for entry in entries] == [
        (AuditOutcome.SUCCEEDED, 2021),
        (AuditOutcome.SUCCEEDED, 2020),
        (AuditOutcome.REFUSED, None),
    ]


async def test_a_reset_link_sets_a_new_password_once(client: Client, operator: dict[str, str]) -> None:
    person = await register(client, 124, "430181-0001")
    assert await _log_in(client, person.id_number) == 200

    issued = await client.post(f"/api/v1/people/{person.id}/password-reset", headers=operator)
    link = await issued.json()
    weak = await client.post(
        "/api/v1/password-reset", json={"token": link["token"], "new_password": "short", "new_password_confirm": "x"}
    )
    new_password = {"new_password": "new4password", "new_password_confirm": "new4password"}
    used = await client.post("/api/v1/password-reset", json={"token": link["token"], **new_password})
    reused = await client.post("/api/v1/password-reset", json={"token": link["token"], **new_password})

    assert issued.status == 201
    assert link["url"] == f"http://127.0.0.1:8080/password-reset#token={link['token']}"
    assert datetime.fromisoformat(link["expires_at"]) > datetime.now(BEIJING)
    assert weak.status == 422  # checked before the link is used up
    assert [error["field"] for error in (await weak.json())["errors"]] == ["new_password", "new_password_confirm"]
    assert used.status == 204
    assert reused.status == 410
    assert (await client.get("/api/v1/me")).status == 401  # the old session ended with the old password
    assert await _log_in(client, person.id_number) == 401
    assert await _log_in(client, person.id_number, "new4password") == 200
    (entry,) = await audit_entries(client)
    assert (entry.action, entry.outcome, entry.target) == (
        AuditAction.PASSWORD_RESET_ISSUED,
        AuditOutcome.SUCCEEDED,
        Target.person(person.id),
    )
    assert link["token"] not in str(entry)


async def test_an_expired_or_unknown_reset_link_is_refused(client: Client) -> None:
    person = await register(client, 124, "430181-0001")
    hub = hub_of(client)
    stale = await Access.on(hub.engine, long_ago).reset_links.issue(person.id, issued_by=None)
    new_password = {"new_password": "new4password", "new_password_confirm": "new4password"}

    expired = await client.post("/api/v1/password-reset", json={"token": stale.secret, **new_password})
    unknown = await client.post("/api/v1/password-reset", json={"token": "hubreset_" + "a" * 43, **new_password})
    missing = await client.post("/api/v1/password-reset", json=new_password)

    assert (expired.status, unknown.status, missing.status) == (410, 410, 422)
    assert await expired.json() == await unknown.json()
    assert await _log_in(client, person.id_number) == 200


async def test_a_transfer_moves_the_person_out_of_a_supervisors_reach(client: Client, operator: dict[str, str]) -> None:
    person = await register(client, 124, "430181-0001")
    hospital = bearer(await new_token(client, Role.SUPERVISOR, institution="430181-0001"))
    assert (await client.get(f"/api/v1/people/{person.id}", headers=hospital)).status == 200

    moved = await client.post(
        f"/api/v1/people/{person.id}/transfer", json={"unit_code": "430200-0001"}, headers=operator
    )
    unknown_unit = await client.post(
        f"/api/v1/people/{person.id}/transfer", json={"unit_code": "430200-personnel"}, headers=operator
    )
    extra_field = await client.post(
        f"/api/v1/people/{person.id}/transfer", json={"unit_code": "430200-0001", "name": "x"}, headers=operator
    )
    personal_data = await client.post(
        f"/api/v1/people/{person.id}/transfer", json={"unit_code": person.id_number}, headers=operator
    )

    assert moved.status == 200
    assert (await moved.json())["unit"] == {"code": "430200-0001", "name": "株洲市中心医院"}
    _assert_masked(await moved.text(), person)
    assert (unknown_unit.status, extra_field.status, personal_data.status) == (422, 422, 422)
    assert (await client.get(f"/api/v1/people/{person.id}", headers=hospital)).status == 404
    transfers = [entry for entry in await audit_entries(client) if entry.action is AuditAction.PERSON_TRANSFERRED]
    assert [(entry.outcome, dict(entry.details)) for entry in transfers] == [
        (AuditOutcome.SUCCEEDED, {"from_unit": "430181-0001", "to_unit": "430200-0001"}),
        (AuditOutcome.REFUSED, {"from_unit": "430200-0001", "error": "invalid_person_data"}),
        (AuditOutcome.REFUSED, {"from_unit": "430200-0001", "error": "invalid_access_request"}),
        (AuditOutcome.REFUSED, {"from_unit": "430200-0001", "error": "invalid_person_data"}),
    ]


async def test_an_id_number_correction_is_audited_without_either_number(
    client: Client, operator: dict[str, str], database_url: str
) -> None:
    person = await register(client, 124, "430181-0001")
    other = await register(client, 126, "430181-0001")
    corrected = make_id_number("430102", date(1990, 3, 8), 124, today=date(2021, 12, 1))  # the birth date was mistyped

    taken = await client.post(
        f"/api/v1/people/{person.id}/id-number", json={"id_number": other.id_number}, headers=operator
    )
    invalid = await client.post(
        f"/api/v1/people/{person.id}/id-number", json={"id_number": corrected[:17] + "0"}, headers=operator
    )
    fixed = await client.post(
        f"/api/v1/people/{person.id}/id-number", json={"id_number": corrected.lower()}, headers=operator
    )

    assert (taken.status, invalid.status, fixed.status) == (409, 422, 200)
    assert (await fixed.json())["id_number_masked"] == mask_id_number(corrected)
    for answer in (taken, invalid, fixed):
        _assert_masked(await answer.text(), person, other, Staff(person.id, corrected, person.phone, person.email))
    assert await _log_in(client, person.id_number) == 401
    assert await _log_in(client, corrected) == 200
    corrections = [entry for entry in await audit_entries(client) if entry.action is AuditAction.ID_NUMBER_CORRECTED]
    assert [(entry.outcome, dict(entry.details)) for entry in corrections] == [
        (AuditOutcome.REFUSED, {"error": "id_number_taken"}),
        (AuditOutcome.REFUSED, {"error": "invalid_person_data"}),
        (AuditOutcome.SUCCEEDED, {"changed": True}),
    ]
    async with hub_of(client).engine.connect() as connection:
        rows = (await connection.execute(text("SELECT * FROM access_audit_entry"))).all()
    stored = repr(rows)
    for number in (person.id_number, corrected, other.id_number):
        assert number[:17] not in stored


async def test_a_deactivated_person_cannot_log_in_and_their_sessions_end(
    client: Client, operator: dict[str, str]
) -> None:
    person = await register(client, 124, "430181-0001")
    assert await _log_in(client, person.id_number) == 200
    assert (await client.get("/api/v1/me")).status == 200

    deactivated = await client.post(f"/api/v1/people/{person.id}/deactivation", headers=operator)
    again = await client.post(f"/api/v1/people/{person.id}/deactivation", headers=operator)

    assert deactivated.status == 200
    body = await deactivated.json()
    assert body["active"] is False
    assert body["deactivated_at"] is not None
    assert (await again.json())["deactivated_at"] == body["deactivated_at"]
    assert (await client.get("/api/v1/me")).status == 401
    assert await _log_in(client, person.id_number) == 401
    entries = await audit_entries(client)
    assert [(entry.action, entry.outcome, dict(entry.details)) for entry in entries] == [
        (AuditAction.PERSON_DEACTIVATED, AuditOutcome.SUCCEEDED, {"already_inactive": False}),
        (AuditAction.PERSON_DEACTIVATED, AuditOutcome.SUCCEEDED, {"already_inactive": True}),
    ]


async def test_bad_bodies_and_paths_are_refused_and_audited(client: Client, operator: dict[str, str]) -> None:
    person = await register(client, 124, "430181-0001")

    not_json = await client.post("/api/v1/people", data=b"{nope", headers=operator)
    not_object = await client.post("/api/v1/people", json=[1, 2], headers=operator)
    too_large = await client.post("/api/v1/people", data=b" " * 20_000, headers=operator)
    an_id_number_as_path = await client.get(f"/api/v1/people/{person.id_number}", headers=operator)

    assert (not_json.status, not_object.status, too_large.status) == (422, 422, 413)
    assert an_id_number_as_path.status == 404
    entries = await audit_entries(client)
    assert [(entry.outcome, entry.target, dict(entry.details)) for entry in entries] == [
        (AuditOutcome.REFUSED, None, {"error": "invalid_access_request"}),
        (AuditOutcome.REFUSED, None, {"error": "invalid_access_request"}),
        (AuditOutcome.REFUSED, None, {"error": "http_413"}),
        (AuditOutcome.DENIED, None, {"reason": "malformed_person_id"}),
    ]


async def test_a_person_id_holding_a_phone_like_run_of_digits_is_answered_404_not_500(
    client: Client, operator: dict[str, str]
) -> None:
    person_id = "a13912345678b" + "0" * 19  # the shape of an id the hub makes, but nobody's

    read = await client.get(f"/api/v1/people/{person_id}/ledger?year=2021", headers=operator)

    assert read.status == 404
    assert [(entry.target, entry.outcome) for entry in await audit_entries(client)] == [
        (Target.person(person_id), AuditOutcome.DENIED)
    ]
