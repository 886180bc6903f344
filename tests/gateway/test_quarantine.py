"""Quarantine review through a real aiohttp server on SQLite and PostgreSQL: held records listed by
vendor and reason with personal data masked, released once their learner is known (a conflicting
version replacing the stored credit), rejected with a reason, decided once, audited; and a decided
record no longer counted as held by the ingestion view."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ledger.model import Balance, PersonId
from sso.access.model import AuditAction, AuditOutcome, Role
from sso.handoff import Vendor
from sso.handoff.subjects import pairwise_subject
from sso.id_numbers import make_id_number

from .access_support import (
    Client,
    ClientMaker,
    audit_entries,
    bearer,
    hub_of,
    new_token,
    register,
    serve_hub,
    with_vendors,
)
from .test_ingestion import VENDORS, completion, hnou_form, signed, to_hnou, to_ischinese

Item = dict[str, Any]
UNREGISTERED = make_id_number("430102", date(1990, 3, 7), 131, today=date(2021, 12, 1))


@pytest.fixture
async def client(aiohttp_client: ClientMaker, settings_file: Path, database_url: str) -> Client:
    return await serve_hub(aiohttp_client, with_vendors(settings_file, VENDORS), database_url)


@pytest.fixture
async def operator(client: Client) -> dict[str, str]:
    return bearer(await new_token(client, Role.OPERATOR))


async def held(client: Client, headers: dict[str, str], **parameters: str) -> list[Item]:
    response = await client.get("/api/v1/quarantine", params=parameters, headers=headers)
    assert response.status == 200, await response.text()
    document = await response.json()
    assert document["next_cursor"] is None
    return list(document["items"])


async def decide(
    client: Client, headers: dict[str, str], held_id: int, decision: str, body: object = None
) -> tuple[int, Item]:
    data = None if body is None else json.dumps(body)
    response = await client.post(f"/api/v1/quarantine/{held_id}/{decision}", data=data, headers=headers)
    return response.status, await response.json()


async def test_an_unknown_learner_is_released_once_the_hub_knows_them(client: Client, operator: dict[str, str]) -> None:
    hub = hub_of(client)
    staff = await register(client, 1, "430100-0001")
    # The vendor sends the sub the hub will give the person, before the hub has recorded it.
    sub = pairwise_subject(hub.keyring, PersonId(staff.id), Vendor.ISCHINESE)
    assert await to_ischinese(client, completion(sub, "c-1"), "msg-1") == 200
    [item] = await held(client, operator, vendor="ischinese", reason="unknown_person")
    assert item["held"]["sub"] == sub
    assert (item["status"], item["held"]["hours"], item["stored"]) == ("held", "3.50", None)

    status, refused = await decide(client, operator, item["id"], "release")
    assert (status, refused["type"]) == (422, "https://hub.example/problems/person_still_unknown")
    assert await hub.ledger.balance(staff.id, 2021) == Balance()

    await hub.handoff.subject_for(PersonId(staff.id), Vendor.ISCHINESE)  # the person enters ischinese
    status, released = await decide(client, operator, item["id"], "release", {"reason": "linked at launch"})

    assert status == 200, released
    assert (released["status"], released["outcome"]) == ("released", "appended")
    assert released["decision"]["reason"] == "linked at launch"
    assert released["decision"]["actor"].startswith("operator:token:")
    [entry] = await hub.ledger.entries_of(staff.id, 2021)
    assert released["decision"]["entry_seqs"] == [entry.seq]
    assert entry.actor == released["decision"]["actor"]
    assert await hub.ledger.balance(staff.id, 2021) == Balance(public=350)
    assert await held(client, operator) == []
    assert [item["id"] for item in await held(client, operator, status="released")] == [item["id"]]
    # The vendor's redelivery, once the person is known, changes nothing.
    assert await to_ischinese(client, completion(sub, "c-1"), "msg-2") == 200
    assert await hub.ledger.balance(staff.id, 2021) == Balance(public=350)

    status, again = await decide(client, operator, item["id"], "release")
    assert (status, again["type"]) == (409, "https://hub.example/problems/hold_already_decided")


async def test_a_conflicting_version_is_shown_beside_the_stored_entry_and_released_as_a_replacement(
    client: Client, operator: dict[str, str]
) -> None:
    hub = hub_of(client)
    staff = await register(client, 1, "430100-0001")
    sub = await hub.handoff.subject_for(PersonId(staff.id), Vendor.ISCHINESE)
    await to_ischinese(client, completion(sub, "c-1"), "msg-1")
    await to_ischinese(client, completion(sub, "c-1", hours="5"), "msg-2")

    [item] = await held(client, operator, reason="conflict")
    assert (item["held"]["hours"], item["stored"]["hours"]) == ("5.00", "3.50")
    assert item["held"]["person_id"] == item["stored"]["person_id"] == staff.id
    summary = await (await client.get("/api/v1/ingestion/summary", headers=operator)).json()
    assert summary["vendors"][0]["held"]["conflict"] == 1

    status, released = await decide(client, operator, item["id"], "release")

    assert status == 200, released
    _first, reversal, credit = await hub.ledger.entries_of(staff.id, 2021)
    assert (reversal.kind.value, reversal.reverses_seq, credit.reverses_seq) == (
        "reversal",
        item["stored"]["seq"],
        item["stored"]["seq"],
    )
    assert released["decision"]["entry_seqs"] == [reversal.seq, credit.seq]
    assert await hub.ledger.balance(staff.id, 2021) == Balance(public=500)
    summary = await (await client.get("/api/v1/ingestion/summary", headers=operator)).json()
    assert summary["vendors"][0]["held"]["conflict"] == 0
    assert summary["vendors"][0]["outcomes"]["released"] == 1


async def test_a_rejection_needs_a_reason_and_is_made_once(client: Client, operator: dict[str, str]) -> None:
    await to_ischinese(client, completion("a-sub-never-issued", "c-9"), "msg-1")
    [item] = await held(client, operator)

    missing = await decide(client, operator, item["id"], "reject", {})
    blank = await decide(client, operator, item["id"], "reject", {"reason": " ", "colour": "red"})
    status, rejected = await decide(client, operator, item["id"], "reject", {"reason": "a test account"})
    again = await decide(client, operator, item["id"], "reject", {"reason": "twice"})
    released = await decide(client, operator, item["id"], "release")

    assert missing[0] == 422
    assert blank[0] == 422
    assert {error["field"] for error in blank[1]["errors"]} == {"reason", "colour"}
    assert status == 200
    assert (rejected["status"], rejected["decision"]["reason"], rejected["decision"]["entry_seqs"]) == (
        "rejected",
        "a test account",
        [],
    )
    assert (again[0], released[0]) == (409, 409)
    assert await held(client, operator) == []
    entries = [entry for entry in await audit_entries(client) if entry.action is AuditAction.HELD_RECORD_REJECTED]
    assert [entry.outcome for entry in entries] == [
        *(AuditOutcome.REFUSED, AuditOutcome.REFUSED, AuditOutcome.SUCCEEDED, AuditOutcome.REFUSED)
    ]
    assert {entry.target.id for entry in entries if entry.target} == {str(item["id"])}


async def test_an_unknown_id_number_is_masked_and_released_once_registered(
    client: Client, operator: dict[str, str]
) -> None:
    assert await to_hnou(client, signed(hnou_form(UNREGISTERED, "HN-9"))) == "SUCCESS"

    response = await client.get("/api/v1/quarantine", params={"vendor": "hnou"}, headers=operator)
    text = await response.text()
    [item] = (json.loads(text))["items"]
    assert UNREGISTERED not in text
    assert UNREGISTERED[:17] not in text
    assert item["held"]["id_number_masked"] == UNREGISTERED[:6] + "********" + UNREGISTERED[-4:]
    assert (item["held"]["hours"], item["held"]["course_code"]) == ("3.50", "HN-2021-DS01")

    refused = await decide(client, operator, item["id"], "release")
    person_id = await hub_of(client).people.register(
        {**(await _registration(UNREGISTERED)), "unit_code": "430100-0001"}
    )
    status, released = await decide(client, operator, item["id"], "release")

    assert refused[0] == 422
    assert (status, released["outcome"]) == (200, "appended")
    assert await hub_of(client).ledger.balance(person_id, 2021) == Balance(public=350)


async def _registration(id_number: str) -> dict[str, object]:
    from .access_support import registration

    return {**registration(131, "430100-0001"), "id_number": id_number}


async def test_the_listing_pages_and_filters_and_refuses_bad_parameters(
    client: Client, operator: dict[str, str]
) -> None:
    for number in range(5):
        await to_ischinese(client, completion("a-sub-never-issued", f"c-{number}"), f"msg-{number}")
    await to_hnou(client, signed(hnou_form(UNREGISTERED, "HN-9")))

    pages, cursor = [], None
    while True:
        query = {"limit": "2", "vendor": "ischinese", **({} if cursor is None else {"cursor": cursor})}
        document = await (await client.get("/api/v1/quarantine", params=query, headers=operator)).json()
        pages.append([item["record_id"] for item in document["items"]])
        if (cursor := document["next_cursor"]) is None:
            break
    bad = await client.get(
        "/api/v1/quarantine", params={"vendor": "coursera", "limit": "0", "cursor": "x", "page": "2"}, headers=operator
    )

    assert pages == [["c-0", "c-1"], ["c-2", "c-3"], ["c-4"]]
    assert [item["vendor"] for item in await held(client, operator, reason="unknown_person")].count("hnou") == 1
    assert bad.status == 422
    assert {error["field"] for error in (await bad.json())["errors"]} == {"vendor", "limit", "cursor", "page"}


async def test_only_operators_review_the_quarantine(client: Client) -> None:
    await to_ischinese(client, completion("a-sub-never-issued", "c-1"), "msg-1")
    auditor = bearer(await new_token(client, Role.AUDITOR))
    supervisor = bearer(await new_token(client, Role.SUPERVISOR, institution="430100-0001"))
    calls = [
        ("GET", "/api/v1/quarantine"),
        ("POST", "/api/v1/quarantine/1/release"),
        ("POST", "/api/v1/quarantine/1/reject"),
    ]

    for method, path in calls:
        assert (await client.request(method, path)).status == 401
        for headers in (auditor, supervisor):
            response = await client.request(method, path, headers=headers, json={"reason": "no"})
            assert response.status == 404, (method, path)
    operator = bearer(await new_token(client, Role.OPERATOR))
    assert (await client.post("/api/v1/quarantine/999/release", headers=operator)).status == 404
    assert (await client.post("/api/v1/quarantine/not-an-id/release", headers=operator)).status == 404
    [item] = await held(client, operator)
    assert item["status"] == "held"
