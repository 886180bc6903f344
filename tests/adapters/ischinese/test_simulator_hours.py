"""ischinese's sending side against a real hub: what it sends is stored, 503s are retried with
growing delays under one webhook-id, lost events never leave, and its listing pages stay stable.
The simulator signs with ``standardwebhooks``; the hub's own check is the judge."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from standardwebhooks import Webhook

from adapters.ischinese.simulator_hours import HoursSimulator, SimulatedCompletion, SimulatorGaveUp
from ledger.model import Balance, EntryKind

from ...gateway.access_support import (
    Client,
    ClientMaker,
    hub_of,
    ischinese_learner,
    ischinese_settings,
    serve_hub,
    with_vendors,
)
from ..conftest import ServerMaker, Sleeps

SECRET = "whsec_" + base64.b64encode(b"ischinese simulator secret, test").decode()
API_KEY = "ischinese-api-key-for-tests"
ISCHINESE = ischinese_settings(SECRET, api_base="http://127.0.0.1:9", api_key=API_KEY)
WEBHOOK_HEADERS = ("content-type", "webhook-id", "webhook-timestamp", "webhook-signature")


def completion(sub: str, completion_id: str = "c-000123", *, year: int = 2021) -> SimulatedCompletion:
    return SimulatedCompletion(
        completion_id=completion_id,
        sub=sub,
        course_id="XJP-2021-01",
        course_title="习近平新时代中国特色社会主义思想概论",
        subject="public",
        hours="3.5",
        completed_at=datetime(year, 6, 1, 1, 58, 12, tzinfo=UTC),
    )


class FlakyFront:
    """In front of the hub: answers 503 to the first ``failures`` requests, then passes each on as it came."""

    def __init__(self, hub_url: str | None, failures: int) -> None:
        self.hub_url = hub_url
        self.failures = failures
        self.requests: list[tuple[dict[str, str], bytes]] = []

    async def webhook(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {name: request.headers[name] for name in WEBHOOK_HEADERS if name in request.headers}
        self.requests.append((headers, body))
        if len(self.requests) <= self.failures or self.hub_url is None:
            return web.json_response({"title": "unavailable", "status": 503}, status=503)
        async with httpx.AsyncClient() as http:
            answer = await http.post(f"{self.hub_url}/webhooks/ischinese", content=body, headers=headers)
        return web.Response(status=answer.status_code, body=answer.content, content_type="application/json")


@pytest.fixture
async def client(aiohttp_client: ClientMaker, settings_file: Path, database_url: str) -> Client:
    """The whole hub with ischinese configured, on SQLite and PostgreSQL."""
    return await serve_hub(aiohttp_client, with_vendors(settings_file, ISCHINESE), database_url)


@pytest.fixture
async def learner(client: Client) -> tuple[str, str]:
    """A registered person and the ``sub`` the hub gave ischinese for them."""
    staff, subject = await ischinese_learner(client)
    return staff.id, subject


def simulator(url: str, http: httpx.AsyncClient, sleeps: Sleeps, attempts_max: int = 6) -> HoursSimulator:
    return HoursSimulator(
        hub_url=url,
        webhook_secret=SECRET,
        api_key=API_KEY,
        http=http,
        sleep=sleeps,
        retry_delay_seconds_base=0.5,
        retry_delay_seconds_max=1.5,
        attempts_max=attempts_max,
    )


async def front(aiohttp_server: ServerMaker, flaky: FlakyFront) -> str:
    app = web.Application()
    app.router.add_post("/webhooks/ischinese", flaky.webhook)
    return str((await aiohttp_server(app)).make_url("")).rstrip("/")


def answer_status(text: str) -> str:
    return str(json.loads(text)["status"])


# ---------------------------------------------------------------- sending to the hub


async def test_a_sent_completion_is_in_the_ledger_and_a_sent_revocation_reverses_it(
    client: Client, learner: tuple[str, str], http: httpx.AsyncClient, sleeps: Sleeps
) -> None:
    person_id, sub = learner
    hours = simulator(str(client.make_url("")), http, sleeps)

    created = await hours.send(hours.keep(completion(sub)))
    counted = await hub_of(client).ledger.balance(person_id, 2021)
    revoked = await hours.send(hours.withdraw("c-000123", "作弊"))

    assert [(attempt.status, answer_status(attempt.text)) for attempt in created.attempts] == [(200, "appended")]
    assert counted == Balance(public=350)
    assert revoked.delivered
    entries = await hub_of(client).ledger.entries_of(person_id, 2021)
    assert [(entry.kind, entry.record_id) for entry in entries] == [
        (EntryKind.CREDIT, "c-000123"),
        (EntryKind.REVERSAL, "c-000123"),
    ]
    assert await hub_of(client).ledger.balance(person_id, 2021) == Balance()
    assert sleeps.delays == []


async def test_an_account_link_reaches_the_hub(
    client: Client, learner: tuple[str, str], http: httpx.AsyncClient, sleeps: Sleeps
) -> None:
    _person_id, sub = learner
    hours = simulator(str(client.make_url("")), http, sleeps)

    sent = await hours.send(hours.account_linked(sub, "isc-000042"))

    assert answer_status(sent.attempts[-1].text) == "linked"
    assert await hub_of(client).handoff.vendor_account_of("ischinese", sub) == "isc-000042"


async def test_503s_are_retried_with_growing_delays_under_one_webhook_id(
    aiohttp_server: ServerMaker, client: Client, learner: tuple[str, str], http: httpx.AsyncClient, sleeps: Sleeps
) -> None:
    person_id, sub = learner
    flaky = FlakyFront(str(client.make_url("")).rstrip("/"), failures=4)
    hours = simulator(await front(aiohttp_server, flaky), http, sleeps)

    sent = await hours.send(hours.keep(completion(sub)))

    assert [attempt.status for attempt in sent.attempts] == [503, 503, 503, 503, 200]
    assert sleeps.delays == [0.5, 1.0, 1.5, 1.5]
    assert {headers["webhook-id"] for headers, _body in flaky.requests} == {sent.event.webhook_id}
    assert {body for _headers, body in flaky.requests} == {sent.event.body.encode()}
    for headers, body in flaky.requests:  # each try signed for its own timestamp, as the reference library checks
        Webhook(SECRET).verify(body, headers)
    assert await hub_of(client).ledger.balance(person_id, 2021) == Balance(public=350)


async def test_a_redelivery_reuses_the_webhook_id_and_changes_nothing(
    aiohttp_server: ServerMaker, client: Client, learner: tuple[str, str], http: httpx.AsyncClient, sleeps: Sleeps
) -> None:
    person_id, sub = learner
    flaky = FlakyFront(str(client.make_url("")).rstrip("/"), failures=0)
    hours = simulator(await front(aiohttp_server, flaky), http, sleeps)
    event = hours.keep(completion(sub))

    first, again = await hours.send(event), await hours.send(event)

    assert [answer_status(sending.attempts[-1].text) for sending in (first, again)] == ["appended", "duplicate"]
    assert [headers["webhook-id"] for headers, _body in flaky.requests] == [event.webhook_id] * 2
    assert len(await hub_of(client).ledger.entries_of(person_id, 2021)) == 1


async def test_the_simulator_gives_up_after_its_tries(
    aiohttp_server: ServerMaker, http: httpx.AsyncClient, sleeps: Sleeps
) -> None:
    flaky = FlakyFront(None, failures=0)
    hours = simulator(await front(aiohttp_server, flaky), http, sleeps, attempts_max=3)

    with pytest.raises(SimulatorGaveUp, match="3 tries"):
        await hours.send(hours.keep(completion("sub-1")))

    assert len(flaky.requests) == 3
    assert sleeps.delays == [0.5, 1.0]
    assert not hours.sent[-1].delivered


async def test_an_unreachable_hub_is_retried_like_a_503(http: httpx.AsyncClient, sleeps: Sleeps) -> None:
    hours = simulator("http://127.0.0.1:9", http, sleeps, attempts_max=2)  # the discard port: nobody listens

    with pytest.raises(SimulatorGaveUp):
        await hours.send(hours.keep(completion("sub-1")))

    assert [attempt.status for attempt in hours.sent[-1].attempts] == [0, 0]


async def test_a_lost_event_never_leaves_but_stays_listed(
    aiohttp_server: ServerMaker, client: Client, learner: tuple[str, str], http: httpx.AsyncClient, sleeps: Sleeps
) -> None:
    person_id, sub = learner
    flaky = FlakyFront(str(client.make_url("")).rstrip("/"), failures=0)
    hours = simulator(await front(aiohttp_server, flaky), http, sleeps)
    hours.lose("c-000002")

    lost = await hours.send(hours.keep(completion(sub, "c-000002")))
    kept = await hours.send(hours.keep(completion(sub, "c-000003")))

    assert (lost.lost, lost.attempts, lost.delivered) == (True, (), False)
    assert hours.lost_events == [lost.event]
    assert kept.delivered
    assert [json.loads(body)["data"]["completion_id"] for _headers, body in flaky.requests] == ["c-000003"]
    entries = await hub_of(client).ledger.entries_of(person_id, 2021)
    assert [entry.record_id for entry in entries] == ["c-000003"]
    assert [record["completion_id"] for record in hours.listed(2021)] == ["c-000002", "c-000003"]


# ---------------------------------------------------------------- the listing


@pytest.fixture
async def listing(aiohttp_server: ServerMaker, http: httpx.AsyncClient, sleeps: Sleeps) -> tuple[HoursSimulator, str]:
    hours = simulator("http://127.0.0.1:9", http, sleeps)
    for number in range(1, 6):
        hours.keep(completion(f"sub-{number}", f"c-{number:06d}"))
    hours.keep(completion("sub-9", "c-000900", year=2022))
    server = await aiohttp_server(hours.app())
    return hours, str(server.make_url("/api/v2/completions"))


async def read_pages(http: httpx.AsyncClient, url: str, per_page: int) -> list[list[str]]:
    pages, page, total_pages = [], 1, 1
    while page <= total_pages:
        query = {"year": "2021", "page": str(page), "per_page": str(per_page)}
        answer = await http.get(url, params=query, headers={"Authorization": f"Bearer {API_KEY}"})
        assert answer.status_code == 200, answer.text
        document = answer.json()
        assert document["page"] == page
        pages.append([record["completion_id"] for record in document["data"]])
        page, total_pages = page + 1, document["total_pages"]
    return pages


async def test_the_listing_pages_a_year_and_keeps_its_pages_stable(
    listing: tuple[HoursSimulator, str], http: httpx.AsyncClient
) -> None:
    hours, url = listing

    before = await read_pages(http, url, per_page=2)
    hours.withdraw("c-000002", "作弊")
    hours.keep(completion("sub-6", "c-000006"))
    after = await read_pages(http, url, per_page=2)

    assert before == [["c-000001", "c-000002"], ["c-000003", "c-000004"], ["c-000005"]]
    assert after == [*before[:2], ["c-000005", "c-000006"]]
    answer = await http.get(url, params={"year": "2021"}, headers={"Authorization": f"Bearer {API_KEY}"})
    records = {record["completion_id"]: record for record in answer.json()["data"]}
    assert records["c-000002"]["status"] == "revoked"
    assert records["c-000001"] == {**completion("sub-1", "c-000001").data(), "status": "active"}
    assert records["c-000001"]["completed_at"] == "2021-06-01T09:58:12+08:00"


@pytest.mark.parametrize("authorization", [None, "Bearer not-the-key", f"Basic {API_KEY}"])
async def test_the_listing_needs_the_api_key(
    listing: tuple[HoursSimulator, str], http: httpx.AsyncClient, authorization: str | None
) -> None:
    _hours, url = listing
    headers = {} if authorization is None else {"Authorization": authorization}

    answer = await http.get(url, params={"year": "2021"}, headers=headers)

    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert "data" not in answer.json()


async def test_the_listing_names_every_bad_parameter(
    listing: tuple[HoursSimulator, str], http: httpx.AsyncClient
) -> None:
    _hours, url = listing

    answer = await http.get(
        url, params={"page": "0", "per_page": "501"}, headers={"Authorization": f"Bearer {API_KEY}"}
    )

    assert answer.status_code == 400
    assert set(answer.json()["fields"]) == {"year", "page", "per_page"}
