"""Supervisors' notices through a real aiohttp test server on SQLite and PostgreSQL: a notice reaches every
active person of a unit in the caller's scope as a staff message, and nobody else; the sender's unit lists
what it sent; other units, other roles and too many notices are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.model import PersonId
from sso.access.model import AuditAction, AuditOutcome, Role, Target, TargetKind
from supervision.model import StaffMessage, StaffMessageKind

from .access_support import Client, ClientMaker, audit_entries, bearer, hub_of, new_token, serve_hub
from .supervision_support import enrol

NOTICE = {"title": "关于完成2021年度培训的通知", "body": "请于12月31日前完成90学时，\n其中公需科目不少于30学时。"}


@pytest.fixture
async def client(aiohttp_client: ClientMaker, settings_file: Path, database_url: str) -> Client:
    return await serve_hub(aiohttp_client, settings_file, database_url)


async def _received(client: Client, person_id: str) -> list[StaffMessage]:
    """The person's staff messages, as supervision sent them."""
    return [
        StaffMessage(message.person_id, StaffMessageKind(message.kind.value), message.title, message.body, message.link)
        for message in await hub_of(client).messages.all_of(PersonId(person_id))
    ]


async def test_a_notice_reaches_the_active_staff_of_the_unit_and_nobody_else(client: Client) -> None:
    liuyang = [
        await enrol(client, number, unit)
        for number, unit in enumerate(("430181-0001", "430181-0002", "430181-0003"), 1)
    ]
    left = await enrol(client, 4, "430181-0001")
    await hub_of(client).people.deactivate(left)
    changsha = await enrol(client, 5, "430100-0001")
    supervisor = bearer(await new_token(client, Role.SUPERVISOR, department="430100-personnel"))

    sent = await client.post("/api/v1/notices", json={**NOTICE, "unit": "430181"}, headers=supervisor)
    listed = await client.get("/api/v1/notices", headers=supervisor)

    assert sent.status == 201
    notice = await sent.json()
    assert (notice["unit"], notice["title"], notice["body"], notice["recipients"]) == (
        "430181",
        NOTICE["title"],
        "请于12月31日前完成90学时，\n其中公需科目不少于30学时。",
        3,
    )
    for person_id in liuyang:
        assert await _received(client, person_id) == [
            StaffMessage(PersonId(person_id), StaffMessageKind.SUPERVISOR_NOTICE, NOTICE["title"], NOTICE["body"])
        ]
    assert await _received(client, left) == []
    assert await _received(client, changsha) == []
    assert (await listed.json())["items"] == [notice]
    entries = await audit_entries(client)
    assert [(entry.action, entry.outcome, entry.target) for entry in entries] == [
        (AuditAction.NOTICE_SENT, AuditOutcome.SUCCEEDED, Target(TargetKind.UNIT, "430181")),
        (AuditAction.NOTICES_LISTED, AuditOutcome.SUCCEEDED, Target(TargetKind.UNIT, "430100-personnel")),
    ]
    assert entries[0].details["recipients"] == 3


async def test_a_notice_without_a_unit_goes_to_the_senders_own(client: Client) -> None:
    mine = await enrol(client, 1, "430181-0002")
    other = await enrol(client, 2, "430181-0001")
    school = bearer(await new_token(client, Role.SUPERVISOR, institution="430181-0002"))

    sent = await client.post("/api/v1/notices", json=NOTICE, headers=school)

    assert ((await sent.json())["unit"], (await sent.json())["recipients"]) == ("430181-0002", 1)
    assert len(await _received(client, mine)) == 1
    assert await _received(client, other) == []


async def test_notices_outside_the_scope_and_bad_ones_are_refused(client: Client) -> None:
    outsider = await enrol(client, 1, "430200-0001")
    liuyang = bearer(await new_token(client, Role.SUPERVISOR, department="430181-personnel"))
    refusals = {
        "outside": await client.post("/api/v1/notices", json={**NOTICE, "unit": "430200"}, headers=liuyang),
        "above": await client.post("/api/v1/notices", json={**NOTICE, "unit": "430100"}, headers=liuyang),
        "unknown": await client.post("/api/v1/notices", json={**NOTICE, "unit": "430999"}, headers=liuyang),
        "operator": await client.post(
            "/api/v1/notices", json=NOTICE, headers=bearer(await new_token(client, Role.OPERATOR))
        ),
        "anonymous": await client.post("/api/v1/notices", json=NOTICE),
        "invalid": await client.post(
            "/api/v1/notices", json={"title": "", "body": "x" * 1001, "unit": 7, "to": "all"}, headers=liuyang
        ),
    }

    assert {name: response.status for name, response in refusals.items()} == {
        "outside": 404,
        "above": 404,
        "unknown": 404,
        "operator": 404,
        "anonymous": 401,
        "invalid": 422,
    }
    assert [error["field"] for error in (await refusals["invalid"].json())["errors"]] == ["to", "title", "body", "unit"]
    assert await _received(client, outsider) == []
    sent = [await client.post("/api/v1/notices", json=NOTICE, headers=liuyang) for _ in range(11)]
    assert [response.status for response in sent] == [201] * 10 + [429]
    assert 0 < int(sent[-1].headers["Retry-After"]) <= 24 * 3600
    denied = [entry for entry in await audit_entries(client) if entry.outcome is AuditOutcome.DENIED]
    assert [entry.details.get("reason") for entry in denied] == ["unknown_or_outside_scope"] * 3 + [None]
