"""Feedback on violations through a real aiohttp test server on SQLite and PostgreSQL: staff send it with
their session, supervisors list and answer what their scope reaches without learning who sent it, and the
sender reads the answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from sso.access.model import AuditAction, AuditOutcome, Role, Target, TargetKind

from ..sso.people.forms import PASSWORD
from .access_support import Client, ClientMaker, audit_entries, bearer, new_token, serve_hub
from .supervision_support import enrol, id_number

REPORT = {"subject": "单位强制指定学习平台", "text": "本单位要求全体职工只能在一家平台学习，\n否则不予认定学时。"}


@pytest.fixture
async def client(aiohttp_client: ClientMaker, settings_file: Path, database_url: str) -> Client:
    client = await serve_hub(aiohttp_client, settings_file, database_url)
    await enrol(client, 1, "430181-0001", "赵敏")
    return client


async def _sign_in(client: Client, sequence: int = 1) -> None:
    response = await client.post("/api/v1/login", json={"id_number": id_number(sequence), "password": PASSWORD})
    assert response.status == 200


async def _supervisor(client: Client, **scope: str) -> dict[str, str]:
    return bearer(await new_token(client, Role.SUPERVISOR, **scope))


async def test_staff_send_feedback_and_read_the_answer_the_supervisor_gave(client: Client) -> None:
    await _sign_in(client)
    sent = await client.post("/api/v1/me/feedback", json=REPORT)
    about_other = await client.post("/api/v1/me/feedback", json={**REPORT, "institution": "430100-0001"})
    feedback = await sent.json()
    liuyang = await _supervisor(client, department="430181-personnel")

    listed = await client.get("/api/v1/feedback", headers=liuyang)
    answered = await client.post(
        f"/api/v1/feedback/{feedback['id']}/answer", json={"text": "已约谈该单位，责令整改。"}, headers=liuyang
    )
    again = await client.post(f"/api/v1/feedback/{feedback['id']}/answer", json={"text": "再答"}, headers=liuyang)
    mine = await client.get("/api/v1/me/feedback")
    data = await (await client.get("/api/v1/me/data")).json()

    assert (sent.status, about_other.status) == (201, 201)
    assert (feedback["institution"], feedback["status"], feedback["answer"]) == ("430181-0001", "open", None)
    assert (await about_other.json())["institution"] == "430100-0001"
    assert listed.status == 200
    (seen,) = (await listed.json())["items"]  # the feedback about Changsha's hospital is not Liuyang's
    assert seen == feedback
    assert set(seen) == {"id", "institution", "subject", "text", "submitted_at", "status", "answer"}
    assert answered.status == 200
    assert (again.status, (await again.json())["type"].rsplit("/", 1)[1]) == (409, "feedback_already_answered")
    items = (await mine.json())["items"]
    assert [item["id"] for item in items] == [feedback["id"] + 1, feedback["id"]]
    assert items[1]["status"] == "answered"
    assert items[1]["answer"]["text"] == "已约谈该单位，责令整改。"
    assert data["feedback"] == items
    assert [{key: message[key] for key in ("kind", "title", "body", "link")} for message in data["messages"]] == [
        {
            "kind": "feedback_answered",
            "title": "您的反馈已有答复",
            "body": f"关于“{REPORT['subject']}”的反馈已有答复：已约谈该单位，责令整改。",
            "link": "/me/feedback",
        }
    ]
    entries = await audit_entries(client)
    assert [(entry.action, entry.outcome) for entry in entries] == [
        (AuditAction.FEEDBACK_LISTED, AuditOutcome.SUCCEEDED),
        (AuditAction.FEEDBACK_ANSWERED, AuditOutcome.SUCCEEDED),
        (AuditAction.FEEDBACK_ANSWERED, AuditOutcome.REFUSED),
    ]
    assert entries[1].target == Target(TargetKind.FEEDBACK, str(feedback["id"]))
    assert entries[0].target == Target(TargetKind.UNIT, "430181-personnel")


async def test_supervisors_reach_only_the_feedback_of_their_scope(client: Client) -> None:
    await _sign_in(client)
    feedback = await (await client.post("/api/v1/me/feedback", json=REPORT)).json()
    answer = {"text": "收到"}
    elsewhere = [
        await _supervisor(client, department="430100-health"),
        await _supervisor(client, department="430200-personnel"),
        await _supervisor(client, institution="430181-0002"),
    ]

    for headers in elsewhere:
        listed = await client.get("/api/v1/feedback", headers=headers)
        assert (await listed.json())["items"] == []
        refused = await client.post(f"/api/v1/feedback/{feedback['id']}/answer", json=answer, headers=headers)
        assert refused.status == 404
    hospital = await _supervisor(client, institution="430181-0001")
    unknown = await client.post(f"/api/v1/feedback/{feedback['id'] + 1}/answer", json=answer, headers=hospital)
    malformed = await client.post("/api/v1/feedback/13912345678/answer", json=answer, headers=hospital)
    operator = bearer(await new_token(client, Role.OPERATOR))
    as_operator = await client.get("/api/v1/feedback", headers=operator)
    as_staff = await client.get("/api/v1/feedback")
    open_ones = await client.get("/api/v1/feedback?status=open", headers=hospital)
    answered_ones = await client.get("/api/v1/feedback?status=answered", headers=hospital)
    bad_status = await client.get("/api/v1/feedback?status=closed", headers=hospital)

    assert (unknown.status, malformed.status, as_operator.status, as_staff.status) == (404, 404, 404, 404)
    assert [item["id"] for item in (await open_ones.json())["items"]] == [feedback["id"]]
    assert (await answered_ones.json())["items"] == []
    assert bad_status.status == 422
    assert (await bad_status.json())["errors"] == [{"field": "status", "message": "must be one of open, answered"}]
    denied = [entry for entry in await audit_entries(client) if entry.outcome is AuditOutcome.DENIED]
    assert [entry.details.get("reason") for entry in denied] == [
        "outside_scope",
        "outside_scope",
        "outside_scope",
        "unknown_feedback",
        "malformed_feedback_id",
        None,  # the operator's listing: outside their role
    ]


async def test_feedback_is_validated_and_limited_to_five_a_day(client: Client) -> None:
    anonymous = await client.post("/api/v1/me/feedback", json=REPORT)
    await _sign_in(client)
    invalid = await client.post(
        "/api/v1/me/feedback", json={"subject": "", "text": "x" * 2001, "institution": "430999-0001", "to": "x"}
    )
    unknown_institution = await client.post("/api/v1/me/feedback", json={**REPORT, "institution": "430999-0001"})
    not_json = await client.post("/api/v1/me/feedback", data=b"subject=x")
    too_large = await client.post("/api/v1/me/feedback", json={**REPORT, "text": "x" * 40_000})
    sent = [await client.post("/api/v1/me/feedback", json=REPORT) for _ in range(6)]

    assert anonymous.status == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Session ")
    assert invalid.status == 422
    assert [error["field"] for error in (await invalid.json())["errors"]] == ["to", "subject", "text"]
    assert (await unknown_institution.json())["errors"] == [
        {"field": "institution", "message": "is not an institution"}
    ]
    assert (not_json.status, too_large.status) == (422, 413)
    assert [response.status for response in sent] == [201] * 5 + [429]
    assert 0 < int(sent[-1].headers["Retry-After"]) <= 24 * 3600
    assert (await sent[-1].json())["type"].endswith("/feedback_limit_reached")
    assert len((await (await client.get("/api/v1/me/feedback?limit=3")).json())["items"]) == 3
