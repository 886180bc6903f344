"""ischinese delivering hours to a real hub over HTTP, signed with the spec's reference library."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import structlog
from standardwebhooks import Webhook

from ledger.model import Balance, EntryKind

from .access_support import (
    Client,
    ClientMaker,
    hub_of,
    ischinese_learner,
    ischinese_settings,
    serve_hub,
    with_vendors,
)

SECRET = "whsec_" + base64.b64encode(b"ischinese webhook secret, test").decode()
ISCHINESE = ischinese_settings(SECRET)


@pytest.fixture
async def client(aiohttp_client: ClientMaker, settings_file: Path, database_url: str) -> Client:
    return await serve_hub(aiohttp_client, with_vendors(settings_file, ISCHINESE), database_url)


@pytest.fixture
async def learner(client: Client) -> tuple[str, str]:
    """A registered person and the pairwise ``sub`` ischinese knows them by."""
    staff, subject = await ischinese_learner(client)
    return staff.id, subject


def completion(sub: str, completion_id: str = "c-000123", hours: str = "3.5") -> dict[str, object]:
    return {
        "type": "completion.created",
        "timestamp": "2021-06-01T10:00:00+08:00",
        "data": {
            "completion_id": completion_id,
            "sub": sub,
            "course": {
                "id": "XJP-2021-01",
                "title": "习近平新时代中国特色社会主义思想概论",
                "subject": "public",
                "hours": hours,
            },
            "completed_at": "2021-06-01T09:58:12+08:00",
        },
    }


def revocation(completion_id: str = "c-000123") -> dict[str, object]:
    return {
        "type": "completion.revoked",
        "timestamp": "2021-06-02T10:00:00+08:00",
        "data": {"completion_id": completion_id, "reason": "作弊"},
    }


async def deliver(
    client: Client, event: object, *, message_id: str = "msg-1", at: datetime | None = None, body: bytes | None = None
) -> tuple[int, dict[str, object]]:
    payload = body if body is not None else json.dumps(event, ensure_ascii=False).encode()
    moment = at or datetime.now(UTC)
    headers = {
        "Content-Type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": Webhook(SECRET).sign(message_id, moment, payload.decode()),
    }
    answer = await client.post("/webhooks/ischinese", data=payload, headers=headers)
    return answer.status, await answer.json()


async def test_a_completion_is_counted_once_however_often_it_comes(client: Client, learner: tuple[str, str]) -> None:
    person_id, sub = learner

    first = await deliver(client, completion(sub))
    again = await deliver(client, completion(sub))
    other_id = await deliver(client, completion(sub, hours="3.50"), message_id="msg-2")

    assert [first, again, other_id] == [
        (200, {"status": "appended"}),
        (200, {"status": "duplicate"}),
        (200, {"status": "duplicate"}),
    ]
    ledger = hub_of(client).ledger
    assert await ledger.balance(person_id, 2021) == Balance(public=350)
    assert (await ledger.verify_chain()).entries_checked == 1


async def test_a_conflicting_redelivery_is_held_with_a_2xx(client: Client, learner: tuple[str, str]) -> None:
    person_id, sub = learner
    await deliver(client, completion(sub))

    status, body = await deliver(client, completion(sub, hours="4"), message_id="msg-2")

    assert (status, body) == (200, {"status": "held"})
    ledger = hub_of(client).ledger
    assert await ledger.balance(person_id, 2021) == Balance(public=350)
    assert [record.reason for record in await ledger.held_records()] == ["conflict"]


async def test_a_revocation_before_its_completion_is_applied_when_it_arrives(
    client: Client, learner: tuple[str, str]
) -> None:
    person_id, sub = learner

    early = await deliver(client, revocation(), message_id="msg-r")
    late = await deliver(client, completion(sub), message_id="msg-c")

    assert (early, late) == ((200, {"status": "pending"}), (200, {"status": "appended"}))
    entries = await hub_of(client).ledger.entries_of(person_id, 2021)
    assert [entry.kind for entry in entries] == [EntryKind.CREDIT, EntryKind.REVERSAL]
    assert await hub_of(client).ledger.balance(person_id, 2021) == Balance()


async def test_an_unknown_sub_is_held_with_a_2xx(client: Client) -> None:
    status, body = await deliver(client, completion("a-sub-the-hub-never-issued"))

    assert (status, body) == (200, {"status": "held"})
    (held,) = await hub_of(client).ledger.held_records()
    assert held.reason == "unknown_person"


async def test_an_account_link_is_recorded(client: Client, learner: tuple[str, str]) -> None:
    _person_id, sub = learner
    event = {
        "type": "account.linked",
        "timestamp": "2021-06-01T10:00:00+08:00",
        "data": {"sub": sub, "account_id": "u-77"},
    }

    assert await deliver(client, event) == (200, {"status": "linked"})
    assert await hub_of(client).handoff.vendor_account_of("ischinese", sub) == "u-77"


async def test_an_account_link_for_a_sub_never_issued_is_answered_as_such(client: Client) -> None:
    event = {
        "type": "account.linked",
        "timestamp": "2021-06-01T10:00:00+08:00",
        "data": {"sub": "a-sub-the-hub-never-issued", "account_id": "u-78"},
    }

    assert await deliver(client, event) == (200, {"status": "unknown_subject"})
    assert await hub_of(client).handoff.vendor_account_of("ischinese", "a-sub-the-hub-never-issued") is None


@pytest.mark.parametrize("skew", [timedelta(seconds=-301), timedelta(seconds=301)])
async def test_a_stale_or_future_timestamp_is_refused_and_nothing_stored(
    client: Client, learner: tuple[str, str], skew: timedelta
) -> None:
    status, body = await deliver(client, completion(learner[1]), at=datetime.now(UTC) + skew)

    assert (status, body["status"]) == (401, 401)
    assert (await hub_of(client).ledger.verify_chain()).entries_checked == 0


async def test_a_refusal_is_logged_with_the_check_that_failed_and_no_secret(
    client: Client, learner: tuple[str, str]
) -> None:
    with structlog.testing.capture_logs() as logs:
        await deliver(client, completion(learner[1]), at=datetime.now(UTC) - timedelta(seconds=301))
        await deliver(client, completion(learner[1], hours="1.005"))

    refusals = [log for log in logs if log["event"] == "delivery_refused"]
    assert [(log["vendor"], log["code"], log["reason"]) for log in refusals] == [
        ("ischinese", "signature_refused", "the webhook-timestamp is more than 300 seconds from the hub's clock"),
        ("ischinese", "delivery_invalid", "invalid fields: data.course.hours"),
    ]
    assert SECRET.removeprefix("whsec_") not in repr(logs)
    assert learner[1] not in repr(refusals)


async def test_a_tampered_body_is_refused_and_nothing_stored(client: Client, learner: tuple[str, str]) -> None:
    payload = json.dumps(completion(learner[1])).encode()
    moment = datetime.now(UTC)
    headers = {
        "webhook-id": "msg-1",
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": Webhook(SECRET).sign("msg-1", moment, payload.decode()),
    }

    answer = await client.post("/webhooks/ischinese", data=payload.replace(b"3.5", b"9.5"), headers=headers)

    assert answer.status == 401
    assert answer.content_type == "application/problem+json"
    assert (await hub_of(client).ledger.verify_chain()).entries_checked == 0


async def test_malformed_fields_are_named_in_a_400(client: Client, learner: tuple[str, str]) -> None:
    event = completion(learner[1], hours="1.005")
    event["data"]["course"]["subject"] = "sports"  # type: ignore[index]

    status, body = await deliver(client, event)

    assert status == 400
    assert {error["field"] for error in body["errors"]} == {"data.course.hours", "data.course.subject"}  # type: ignore[union-attr]


async def test_control_characters_are_a_400_naming_the_field_and_store_nothing(
    client: Client, learner: tuple[str, str]
) -> None:
    event = completion(learner[1])
    event["data"]["course"]["title"] = "概论\x00"  # type: ignore[index]
    stranger = completion("sub-\x00")

    status, body = await deliver(client, event)
    stranger_status, stranger_body = await deliver(client, stranger, message_id="msg-2")

    assert (status, stranger_status) == (400, 400)
    assert [error["field"] for error in body["errors"]] == ["data.course.title"]  # type: ignore[union-attr]
    assert [error["field"] for error in stranger_body["errors"]] == ["data.sub"]  # type: ignore[union-attr]
    assert (await hub_of(client).ledger.verify_chain()).entries_checked == 0
    assert await hub_of(client).ledger.held_records() == []


async def test_an_unknown_type_is_a_400(client: Client) -> None:
    status, body = await deliver(client, {"type": "completion.updated", "data": {}})

    assert status == 400
    assert body["errors"] == [
        {"field": "type", "message": "must be one of completion.created, completion.revoked, account.linked"}
    ]


async def test_a_year_without_rules_is_a_400_naming_the_time(client: Client, learner: tuple[str, str]) -> None:
    event = completion(learner[1])
    event["data"]["completed_at"] = "2019-06-01T09:58:12+08:00"  # type: ignore[index]

    status, body = await deliver(client, event)

    assert status == 400
    assert [error["field"] for error in body["errors"]] == ["data.completed_at"]  # type: ignore[union-attr]


async def test_a_body_over_64_kib_is_refused_before_anything_else(client: Client) -> None:
    answer = await client.post("/webhooks/ischinese", data=b"{" + b" " * 65_536 + b"}")

    assert answer.status == 413
    assert answer.content_type == "application/problem+json"
