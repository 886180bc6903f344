"""Certificates over HTTP, through the whole hub on SQLite and PostgreSQL: a person's hours, applying,
the history and its downloads, the PDF for its owner or a supervisor in scope, and the public
verification, whose signature checks out with nothing but the published JWKS."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
from joserfc import jws
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet

from gateway.bootstrap import ledger_rules
from gateway.database import create_engine
from ledger.model import BEIJING, Entry, new_credit, new_reversal
from ledger.service import Ledger
from ledger.store import SqlLedgerStore
from sso.access.model import AuditAction, AuditOutcome, Role

from ..sso.people.forms import PASSWORD
from .access_support import (
    Client,
    ClientMaker,
    Staff,
    audit_entries,
    bearer,
    hub_of,
    new_token,
    register,
    serve_hub,
    with_vendors,
)

UNIT = "430100-0001"
OTHER_UNIT = "430181-0001"
RULES_EXTRA = """
[rules.2021.mandatory]
xi_thought = ["ischinese:XJP-2021-01"]

[certificates]
verify_requests_per_minute = {per_minute}
"""


@pytest.fixture
def per_minute() -> int:
    return 1000


@pytest.fixture
def certificate_settings(settings_file: Path, per_minute: int) -> Path:
    """The test settings with a mandatory topic in 2021 and the throttle of the verification."""
    return with_vendors(settings_file, RULES_EXTRA.format(per_minute=per_minute))


@pytest.fixture
async def client(aiohttp_client: ClientMaker, certificate_settings: Path, database_url: str) -> Client:
    return await serve_hub(aiohttp_client, certificate_settings, database_url)


async def _sign_in(client: Client, staff: Staff) -> None:
    answer = await client.post("/api/v1/login", json={"id_number": staff.id_number, "password": PASSWORD})
    assert answer.status == 200


@pytest.fixture
async def elsewhere(client: Client, database_url: str) -> AsyncIterator[Ledger]:
    """The ledger as another hub process sees it (a scheduler's pull): its appends do not wake the
    served hub's worker, which finds them at its next sweep only."""
    engine = create_engine(database_url)
    yield Ledger(SqlLedgerStore(engine), ledger_rules(hub_of(client).settings.rules))
    await engine.dispose()


async def _credit(
    client: Client,
    staff: Staff,
    record_id: str,
    *,
    subject: str,
    hours: str,
    course: str = "C-1",
    ledger: Ledger | None = None,
) -> Entry:
    outcome = await (ledger or hub_of(client).ledger).record(
        new_credit(
            person_id=staff.id,
            source="ischinese",
            record_id=record_id,
            course_code=course,
            course_title="课程 " + course,
            subject=subject,
            hours=hours,
            completed_at=datetime(2021, 5, 4, 9, 30, tzinfo=BEIJING),
            actor="vendor:ischinese",
            payload_hash=hashlib.sha256(record_id.encode()).hexdigest(),
        )
    )
    return outcome.entries[0]


async def _reverse(client: Client, record_id: str) -> None:
    await hub_of(client).ledger.record(
        new_reversal(
            source="ischinese",
            record_id=record_id,
            reason="revoked by the vendor",
            actor="vendor:ischinese",
            payload_hash=hashlib.sha256(f"revoked {record_id}".encode()).hexdigest(),
        )
    )


async def _meet_2021(client: Client, staff: Staff, ledger: Ledger | None = None) -> list[Entry]:
    return [
        await _credit(
            client, staff, f"{staff.id}-1", subject="public", hours="30", course="XJP-2021-01", ledger=ledger
        ),
        await _credit(client, staff, f"{staff.id}-2", subject="professional", hours="60", ledger=ledger),
    ]


async def _certified(client: Client, staff: Staff) -> str:
    """The number of the certificate the person gets once their 2021 is met and reviewed."""
    await _meet_2021(client, staff)
    await hub_of(client).certificates.review_due()
    (item,) = await hub_of(client).certificates.history(staff.id)
    return item.certificate.number


async def test_the_hours_of_a_year_list_every_record_and_what_is_missing(client: Client) -> None:
    staff = await register(client, 1, UNIT)
    await _sign_in(client, staff)
    kept = await _credit(client, staff, "r-1", subject="public", hours="3.5", course="XJP-2021-01")
    gone = await _credit(client, staff, "r-2", subject="professional", hours="10")
    await _reverse(client, "r-2")

    answer = await client.get("/api/v1/me/hours?year=2021")
    document = await answer.json()

    assert answer.status == 200
    assert {name: document[name] for name in ("year", "required", "earned", "missing", "met")} == {
        "year": 2021,
        "required": {"total": "90.00", "public": "30.00", "professional": "60.00"},
        "earned": {"total": "3.50", "public": "3.50", "professional": "0.00"},
        "missing": {"total": "86.50", "public": "26.50", "professional": "60.00", "mandatory": []},
        "met": False,
    }
    assert document["entries"] == [
        {
            "id": kept.seq,
            "source": "ischinese",
            "course": {"id": "XJP-2021-01", "title": "课程 XJP-2021-01"},
            "subject": "public",
            "hours": "3.50",
            "completed_at": "2021-05-04T01:30:00+00:00",
            "status": "counted",
        },
        {
            "id": gone.seq,
            "source": "ischinese",
            "course": {"id": "C-1", "title": "课程 C-1"},
            "subject": "professional",
            "hours": "10.00",
            "completed_at": "2021-05-04T01:30:00+00:00",
            "status": "reversed",
        },
    ]
    for query in ("", "?year=21", "?year=2020"):
        assert (await client.get(f"/api/v1/me/hours{query}")).status == 422, query


async def test_applying_answers_422_with_what_is_missing_then_201_then_200(client: Client, elsewhere: Ledger) -> None:
    staff, other = await register(client, 1, UNIT), await register(client, 2, UNIT)
    await _sign_in(client, staff)
    public, professional = await _meet_2021(client, staff, elsewhere)
    foreign = await _credit(client, other, "other-1", subject="public", hours="5", ledger=elsewhere)

    short = await client.post(
        "/api/v1/me/certificates", json={"year": 2021, "entry_ids": [professional.seq, foreign.seq]}
    )
    problem = await short.json()
    assert short.status == 422
    assert short.content_type == "application/problem+json"
    assert problem["errors"] == [
        {"field": "entry_ids[1]", "message": "is not one of your training records of 2021"},
        {"field": "total", "message": "30.00 more hours needed (required 90.00)"},
        {"field": "public", "message": "30.00 more hours needed (required 30.00)"},
        {"field": "mandatory", "message": "no completed course of: xi_thought"},
    ]
    assert problem["missing"] == {
        "total": "30.00",
        "public": "30.00",
        "professional": "0.00",
        "mandatory": ["xi_thought"],
    }

    created = await client.post(
        "/api/v1/me/certificates", json={"year": 2021, "entry_ids": [public.seq, professional.seq]}
    )
    again = await client.post("/api/v1/me/certificates", json={"year": 2021, "entry_ids": [public.seq]})
    certificate = await created.json()
    number = certificate["certificate_no"]
    assert created.status == 201
    assert certificate == {
        "certificate_no": number,
        "year": 2021,
        "hours": {"total": "90.00", "public": "30.00", "professional": "60.00"},
        "status": "valid",
        "issued_at": certificate["issued_at"],
        "pdf_url": f"/api/v1/certificates/{number}.pdf",
        "verify_url": f"http://127.0.0.1:8080/verify/{number}",
    }
    assert created.headers["Location"] == certificate["pdf_url"]
    assert (again.status, await again.json()) == (200, certificate)

    for body in ({"year": 2021}, {"year": 2021, "entry_ids": ["x"]}, [1]):
        assert (await client.post("/api/v1/me/certificates", json=body)).status == 422


async def test_the_owner_downloads_the_pdf_and_the_history_records_it(client: Client) -> None:
    staff, other = await register(client, 1, UNIT), await register(client, 2, UNIT)
    number = await _certified(client, staff)
    await _sign_in(client, staff)

    download = await client.get(f"/api/v1/certificates/{number}.pdf")
    history = await (await client.get("/api/v1/me/certificates")).json()

    assert download.status == 200
    assert download.content_type == "application/pdf"
    assert (await download.read()).startswith(b"%PDF-")
    assert download.headers["Content-Disposition"] == f'attachment; filename="certificate-{number}.pdf"'
    (item,) = history["items"]
    assert (item["certificate_no"], item["status"], item["basis"], item["download_count"]) == (
        number,
        "valid",
        "automatic",
        1,
    )
    assert [download["by"] for download in item["downloads"]] == ["owner"]

    await _sign_in(client, other)
    assert (await client.get(f"/api/v1/certificates/{number}.pdf")).status == 404
    await client.post("/api/v1/logout")
    unauthenticated = await client.get(f"/api/v1/certificates/{number}.pdf")
    assert unauthenticated.status == 401
    assert "WWW-Authenticate" in unauthenticated.headers


async def test_a_supervisor_in_scope_downloads_and_anyone_else_gets_404_all_audited(client: Client) -> None:
    staff = await register(client, 1, UNIT)
    number = await _certified(client, staff)
    in_scope = bearer(await new_token(client, Role.SUPERVISOR, institution=UNIT))
    out_of_scope = bearer(await new_token(client, Role.SUPERVISOR, institution=OTHER_UNIT))
    operator = bearer(await new_token(client, Role.OPERATOR))

    allowed = await client.get(f"/api/v1/certificates/{number}.pdf", headers=in_scope)
    refused = [
        (await client.get(f"/api/v1/certificates/{number}.pdf", headers=headers)).status
        for headers in (out_of_scope, operator)
    ]
    unknown = await client.get("/api/v1/certificates/2021-0000-0000-0000-0000.pdf", headers=in_scope)

    assert allowed.status == 200
    assert refused == [404, 404]
    assert unknown.status == 404
    entries = [entry for entry in await audit_entries(client) if entry.action is AuditAction.CERTIFICATE_DOWNLOADED]
    assert [entry.outcome for entry in entries] == [
        AuditOutcome.SUCCEEDED,
        AuditOutcome.DENIED,
        AuditOutcome.DENIED,
        AuditOutcome.REFUSED,
    ]
    assert entries[0].target is not None
    assert entries[0].target.id == number
    (item,) = await hub_of(client).certificates.history(staff.id)
    assert [download.by.value for download in item.downloads] == ["supervisor"]


async def test_the_verification_json_has_exactly_its_fields_and_verifies_with_the_jwks_alone(client: Client) -> None:
    staff = await register(client, 1, UNIT)  # registered as 王芳
    number = await _certified(client, staff)

    answer = await client.get(f"/verify/{number}.json")
    document = await answer.json()
    key_set = KeySet.import_key_set(await (await client.get("/.well-known/jwks.json")).json())

    assert answer.status == 200
    assert set(document) == {"certificate_no", "name_masked", "year", "hours", "status", "issued_at", "signature"}
    assert (document["certificate_no"], document["name_masked"], document["year"], document["status"]) == (
        number,
        "王*",
        2021,
        "valid",
    )
    assert document["hours"] == {"total": "90.00", "public": "30.00", "professional": "60.00"}
    verified = jws.deserialize_compact(document["signature"], key_set, algorithms=["Ed25519"])
    signed = json.loads(verified.payload)
    assert {name: signed[name] for name in ("certificate_no", "name_masked", "year", "hours", "issued_at")} == {
        name: document[name] for name in ("certificate_no", "name_masked", "year", "hours", "issued_at")
    }
    assert verified.headers()["kid"] in {key["kid"] for key in key_set.as_dict()["keys"]}

    header, _payload, signature = document["signature"].split(".")
    tampered = json.dumps({**signed, "name_masked": "李*"}, ensure_ascii=False, separators=(",", ":")).encode()
    with pytest.raises(BadSignatureError):
        jws.deserialize_compact(f"{header}.{_base64url(tampered)}.{signature}", key_set, algorithms=["Ed25519"])


def _base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


async def test_the_verification_page_shows_the_certificate_and_a_reversal_revokes_it(client: Client) -> None:
    staff = await register(client, 1, UNIT)
    number = await _certified(client, staff)

    valid = await client.get(f"/verify/{number}")
    page = await valid.text()
    assert valid.status == 200
    assert valid.content_type == "text/html"
    assert "default-src 'self'" in valid.headers["Content-Security-Policy"]  # the pages' layout and headers
    assert "有效" in page
    assert "王*" in page
    assert "王芳" not in page
    assert number in page

    await _reverse(client, f"{staff.id}-2")
    await hub_of(client).certificates.review_due()

    revoked = await client.get(f"/verify/{number}")
    assert "已撤销" in await revoked.text()
    assert (await (await client.get(f"/verify/{number}.json")).json())["status"] == "revoked"
    await _sign_in(client, staff)
    messages = await (await client.get("/api/v1/me/messages")).json()
    assert [message["kind"] for message in messages["items"]] == ["certificate_revoked", "certificate_issued"]
    assert messages["unread"] == 2


async def test_an_unknown_number_gets_a_404_page_not_an_error(client: Client) -> None:
    for path in ("/verify/2021-0000-0000-0000-0000", "/verify/nonsense", "/verify/%E7%8E%8B%E8%8A%B3"):
        answer = await client.get(path)
        assert answer.status == 404, path
        assert answer.content_type == "text/html"
        assert "未找到" in await answer.text()
    json_answer = await client.get("/verify/2021-0000-0000-0000-0000.json")
    assert (json_answer.status, json_answer.content_type) == (404, "application/problem+json")


@pytest.mark.parametrize("per_minute", [3])
async def test_many_verifications_from_one_client_get_429_with_retry_after(client: Client) -> None:
    statuses = [(await client.get("/verify/2021-0000-0000-0000-0000.json")).status for _ in range(3)]
    throttled_json = await client.get("/verify/2021-0000-0000-0000-0000.json")
    throttled_page = await client.get("/verify/2021-0000-0000-0000-0000")

    assert statuses == [404, 404, 404]
    assert throttled_json.status == throttled_page.status == 429
    assert int(throttled_json.headers["Retry-After"]) >= 1
    assert int(throttled_page.headers["Retry-After"]) >= 1
    assert throttled_json.content_type == "application/problem+json"


async def test_the_hubs_own_worker_issues_the_certificate_after_the_append(client: Client) -> None:
    staff = await register(client, 1, UNIT)
    await _meet_2021(client, staff)

    for _ in range(300):  # the worker wakes on the append; this waits at most 30 s for it
        if await hub_of(client).certificates.history(staff.id):
            break
        await asyncio.sleep(0.1)

    (item,) = await hub_of(client).certificates.history(staff.id)
    assert item.certificate.status.value == "valid"
    assert await hub_of(client).ledger.due_evaluations() == []


async def test_messages_are_listed_and_marked_read_by_their_person_only(client: Client) -> None:
    staff, other = await register(client, 1, UNIT), await register(client, 2, UNIT)
    await _certified(client, staff)
    await _sign_in(client, staff)
    (message,) = (await (await client.get("/api/v1/me/messages")).json())["items"]

    await _sign_in(client, other)
    assert (await client.post(f"/api/v1/me/messages/{message['id']}/read")).status == 404
    await _sign_in(client, staff)
    read = await client.post(f"/api/v1/me/messages/{message['id']}/read")
    unread = await (await client.get("/api/v1/me/messages?status=unread")).json()
    bad = await client.get("/api/v1/me/messages?status=new&limit=0")

    assert read.status == 200
    assert (await read.json())["read"] is True
    assert (message["kind"], message["link"]) == ("certificate_issued", message["link"])
    assert unread == {"items": [], "unread": 0, "next_cursor": None}
    assert bad.status == 422
    assert [error["field"] for error in (await bad.json())["errors"]] == ["status", "limit"]
    assert (await client.post("/api/v1/me/messages/x/read")).status == 404


async def test_the_persons_data_download_holds_their_certificates_and_messages(client: Client) -> None:
    staff = await register(client, 1, UNIT)
    number = await _certified(client, staff)
    await _sign_in(client, staff)

    data = await (await client.get("/api/v1/me/data")).json()

    (certificate,) = data["certificates"]
    assert (certificate["certificate_no"], certificate["name"], certificate["status"]) == (number, "王芳", "valid")
    assert [message["kind"] for message in data["messages"]] == ["certificate_issued"]
