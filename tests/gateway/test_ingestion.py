"""The operators' ingestion view through a real aiohttp server on SQLite and PostgreSQL: deliveries
to both webhook routes show up with the outcome the ledger decided, or refused with the reason they
were answered; pages, filters and the summary; who may read; nothing personal; a flood of bad
signatures stays a handful of rows; and a database that is away changes no answer to a vendor."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from standardwebhooks import Webhook

from adapters.hnou.simulator_hours import hnou_sign
from config import load_settings
from gateway.app import create_app
from gateway.bootstrap import ensure_keyring
from ledger.model import Delivery, EntryKind, Hold, HoldReason, Source
from sso.access.model import Role
from sso.id_numbers import make_id_number

from ..sso.people.forms import PASSWORD
from .access_support import (
    Client,
    ClientMaker,
    Staff,
    bearer,
    hub_of,
    ischinese_learner,
    ischinese_settings,
    new_token,
    serve_hub,
    with_vendors,
)

SECRET = "whsec_" + base64.b64encode(b"ischinese webhook secret, test").decode()
WRONG_SECRET = "whsec_" + base64.b64encode(b"a secret the hub never had").decode()
APPID, APPSECRET = "hub-test", "the-app-secret"
STRANGER = make_id_number("430102", date(1990, 3, 7), 126, today=date(2021, 12, 1))
VENDORS = (
    ischinese_settings(SECRET)
    + f"""
