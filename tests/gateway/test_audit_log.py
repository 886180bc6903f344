"""The audit log as auditors read it, and the personal-data download as staff get it: through a real
aiohttp test server on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from gateway.bootstrap import ensure_keyring
from gateway.sessions import SESSION_COOKIE
from ledger.model import BEIJING, PersonId, new_credit
from sso.access.model import AuditAction, AuditOutcome, Role
from sso.handoff.model import Vendor
from sso.people.model import session_token_hash

from ..conftest import SETTINGS
from ..sso.people.forms import PASSWORD
from .access_support import (
    Client,
    ClientMaker,
    audit_entries,
    bearer,
    hub_of,
    new_token,
    register,
    serve_hub,
)

ISCHINESE = """
[vendors.ischinese]
name = "思想天下"
jwt_alg = "EdDSA"
launch_url = "https://ischinese.example/sso/hub"
webhook_secrets = ["whsec_c2VjcmV0LW9mLXRoZS10ZXN0"]
api_base = "https://ischinese.example/api"
api_key = "key-of-the-test"
"""


@pytest.fixture
async def client(aiohttp_client: ClientMaker, tmp_path: Path, database_url: str) -> Client:
    settings_file = tmp_path / "hub.toml"
    settings_file.write_text(SETTINGS.format(database_url=database_url, directory=tmp_path) + ISCHINESE, "utf-8")
    ensure_keyring(tmp_path / "data.key")
    return await serve_hub(aiohttp_client, settings_file, database_url)


async def test_an_auditor_pages_through_the_log_and_each_read_is_audited(client: Client) -> None:
    person = await register(client, 124, "430181-0001")
    operator = bearer(await new_token(client, Role.OPERATOR))
    auditor_secret = await new_token(client, Role.AUDITOR)
    auditor = bearer(auditor_secret)
    for _ in range(3):
        assert (await client.get(f"/api/v1/people/{person.id}", headers=operator)).status == 200
    start = (await audit_entries(client))[0].occurred_at

    first = await (await client.get("/api/v1/audit-log?limit=2", headers=auditor)).json()
    second = await (
        await client.get(f"/api/v1/audit-log?limit=2&cursor={first['next_cursor']}", headers=auditor)
    ).json()
    everything = await (await client.get("/api/v1/audit-log", headers=auditor)).json()

    assert [item["action"] for item in first["items"]] == ["person.read", "person.read"]
    # The cursor continues below the first page: reads recorded since then do not shift it.
    assert [item["action"] for item in second["items"]] == ["person.read"]
    assert second["next_cursor"] is None
    assert [item["action"] for item in everything["items"]] == [
        *("audit_log.read", "audit_log.read", "person.read", "person.read", "person.read")
    ]
    assert everything["next_cursor"] is None
    item = everything["items"][-1]
    assert item["actor"] == {"kind": "operator", "token_id": 1}
    assert (item["outcome"], item["target"], item["details"]) == (
        "succeeded",
        {"kind": "person", "id": person.id},
        {},
    )
    assert datetime.fromisoformat(item["occurred_at"]) == start

    filters = [
        ("action=person.read&actor=1", 3),
        ("actor=2", 4),
        (f"since={(start + timedelta(hours=1)).isoformat().replace('+', '%2B')}", 0),
        (f"until={start.isoformat().replace('+', '%2B')}", 0),
    ]
    for query, count in filters:
        found = await (await client.get(f"/api/v1/audit-log?{query}", headers=auditor)).json()
        assert len(found["items"]) == count, query
    reads = [entry for entry in await audit_entries(client) if entry.action is AuditAction.AUDIT_LOG_READ]
    assert len(reads) == 3 + len(filters)
    assert dict(reads[3].details) == {"action": "person.read", "actor": 1, "since": None, "until": None, "entries": 3}
    assert auditor_secret not in json.dumps(everything)


async def test_a_bad_audit_query_lists_every_parameter_at_fault(client: Client) -> None:
    auditor = bearer(await new_token(client, Role.AUDITOR))

    refused = await client.get("/api/v1/audit-log?action=nothing&limit=0&since=today&cursor=x!", headers=auditor)

    assert refused.status == 422
    assert [error["field"] for error in (await refused.json())["errors"]] == ["action", "since", "cursor", "limit"]
    (entry,) = await audit_entries(client)
    assert (entry.action, entry.outcome) == (AuditAction.AUDIT_LOG_READ, AuditOutcome.REFUSED)


async def test_staff_download_everything_the_hub_holds_about_them_and_nothing_about_others(
    client: Client,
) -> None:
    me = await register(client, 124, "430181-0001")
    colleague = await register(client, 126, "430181-0001")
    hub = hub_of(client)
    subjects = {}
    for person, account_id in ((me, "isc-me"), (colleague, "isc-colleague")):
        await hub.handoff.give_consent(PersonId(person.id), "ischinese")
        subjects[person.id] = await hub.handoff.subject_for(PersonId(person.id), Vendor.ISCHINESE)
        assert await hub.handoff.record_vendor_account("ischinese", subjects[person.id], account_id)
    await hub.handoff.withdraw_consent(PersonId(me.id), "ischinese")
    colleague_session = await hub.people.open_session(colleague.id)
    await hub.access.reset_links.issue(me.id, issued_by=None)
    for person_id, record in ((me.id, "c-1"), (colleague.id, "c-2")):
        await hub.ledger.record(
            new_credit(
                person_id=person_id,
                source="ischinese",
                record_id=record,
                course_code="XJP-2021-01",
                course_title="习近平新时代中国特色社会主义思想概论",
                subject="public",
                hours="12",
                completed_at=datetime(2021, 3, 2, 9, 58, tzinfo=BEIJING),
                actor="vendor:ischinese",
                payload_hash=hashlib.sha256(record.encode()).hexdigest(),
            )
        )
    assert (await client.get("/api/v1/me/data")).status == 401
    login = await client.post("/api/v1/login", json={"id_number": me.id_number, "password": PASSWORD})
    assert login.status == 200

    download = await client.get("/api/v1/me/data")
    with_token = await client.get("/api/v1/me/data", headers=bearer(await new_token(client, Role.OPERATOR)))

    assert download.status == 200
    assert download.headers["Content-Disposition"] == 'attachment; filename="my-data.json"'
    assert download.headers["Cache-Control"] == "no-store"
    data = await download.json()
    person = data["person"]
    assert (person["id"], person["id_number"], person["phone"], person["email"]) == (
        me.id,
        me.id_number,
        me.phone,
        me.email,
    )
    assert person["unit"] == {"code": "430181-0001", "name": "浏阳市人民医院"}
    (consent,) = data["consents"]
    assert (consent["vendor"], consent["withdrawn_at"] is not None) == ("ischinese", True)
    assert data["vendor_accounts"] == [
        {
            "vendor": "ischinese",
            "subject": subjects[me.id],
            "linked_at": data["vendor_accounts"][0]["linked_at"],
            "account_id": "isc-me",
        }
    ]
    (session,) = data["sessions"]
    assert set(session) == {"opened_at", "last_seen_at", "expires_at"}
    assert datetime.fromisoformat(session["expires_at"]) > datetime.fromisoformat(session["last_seen_at"])
    assert [link["used_at"] for link in data["password_reset_links"]] == [None]
    assert [(year["year"], year["balance"]["public"]) for year in data["ledger"]] == [(2021, "12.00")]
    assert [entry["record_id"] for entry in data["ledger"][0]["entries"]] == ["c-1"]
    text = await download.text()
    others = (colleague.id, colleague.id_number, colleague.phone, colleague.email, "c-2", subjects[colleague.id])
    for secret in (*others, "isc-colleague", colleague_session, session_token_hash(colleague_session)):
        assert secret not in text
    my_session = client.session.cookie_jar.filter_cookies(client.make_url("/"))[SESSION_COOKIE].value
    assert my_session not in text
    assert session_token_hash(my_session) not in text
    assert with_token.status == 404  # a bearer token beside the cookie: judged by the token alone, not staff's
    assert await audit_entries(client) == []  # staff act for themselves: nothing to audit
