"""hnou's hours end to end, on SQLite and PostgreSQL: the simulator posts signed forms to a real hub
server and serves its daily files, which ``hub pull hnou`` fetches; the ledger holds one entry per
record whichever way it came."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
import structlog
import typer
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from adapters.hnou.simulator_hours import HoursSimulator, SimulatedCompletion
from adapters.hnou.translation import HOLD_PAYLOAD_CONTEXT
from config import load_settings
from gateway.app import create_app
from gateway.bootstrap import Hub, ensure_keyring
from gateway.commands.pull import days_asked
from gateway.keys import HUB
from gateway.pulls import store_daily_file
from ledger.model import EntryKind, HoldReason, Source
from ledger.tables import HeldRecordRow, LedgerEntryRow, PendingReversalRow, ReceiptRow
from sso.id_numbers import make_id_number
from sso.organisation import load_organisation

from ..sso.people.forms import registration_form
from .conftest import RunHub

HUNAN = load_organisation(Path(__file__).parents[2] / "config" / "organisation" / "hunan.json")
APPID = "hub-test"
APPSECRET = "the-app-secret"
ID_NUMBER = make_id_number("430102", date(1990, 3, 7), 104)  # ends in X
STRANGER = make_id_number("430102", date(1990, 3, 7), 126)
DAY = date(2021, 6, 1)
HNOU_SETTINGS = """
[vendors.hnou]
name = "湖南开放大学"
jwt_alg = "RS256"
login_url = "http://127.0.0.1:9003/lti/login"
target_link_uri = "http://127.0.0.1:9003/lti/launch"
client_id = "hub-client"
deployment_id = "hub-deployment-1"
redirect_uris = ["http://127.0.0.1:9003/lti/launch"]
appid = "{appid}"
appsecret = "{appsecret}"
api_base = "{api_base}"
"""

Client = TestClient  # type: ignore[type-arg]
ClientMaker = Callable[..., Awaitable[Client]]
ServerMaker = Callable[[web.Application], Awaitable[TestServer]]


def completion(record_no: str = "HN-0001", **changes: object) -> SimulatedCompletion:
    fields: dict[str, object] = {
        "record_no": record_no,
        "id_number": ID_NUMBER,
        "name": "王芳",
        "course_code": "HN-2021-DS01",
        "course_title": "党史学习教育",
        "subject": "public",
        "hours": "3.5",
        "completed_at": datetime(2021, 6, 1, 1, 58, 12, tzinfo=UTC),
    }
    fields.update(changes)
    return SimulatedCompletion(**fields)  # type: ignore[arg-type]


def registration() -> dict[str, object]:
    return registration_form(id_number=ID_NUMBER, ethnicity=..., title_since=...)


async def no_sleep(_seconds: float) -> None:
    return None


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def simulator(http: httpx.AsyncClient) -> HoursSimulator:
    return HoursSimulator(appid=APPID, appsecret=APPSECRET, hub_url="", http=http, sleep=no_sleep, attempts_max=3)


@pytest.fixture
async def vendor(aiohttp_server: ServerMaker, simulator: HoursSimulator) -> TestServer:
    return await aiohttp_server(simulator.app())


@pytest.fixture
def hub_settings(settings_file: Path, vendor: TestServer) -> Path:
    api_base = str(vendor.make_url("")).rstrip("/")
    with settings_file.open("a", encoding="utf-8") as settings:
        settings.write(HNOU_SETTINGS.format(appid=APPID, appsecret=APPSECRET, api_base=api_base))
    return settings_file


@pytest.fixture
async def client(aiohttp_client: ClientMaker, hub_settings: Path, simulator: HoursSimulator) -> Client:
    client = await aiohttp_client(create_app(load_settings(hub_settings)))
    simulator.hub_url = str(client.make_url(""))
    return client


@pytest.fixture
async def person_id(client: Client) -> str:
    """The person registered with ``ID_NUMBER``; without one, a valid form is held as an unknown person."""
    await hub_of(client).organisation.replace(HUNAN)
    response = await client.post("/api/v1/register", json=registration())
    assert response.status == 201
    return str((await response.json())["id"])


def hub_of(client: Client) -> Hub:
    return client.server.app[HUB]


async def stored(client: Client) -> dict[str, int]:
    """How many rows each ledger table holds: nothing stored means all zero."""
    counts = {}
    async with hub_of(client).engine.connect() as connection:
        for name, table in {
            "entries": LedgerEntryRow,
            "held": HeldRecordRow,
            "pending": PendingReversalRow,
            "receipts": ReceiptRow,
        }.items():
            counts[name] = (await connection.execute(select(func.count()).select_from(table))).scalar_one()
    return counts


NOTHING = {"entries": 0, "held": 0, "pending": 0, "receipts": 0}


async def post(client: Client, form: dict[str, str]) -> tuple[int, str]:
    response = await client.post(
        "/webhooks/hnou", data=urlencode(form), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    return response.status, await response.text()


async def test_a_completion_is_credited_once_however_often_it_comes(
    client: Client, simulator: HoursSimulator, person_id: str
) -> None:
    simulator.keep(completion())

    assert await simulator.notify("HN-0001") == [(200, "SUCCESS")]
    assert await simulator.notify("HN-0001") == [(200, "SUCCESS")]

    (entry,) = await hub_of(client).ledger.entries_of(person_id, 2021)
    assert (entry.kind, entry.source, entry.record_id, entry.hours) == (EntryKind.CREDIT, "hnou", "HN-0001", 350)
    assert (await hub_of(client).ledger.balance(person_id, 2021)).public == 350
    assert await stored(client) == {**NOTHING, "entries": 1, "receipts": 2}


async def test_the_answer_is_plain_text(client: Client, simulator: HoursSimulator, person_id: str) -> None:
    response = await client.post("/webhooks/hnou", data=simulator.signed(simulator.form_fields(completion())))

    assert (response.status, response.content_type, await response.text()) == (200, "text/plain", "SUCCESS")


async def test_a_conflicting_redelivery_is_held_and_answered_success(
    client: Client, simulator: HoursSimulator, person_id: str
) -> None:
    simulator.keep(completion())
    await simulator.notify("HN-0001")
    simulator.keep(completion(hours="4"))

    assert await simulator.notify("HN-0001") == [(200, "SUCCESS")]

    (entry,) = await hub_of(client).ledger.entries_of(person_id, 2021)
    assert entry.hours == 350
    (held,) = await hub_of(client).ledger.held_records()
    assert (held.reason, held.record_id, held.existing_seq) == (HoldReason.CONFLICT, "HN-0001", entry.seq)


async def test_a_lower_case_x_finds_the_person(client: Client, simulator: HoursSimulator, person_id: str) -> None:
    assert ID_NUMBER.endswith("X")
    simulator.keep(completion(id_number=ID_NUMBER.lower()))

    assert await simulator.notify("HN-0001") == [(200, "SUCCESS")]

    assert len(await hub_of(client).ledger.entries_of(person_id, 2021)) == 1


async def test_an_unknown_person_is_held_and_answered_success(
    client: Client, simulator: HoursSimulator, person_id: str
) -> None:
    simulator.keep(completion(id_number=STRANGER))

    assert await simulator.notify("HN-0001") == [(200, "SUCCESS")]

    (held,) = await hub_of(client).ledger.held_records()
    assert (held.reason, held.record_id) == (HoldReason.UNKNOWN_PERSON, "HN-0001")
    assert STRANGER not in held.payload
    assert STRANGER in hub_of(client).keyring.decrypt(held.payload, context=HOLD_PAYLOAD_CONTEXT)
    assert (await stored(client))["entries"] == 0


async def test_a_revocation_before_its_completion_is_kept_and_applied(
    client: Client, simulator: HoursSimulator, person_id: str
) -> None:
    simulator.keep(completion())
    simulator.revoke("HN-0001", at=datetime(2021, 6, 2, tzinfo=UTC))
    assert await simulator.notify("HN-0001") == [(200, "SUCCESS")]
    assert (await stored(client))["pending"] == 1

    simulator.keep(completion())
    assert await simulator.notify("HN-0001") == [(200, "SUCCESS")]

    entries = await hub_of(client).ledger.entries_of(person_id, 2021)
    assert [entry.kind for entry in entries] == [EntryKind.CREDIT, EntryKind.REVERSAL]
    assert (await hub_of(client).ledger.balance(person_id, 2021)).total == 0


async def test_a_tampered_body_is_refused_and_nothing_stored(client: Client, simulator: HoursSimulator) -> None:
    form = simulator.signed(simulator.form_fields(completion()))

    assert await post(client, {**form, "xs": "35"}) == (200, "FAIL:invalid_sign")
    assert await stored(client) == NOTHING


async def test_a_stale_timestamp_is_refused_and_nothing_stored(client: Client, simulator: HoursSimulator) -> None:
    stale = int((datetime.now(UTC) - timedelta(seconds=400)).timestamp())

    answer = await post(client, simulator.signed(simulator.form_fields(completion()), timestamp=stale))

    assert answer == (200, "FAIL:invalid_timestamp")
    assert await stored(client) == NOTHING


async def test_a_reused_nonce_is_refused_also_after_a_restart(
    client: Client, aiohttp_client: ClientMaker, hub_settings: Path, simulator: HoursSimulator
) -> None:
    form = simulator.signed(simulator.form_fields(completion()))
    assert await post(client, form) == (200, "SUCCESS")
    assert await post(client, form) == (200, "FAIL:reused_nonce")

    restarted = await aiohttp_client(create_app(load_settings(hub_settings)))

    assert await post(restarted, form) == (200, "FAIL:reused_nonce")
    assert (await stored(restarted))["receipts"] == 1


MALFORMED = [
    ({"idcard": ID_NUMBER[:-1] + "1"}, "FAIL:invalid_field:idcard"),
    ({"kmlx": "3"}, "FAIL:invalid_field:kmlx"),
    ({"xs": "1.005"}, "FAIL:invalid_field:xs"),
    ({"wcsj": "2021-06-01"}, "FAIL:invalid_field:wcsj"),
    ({"zt": "9"}, "FAIL:invalid_field:zt"),
    ({"record_no": ""}, "FAIL:invalid_field:record_no"),
]


async def test_malformed_fields_are_named_and_nothing_stored(client: Client, simulator: HoursSimulator) -> None:
    answers = [
        await post(client, simulator.signed({**simulator.form_fields(completion()), **changes}))
        for changes, _reason in MALFORMED
    ]

    assert answers == [(200, reason) for _changes, reason in MALFORMED]
    assert await stored(client) == NOTHING


async def test_the_first_failed_check_in_the_spec_order_is_the_answer(
    client: Client, simulator: HoursSimulator
) -> None:
    fields = {**simulator.form_fields(completion()), "xs": "bad"}
    stale = int((datetime.now(UTC) - timedelta(seconds=400)).timestamp())

    assert await post(client, {**simulator.signed(fields), "appid": "other"}) == (200, "FAIL:unknown_appid")
    assert await post(client, {**simulator.signed(fields, timestamp=stale), "sign": "0" * 64}) == (
        200,
        "FAIL:invalid_sign",
    )
    assert await post(client, simulator.signed(fields, timestamp=stale, nonce="short")) == (
        200,
        "FAIL:invalid_timestamp",
    )
    assert await post(client, simulator.signed(fields, nonce="short")) == (200, "FAIL:invalid_nonce")
    reused = simulator.signed(fields)
    assert await post(client, reused) == (200, "FAIL:invalid_field:xs")
    assert await post(client, reused) == (200, "FAIL:reused_nonce")
    assert await stored(client) == NOTHING


async def test_a_body_over_the_limit_is_refused(client: Client, simulator: HoursSimulator) -> None:
    form = {**simulator.signed(simulator.form_fields(completion())), "padding": "x" * 9000}

    assert await post(client, form) == (200, "FAIL:body_too_large")


async def test_the_simulator_retries_until_success_signing_each_try_afresh(
    client: Client, simulator: HoursSimulator, person_id: str
) -> None:
    ticks = iter([datetime.now(UTC) - timedelta(minutes=10)])
    simulator.clock = lambda: next(ticks, datetime.now(UTC))  # a clock that is wrong once
    simulator.keep(completion())

    answers = await simulator.notify("HN-0001")

    assert answers == [(200, "FAIL:invalid_timestamp"), (200, "SUCCESS")]
    assert len(await hub_of(client).ledger.entries_of(person_id, 2021)) == 1


async def test_nothing_is_logged_with_the_id_number(client: Client, simulator: HoursSimulator, person_id: str) -> None:
    simulator.keep(completion(id_number=STRANGER))
    simulator.keep(completion("HN-0002"))

    with structlog.testing.capture_logs() as logs:
        await simulator.notify("HN-0001")
        await simulator.notify("HN-0002")
        await post(client, simulator.signed({**simulator.form_fields(completion()), "xs": "bad"}))

    assert {log["event"] for log in logs} >= {"delivery_stored", "delivery_refused"}
    for id_number in (ID_NUMBER, STRANGER):
        assert id_number not in repr(logs)


async def test_while_nothing_can_be_stored_the_answer_is_503(
    aiohttp_client: ClientMaker, tmp_path: Path, simulator: HoursSimulator
) -> None:
    settings_path = tmp_path / "hub.toml"
    settings_path.write_text(
        '[hub]\nbase_url = "http://127.0.0.1:8080"\ndatabase_url = "postgresql+asyncpg://nobody@127.0.0.1:1/none"\n'
        f'data_key_file = "{tmp_path}/data.key"\n'
        + HNOU_SETTINGS.format(appid=APPID, appsecret=APPSECRET, api_base="http://127.0.0.1:9"),
        encoding="utf-8",
    )
    ensure_keyring(tmp_path / "data.key")
    client = await aiohttp_client(create_app(load_settings(settings_path)))

    response = await client.post("/webhooks/hnou", data=simulator.signed(simulator.form_fields(completion())))

    assert (response.status, await response.text()) == (503, "FAIL:unavailable")


async def test_the_file_and_the_forms_together_give_one_entry_per_record(
    client: Client, simulator: HoursSimulator, person_id: str
) -> None:
    for record in (completion("HN-1"), completion("HN-2", subject="professional"), completion("HN-3", hours="1")):
        simulator.keep(record)
    await simulator.notify("HN-1")
    await simulator.notify("HN-2")
    simulator.revoke("HN-2", at=datetime(2021, 6, 1, 8, tzinfo=UTC))
    simulator.extra_lines[DAY] = [f"HN-4,{ID_NUMBER},王芳,C,T,公共,-1,2021-06-01 10:00:00,完成"]
    hub = hub_of(client)

    counts = await store_daily_file(hub.ledger, hub.vendors.batches(Source.HNOU), DAY)
    again = await store_daily_file(hub.ledger, hub.vendors.batches(Source.HNOU), DAY)

    assert counts == {"duplicate": 1, "appended": 2, "held:malformed": 1}
    assert again == {"duplicate": 3, "held:malformed": 1}
    entries = await hub.ledger.entries_of(person_id, 2021)
    assert sorted((entry.record_id, entry.kind.value) for entry in entries) == [
        ("HN-1", "credit"),
        ("HN-2", "credit"),
        ("HN-2", "reversal"),
        ("HN-3", "credit"),
    ]
    assert [held.detail for held in await hub.ledger.held_records()] == [
        'daily file 20210601 line 5: 学时 must be a decimal number of hours such as "3.5"'
    ]


async def test_hub_pull_hnou_stores_a_day_and_prints_what_it_stored(
    run_hub: RunHub, hub_settings: Path, simulator: HoursSimulator, client: Client, person_id: str
) -> None:
    simulator.keep(completion("HN-1"))
    simulator.keep(completion("HN-2", id_number=STRANGER, name="王𠈌"))
    simulator.keep(completion("HN-3", completed_at=datetime(2021, 6, 2, 3, tzinfo=UTC)))

    first = await asyncio.to_thread(run_hub, "pull", "hnou", "--date", "20210601", "--config", str(hub_settings))
    second = await asyncio.to_thread(
        run_hub, "pull", "hnou", "--from", "20210601", "--to", "20210602", "--config", str(hub_settings)
    )

    assert (first.returncode, first.stderr) == (0, "")
    assert first.stdout == "hnou 20210601: 2 records: 1 appended, 1 held (unknown person)\n"
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines() == [
        "hnou 20210601: 2 records: 1 duplicate, 1 held (unknown person)",
        "hnou 20210602: 1 record: 1 appended",
        "hnou 20210601 to 20210602: 3 records: 1 appended, 1 duplicate, 1 held (unknown person)",
    ]
    assert len(await hub_of(client).ledger.entries_of(person_id, 2021)) == 2


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("2021-06-01", None, None), "must be a day written YYYYMMDD"),
        (("20210631", None, None), "must be a day written YYYYMMDD"),
        ((None, "20210601", None), "give --date, or both --from and --to"),
        ((None, "20210602", "20210601"), "--to is before --from"),
        (("20210601", None, "20210601"), "not both"),
        ((None, "20200101", "20210101"), "at most 366 days"),
    ],
)
def test_bad_days_are_refused(arguments: tuple[str | None, str | None, str | None], message: str) -> None:
    with pytest.raises(typer.BadParameter, match=message):
        days_asked(*arguments)


def test_a_range_is_every_day_from_first_to_last() -> None:
    assert days_asked(None, "20211230", "20220102") == [
        date(2021, 12, 30),
        date(2021, 12, 31),
        date(2022, 1, 1),
        date(2022, 1, 2),
    ]


def test_hub_pull_hnou_refuses_a_bad_day_in_one_line(run_hub: RunHub) -> None:
    result = run_hub("pull", "hnou", "--date", "2021-06-01")

    assert result.returncode != 0
    assert "must be a day written YYYYMMDD" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("hnou_section", "message"),
    [
        (
            False,
            "hub: error: hnou is not configured: add a [vendors.hnou] section to the settings "
            "to fetch the daily files of hnou",
        ),
        (True, "hub: error: hnou answered 401 to the request for the daily file of 20210601"),
    ],
)
async def test_hub_pull_hnou_fails_in_one_line(
    run_hub: RunHub, tmp_path: Path, vendor: TestServer, hnou_section: bool, message: str
) -> None:
    settings = tmp_path / "elsewhere.toml"
    settings.write_text(
        f'[hub]\nbase_url = "http://127.0.0.1:8080"\ndatabase_url = "sqlite+aiosqlite:///{tmp_path}/hub.db"\n'
        f'data_key_file = "{tmp_path}/data.key"\n'
        + (
            HNOU_SETTINGS.format(appid=APPID, appsecret="not-the-secret", api_base=vendor.make_url(""))
            if hnou_section
            else ""
        ),
        encoding="utf-8",
    )
    ensure_keyring(tmp_path / "data.key")

    result = await asyncio.to_thread(run_hub, "pull", "hnou", "--date", "20210601", "--config", str(settings))

    assert (result.returncode, result.stdout, result.stderr) == (1, "", message + "\n")