[vendors.hnou]
name = "湖南开放大学"
jwt_alg = "RS256"
login_url = "http://127.0.0.1:9/lti/login"
target_link_uri = "http://127.0.0.1:9/lti/launch"
client_id = "hub-client"
deployment_id = "hub-deployment-1"
redirect_uris = ["http://127.0.0.1:9/lti/launch"]
appid = "{APPID}"
appsecret = "{APPSECRET}"
api_base = "http://127.0.0.1:9"
"""
)

Item = dict[str, Any]


@pytest.fixture
async def client(aiohttp_client: ClientMaker, settings_file: Path, database_url: str) -> Client:
    return await serve_hub(aiohttp_client, with_vendors(settings_file, VENDORS), database_url)


@pytest.fixture
async def learner(client: Client) -> tuple[Staff, str]:
    """A registered person and the pairwise ``sub`` ischinese knows them by."""
    return await ischinese_learner(client)


@pytest.fixture
async def operator(client: Client) -> dict[str, str]:
    return bearer(await new_token(client, Role.OPERATOR))


# ---------------------------------------------------------------- delivering


def completion(sub: str, completion_id: str, hours: str = "3.5") -> dict[str, object]:
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


def revocation(completion_id: str) -> dict[str, object]:
    return {
        "type": "completion.revoked",
        "timestamp": "2021-06-02T10:00:00+08:00",
        "data": {"completion_id": completion_id},
    }


async def to_ischinese(
    client: Client,
    event: object,
    message_id: str,
    *,
    secret: str = SECRET,
    at: datetime | None = None,
    body: bytes | None = None,
) -> int:
    payload = body if body is not None else json.dumps(event, ensure_ascii=False).encode()
    moment = at or datetime.now(UTC)
    headers = {
        "Content-Type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, moment, payload.decode()),
    }
    return (await client.post("/webhooks/ischinese", data=payload, headers=headers)).status


def hnou_form(id_number: str, record_no: str, **changes: str) -> dict[str, str]:
    return {
        "appid": APPID,
        "record_no": record_no,
        "idcard": id_number,
        "kcbh": "HN-2021-DS01",
        "kcmc": "党史学习教育",
        "kmlx": "1",
        "xs": "3.5",
        "wcsj": "20210601095812",
        "zt": "1",
        **changes,
    }


def signed(fields: dict[str, str], *, timestamp: int | None = None) -> dict[str, str]:
    stamped = {
        **fields,
        "timestamp": str(int(datetime.now(UTC).timestamp()) if timestamp is None else timestamp),
        "nonce": secrets.token_urlsafe(24),
    }
    return {**stamped, "sign_type": "HMAC-SHA256", "sign": hnou_sign(stamped, APPSECRET)}


async def to_hnou(client: Client, form: dict[str, str]) -> str:
    response = await client.post("/webhooks/hnou", data=form)
    assert response.status == 200
    return await response.text()


# ---------------------------------------------------------------- reading


async def events(client: Client, headers: dict[str, str], **parameters: str) -> list[Item]:
    response = await client.get("/api/v1/ingestion/events", params={"limit": "200", **parameters}, headers=headers)
    assert response.status == 200, await response.text()
    document = await response.json()
    assert document["next_cursor"] is None
    return list(document["items"])


async def every_page(client: Client, headers: dict[str, str], limit: int, **parameters: str) -> list[list[Item]]:
    pages, cursor = [], None
    while True:
        query = {"limit": str(limit), **parameters, **({} if cursor is None else {"cursor": cursor})}
        document = await (await client.get("/api/v1/ingestion/events", params=query, headers=headers)).json()
        pages.append(document["items"])
        cursor = document["next_cursor"]
        if cursor is None:
            return pages


def received_at(item: Item) -> datetime:
    return datetime.fromisoformat(item["received_at"])


def receipts(items: list[Item]) -> list[tuple[object, ...]]:
    return [
        (item["outcome"], item["reason"], item["delivery_id"], item["record_id"], item["kind"])
        for item in items
        if item["outcome"] != "refused"
    ]


def refusals(items: list[Item]) -> Counter[tuple[str, tuple[str, ...], str | None]]:
    """How many refusals of each reason, fields and delivery id; a bucket counts as many as it holds."""
    counted: Counter[tuple[str, tuple[str, ...], str | None]] = Counter()
    for item in items:
        if item["outcome"] == "refused":
            assert (item["record_id"], item["kind"], item["entry_seq"]) == (None, None, None)
            counted[(item["reason"], tuple(item["fields"]), item["delivery_id"])] += item["count"]
    return counted


# ---------------------------------------------------------------- what arrived, and what became of it


async def test_ischinese_deliveries_show_up_with_their_outcome_or_their_refusal(
    client: Client, learner: tuple[Staff, str], operator: dict[str, str]
) -> None:
    _staff, sub = learner
    answers = [
        await to_ischinese(client, completion(sub, "c-1"), "msg-1"),
        await to_ischinese(client, completion(sub, "c-1"), "msg-2"),
        await to_ischinese(client, completion(sub, "c-1", hours="4"), "msg-3"),
        await to_ischinese(client, revocation("c-2"), "msg-4"),
        await to_ischinese(client, completion("a-sub-never-issued", "c-3"), "msg-5"),
        await to_ischinese(client, completion(sub, "c-4"), "msg-6", secret=WRONG_SECRET),
        await to_ischinese(client, completion(sub, "c-4"), "msg-7", at=datetime.now(UTC) - timedelta(seconds=400)),
        await to_ischinese(client, {"type": "completion.exploded", "data": {}}, "msg-8"),
        await to_ischinese(client, None, "msg-9", body=b'{"pad": "' + b"x" * 70_000 + b'"}'),
    ]

    items = await events(client, operator)

    assert answers == [200, 200, 200, 200, 200, 401, 401, 400, 413]
    assert {item["vendor"] for item in items} == {"ischinese"}
    assert receipts(items) == [  # newest first
        ("held", "unknown_person", "msg-5", "c-3", "credit"),
        ("pending", None, "msg-4", "c-2", "reversal"),
        ("held", "conflict", "msg-3", "c-1", "credit"),
        ("duplicate", None, "msg-2", "c-1", "credit"),
        ("appended", None, "msg-1", "c-1", "credit"),
    ]
    assert [item["entry_seq"] for item in items if item["record_id"] == "c-1"] == [None, 1, 1]
    # The webhook-id of a refusal is kept only once the signature vouched for it.
    assert refusals(items) == {
        ("signature_refused", (), None): 2,
        ("delivery_invalid", ("type",), "msg-8"): 1,
        ("body_too_large", (), None): 1,
    }
    times = [received_at(item) for item in items]
    assert times == sorted(times, reverse=True)


async def test_hnou_deliveries_show_up_with_their_outcome_or_their_fail_reason(
    client: Client, learner: tuple[Staff, str], operator: dict[str, str]
) -> None:
    staff, _sub = learner
    reused = signed(hnou_form(staff.id_number, "HN-2"))
    stale = int((datetime.now(UTC) - timedelta(seconds=400)).timestamp())
    answers = [
        await to_hnou(client, signed(hnou_form(staff.id_number, "HN-1"))),
        await to_hnou(client, reused),
        await to_hnou(client, reused),
        await to_hnou(client, signed(hnou_form(STRANGER, "HN-3"))),
        await to_hnou(client, {**signed(hnou_form(staff.id_number, "HN-4")), "xs": "35"}),
        await to_hnou(client, signed(hnou_form(staff.id_number, "HN-4"), timestamp=stale)),
        await to_hnou(client, signed(hnou_form(staff.id_number, "HN-4", xs="bad", kmlx="9"))),
        await to_hnou(client, signed(hnou_form(staff.id_number, "HN-4", appid="someone-else"))),
        await to_hnou(client, {**signed(hnou_form(staff.id_number, "HN-4")), "padding": "x" * 9000}),
    ]

    items = await events(client, operator, vendor="hnou")

    assert answers == [
        "SUCCESS",
        "SUCCESS",
        "FAIL:reused_nonce",
        "SUCCESS",
        "FAIL:invalid_sign",
        "FAIL:invalid_timestamp",
        "FAIL:invalid_field:kmlx,xs",
        "FAIL:unknown_appid",
        "FAIL:body_too_large",
    ]
    assert [(outcome, reason, record_id, kind) for outcome, reason, _id, record_id, kind in receipts(items)] == [
        ("held", "unknown_person", "HN-3", "credit"),
        ("appended", None, "HN-2", "credit"),
        ("appended", None, "HN-1", "credit"),
    ]
    assert refusals(items) == {
        ("reused_nonce", (), None): 1,
        ("invalid_sign", (), None): 1,
        ("invalid_timestamp", (), None): 1,
        ("invalid_field", ("kmlx", "xs"), None): 1,
        ("unknown_appid", (), None): 1,
        ("body_too_large", (), None): 1,
    }


async def deliver_a_mix(client: Client, sub: str, id_number: str) -> None:
    """Five ischinese completions and two bad signatures, an hnou completion and a bad sign, interleaved."""
    for number in range(1, 6):
        assert await to_ischinese(client, completion(sub, f"c-{number}"), f"msg-{number}") == 200
        if number in {2, 4}:
            assert await to_ischinese(client, completion(sub, "c-9"), f"bad-{number}", secret=WRONG_SECRET) == 401
        if number == 3:
            assert await to_hnou(client, signed(hnou_form(id_number, "HN-1"))) == "SUCCESS"
            assert await to_hnou(client, {**signed(hnou_form(id_number, "HN-2")), "xs": "9"}) == "FAIL:invalid_sign"


async def test_pages_follow_each_other_without_a_gap_or_a_repeat(
    client: Client, learner: tuple[Staff, str], operator: dict[str, str]
) -> None:
    staff, sub = learner
    await deliver_a_mix(client, sub, staff.id_number)
    everything = await events(client, operator)

    pages = await every_page(client, operator, limit=2)
    ischinese_pages = await every_page(client, operator, limit=3, vendor="ischinese")

    assert [len(page) for page in pages[:-1]] == [2] * (len(pages) - 1)
    assert [item for page in pages for item in page] == everything
    assert [item for page in ischinese_pages for item in page] == [
        item for item in everything if item["vendor"] == "ischinese"
    ]
    assert len(everything) >= 8  # 6 receipts, and the refusals in a bucket or more a vendor


async def test_filters_keep_the_vendor_the_outcome_and_the_window_asked_for(
    client: Client, learner: tuple[Staff, str], operator: dict[str, str]
) -> None:
    staff, sub = learner
    await deliver_a_mix(client, sub, staff.id_number)
    everything = await events(client, operator)
    middle = everything[len(everything) // 2]["received_at"]
    cut = datetime.fromisoformat(middle)

    hnou = await events(client, operator, vendor="hnou")
    refused = await events(client, operator, outcome="refused")
    appended_at_ischinese = await events(client, operator, vendor="ischinese", outcome="appended")
    before = await events(client, operator, to=middle)
    since = await events(client, operator, **{"from": middle})

    assert hnou == [item for item in everything if item["vendor"] == "hnou"]
    assert [(item["outcome"], item["record_id"]) for item in hnou if item["outcome"] != "refused"] == [
        ("appended", "HN-1")
    ]
    assert refused == [item for item in everything if item["outcome"] == "refused"]
    assert sum(item["count"] for item in refused) == 3
    assert [item["record_id"] for item in appended_at_ischinese] == ["c-5", "c-4", "c-3", "c-2", "c-1"]
    assert before == [item for item in everything if received_at(item) < cut]
    assert since == [item for item in everything if received_at(item) >= cut]
    assert before
    assert since


async def test_the_summary_counts_each_vendors_outcomes_and_refusals(
    client: Client, learner: tuple[Staff, str], operator: dict[str, str]
) -> None:
    staff, sub = learner
    await deliver_a_mix(client, sub, staff.id_number)
    assert await to_ischinese(client, completion(sub, "c-1", hours="4"), "msg-conflict") == 200
    everything = await events(client, operator)
    first = min(everything, key=received_at)["received_at"]

    response = await client.get("/api/v1/ingestion/summary", headers=operator)
    before_anything = await (
        await client.get("/api/v1/ingestion/summary", params={"to": first}, headers=operator)
    ).json()

    assert (response.status, response.headers["Cache-Control"]) == (200, "no-store")
    summary = await response.json()
    assert (summary["from"], summary["to"]) == (None, None)
    vendors = {vendor["vendor"]: vendor for vendor in summary["vendors"]}
    assert list(vendors) == ["ischinese", "webtrn", "hnou"]
    stored = [item for item in everything if item["outcome"] != "refused"]
    newest = {
        vendor: max((item for item in stored if item["vendor"] == vendor), key=received_at)["received_at"]
        for vendor in ("ischinese", "hnou")
    }
    assert vendors["ischinese"] == {
        "vendor": "ischinese",
        "arrived": 8,
        "outcomes": {
            **{"appended": 5, "duplicate": 0, "held": 1, "pending": 0},
            **{"released": 0, "rejected": 0, "refused": 2},
        },
        "held": {"conflict": 1, "unknown_person": 0, "malformed": 0},
        "refusals": {"signature_refused": 2},
        "last_stored_at": newest["ischinese"],
    }
    assert vendors["hnou"]["outcomes"] == {
        **{"appended": 1, "duplicate": 0, "held": 0, "pending": 0},
        **{"released": 0, "rejected": 0, "refused": 1},
    }
    assert (vendors["hnou"]["refusals"], vendors["hnou"]["last_stored_at"]) == ({"invalid_sign": 1}, newest["hnou"])
    assert (vendors["webtrn"]["arrived"], vendors["webtrn"]["last_stored_at"]) == (0, None)
    assert [vendor["arrived"] for vendor in before_anything["vendors"]] == [0, 0, 0]


# ---------------------------------------------------------------- who may read


async def test_operators_and_auditors_read_and_everyone_else_gets_404_or_401(
    client: Client, learner: tuple[Staff, str], operator: dict[str, str]
) -> None:
    staff, _sub = learner
    auditor = bearer(await new_token(client, Role.AUDITOR))
    supervisor = bearer(await new_token(client, Role.SUPERVISOR, institution="430100-0001"))
    paths = ("/api/v1/ingestion/events", "/api/v1/ingestion/summary")

    for path in paths:
        assert (await client.get(path, headers=operator)).status == 200
        assert (await client.get(path, headers=auditor)).status == 200
        assert (await client.get(path + "?limit=0", headers=supervisor)).status == 404  # 404 before any 422
        nobody = await client.get(path)
        assert (nobody.status, nobody.headers["WWW-Authenticate"]) == (401, 'Bearer realm="hub"')
        assert nobody.content_type == "application/problem+json"
        assert (await client.get(path, headers=bearer("hub_" + "A" * 43))).status == 401
    login = await client.post("/api/v1/login", json={"id_number": staff.id_number, "password": PASSWORD})
    assert login.status == 200
    for path in paths:
        assert (await client.get(path)).status == 404  # staff, with their session


async def test_bad_parameters_are_each_named(client: Client, operator: dict[str, str]) -> None:
    bad_events = await client.get(
        "/api/v1/ingestion/events",
        params={
            "vendor": "offline",
            "outcome": "lost",
            "from": "2021-06-01T08:00:00",
            "to": "yesterday",
            "cursor": "not-a-cursor",
            "limit": "201",
            "page": "2",
        },
        headers=operator,
    )
    bad_summary = await client.get(
        "/api/v1/ingestion/summary",
        params={"from": "2021-06-02T00:00:00+08:00", "to": "2021-06-01T00:00:00+08:00", "vendor": "hnou"},
        headers=operator,
    )

    assert (bad_events.status, bad_events.content_type) == (422, "application/problem+json")
    problem = await bad_events.json()
    assert problem["type"].endswith("/invalid_event_query")
    assert [error["field"] for error in problem["errors"]] == [
        "page",
        "vendor",
        "outcome",
        "from",
        "to",
        "cursor",
        "limit",
    ]
    assert bad_summary.status == 422
    assert [error["field"] for error in (await bad_summary.json())["errors"]] == ["vendor", "to"]


# ---------------------------------------------------------------- nothing personal, and bounded


async def test_nothing_personal_is_answered_or_kept_with_the_refusals(
    client: Client, learner: tuple[Staff, str], operator: dict[str, str]
) -> None:
    staff, sub = learner
    await to_hnou(client, signed(hnou_form(staff.id_number, "HN-1")))
    await to_hnou(client, signed(hnou_form(STRANGER, "HN-2")))
    await to_hnou(client, signed(hnou_form(STRANGER, "HN-3", xs="bad")))
    await to_hnou(client, {**signed(hnou_form(STRANGER, "HN-4")), "sign": "0" * 64})
    await to_ischinese(client, completion(sub, "c-1"), "msg-1")
    await to_ischinese(client, completion(sub, "c-2"), staff.id_number, secret=WRONG_SECRET)
    # A daily-file line with its columns swapped: the ID number stands where the record number should.
    swapped = Hold(Source.HNOU, STRANGER, EntryKind.CREDIT, HoldReason.MALFORMED, "sealed", "0" * 64, "swapped")
    await hub_of(client).ledger.receive([Delivery(swapped, f"daily:20210601:line:{STRANGER}", datetime.now(UTC))])

    listing = await (await client.get("/api/v1/ingestion/events", headers=operator)).text()
    summary = await (await client.get("/api/v1/ingestion/summary", headers=operator)).text()
    async with hub_of(client).engine.connect() as connection:
        kept = repr((await connection.execute(text("SELECT * FROM ingestion_refusal"))).all())

    for personal in (staff.id_number, staff.id_number[:17], STRANGER, STRANGER[:17], staff.phone, staff.email, "王芳"):
        for place in (listing, summary, kept):
            assert personal not in place
    assert f'"record_id": "{STRANGER[:6]}********{STRANGER[-4:]}"' in listing
    assert "HN-2" in listing  # the stranger's completion is there, held, named by its record


async def test_a_flood_of_bad_signatures_stays_a_handful_of_rows(client: Client, operator: dict[str, str]) -> None:
    flood = 100
    ischinese = [to_ischinese(client, revocation("c-1"), f"x-{n}", secret=WRONG_SECRET) for n in range(flood)]
    hnou = [to_hnou(client, {**signed(hnou_form(STRANGER, f"HN-{n}")), "sign": "0" * 64}) for n in range(flood)]

    answers = await asyncio.gather(*ischinese, *hnou)
    summary = await (await client.get("/api/v1/ingestion/summary", headers=operator)).json()

    assert answers == [401] * flood + ["FAIL:invalid_sign"] * flood
    async with hub_of(client).engine.connect() as connection:
        stored = (await connection.execute(select(func.count()).select_from(text("ingestion_refusal")))).scalar_one()
    assert stored <= 4  # two vendors, one reason each, in one minute or two
    refused = {vendor["vendor"]: vendor["refusals"] for vendor in summary["vendors"]}
    assert refused == {"ischinese": {"signature_refused": flood}, "webtrn": {}, "hnou": {"invalid_sign": flood}}


@pytest.fixture
def unreachable_settings_file(tmp_path: Path) -> Path:
    """Settings of a hub whose database cannot be reached."""
    path = tmp_path / "hub.toml"
    path.write_text(
        '[hub]\nbase_url = "http://127.0.0.1:8080"\ndatabase_url = "postgresql+asyncpg://nobody@127.0.0.1:1/none"\n'
        f'data_key_file = "{tmp_path}/data.key"\n' + VENDORS,
        encoding="utf-8",
    )
    ensure_keyring(tmp_path / "data.key")
    return path


async def test_a_refusal_that_cannot_be_counted_changes_no_answer(
    aiohttp_client: ClientMaker, unreachable_settings_file: Path
) -> None:
    client = await aiohttp_client(create_app(load_settings(unreachable_settings_file)))

    bad_signature = await to_ischinese(client, revocation("c-1"), "msg-1", secret=WRONG_SECRET)
    invalid = await to_ischinese(client, {"type": "completion.exploded", "data": {}}, "msg-2")
    bad_sign = await to_hnou(client, {**signed(hnou_form(STRANGER, "HN-1")), "sign": "0" * 64})

    assert (bad_signature, invalid, bad_sign) == (401, 400, "FAIL:invalid_sign")
