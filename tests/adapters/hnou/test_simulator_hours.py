"""The hnou simulator's sending side: forms signed afresh on every try, growing bounded delays, and
daily files served only to signed, fresh requests. Its signing is its own; the hub's checks it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.hnou.form import check_timestamp, verify_sign
from adapters.hnou.simulator_hours import HoursSimulator, SimulatedCompletion, SimulatorGaveUp, hnou_sign

from ..conftest import ServerMaker, Sleeps

APPID = "hub-test"
APPSECRET = "the-app-secret"
RECORD = SimulatedCompletion(
    record_no="HN-1",
    id_number="11010519491231002X",
    name="李华",
    course_code="C1",
    course_title="课程",
    subject="professional",
    hours="2",
    completed_at=datetime(2021, 6, 1, 2, 0, tzinfo=UTC),
)


class FlakyHub:
    """A stand-in for the hub that answers FAIL a given number of times, keeping every form."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.forms: list[dict[str, str]] = []

    async def webhook(self, request: web.Request) -> web.Response:
        self.forms.append(dict(await request.post()))  # type: ignore[arg-type]
        if len(self.forms) <= self.failures:
            return web.Response(status=503, text="FAIL:unavailable")
        return web.Response(text="SUCCESS")


async def simulator_posting_to(
    aiohttp_server: ServerMaker, hub: FlakyHub, http: httpx.AsyncClient, sleeps: Sleeps, attempts_max: int = 10
) -> HoursSimulator:
    app = web.Application()
    app.router.add_post("/webhooks/hnou", hub.webhook)
    server = await aiohttp_server(app)
    simulator = HoursSimulator(
        appid=APPID,
        appsecret=APPSECRET,
        hub_url=str(server.make_url("")),
        http=http,
        sleep=sleeps,
        retry_delay_seconds_base=0.5,
        retry_delay_seconds_max=3.0,
        attempts_max=attempts_max,
    )
    simulator.keep(RECORD)
    return simulator


async def test_each_try_is_signed_afresh_and_waits_longer_up_to_the_bound(
    aiohttp_server: ServerMaker, http: httpx.AsyncClient, sleeps: Sleeps
) -> None:
    hub = FlakyHub(failures=5)
    simulator = await simulator_posting_to(aiohttp_server, hub, http, sleeps)

    answers = await simulator.notify("HN-1")

    assert answers == [(503, "FAIL:unavailable")] * 5 + [(200, "SUCCESS")]
    assert sleeps.delays == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert len({form["nonce"] for form in hub.forms}) == 6
    for form in hub.forms:  # the hub's own checks accept what the simulator signs
        verify_sign(form, APPSECRET)
        check_timestamp(form, datetime.now(UTC))
    assert hub.forms[0]["kmlx"] == "2"
    assert hub.forms[0]["wcsj"] == "20210601100000"


async def test_the_simulator_gives_up_after_its_attempts(
    aiohttp_server: ServerMaker, http: httpx.AsyncClient, sleeps: Sleeps
) -> None:
    simulator = await simulator_posting_to(aiohttp_server, FlakyHub(failures=99), http, sleeps, attempts_max=3)

    with pytest.raises(SimulatorGaveUp, match="3 tries"):
        await simulator.notify("HN-1")


@pytest.fixture
async def vendor(aiohttp_server: ServerMaker, http: httpx.AsyncClient) -> tuple[HoursSimulator, TestServer]:
    simulator = HoursSimulator(appid=APPID, appsecret=APPSECRET, hub_url="http://hub.invalid", http=http)
    simulator.keep(RECORD)
    return simulator, await aiohttp_server(simulator.app())


def daily_query(*, at: datetime | None = None, nonce: str = "0123456789abcdef", **changes: str) -> dict[str, str]:
    moment = datetime.now(UTC) if at is None else at
    query = {"appid": APPID, "date": "20210601", "timestamp": str(int(moment.timestamp())), "nonce": nonce}
    query.update(changes)
    return {**query, "sign_type": "HMAC-SHA256", "sign": hnou_sign(query, APPSECRET)}


async def test_a_signed_request_gets_the_day_in_gb18030(
    vendor: tuple[HoursSimulator, TestServer], http: httpx.AsyncClient
) -> None:
    _simulator, server = vendor

    response = await http.get(str(server.make_url("/api/daily")), params=daily_query())

    assert response.status_code == 200
    lines = response.content.decode("gb18030").split("\r\n")
    assert lines[0] == "记录编号,身份证号,姓名,课程编号,课程名称,科目类型,学时,完成时间,状态"
    assert lines[1] == "HN-1,11010519491231002X,李华,C1,课程,专业,2,2021-06-01 10:00:00,完成"


# Queries are made when the test runs: their timestamps must be fresh then.
@pytest.mark.parametrize(
    ("query", "answer"),
    [
        (lambda: {**daily_query(), "date": "20210602"}, "FAIL:invalid_sign"),
        (lambda: daily_query(appid="someone"), "FAIL:unknown_appid"),
        (lambda: daily_query(at=datetime.now(UTC) - timedelta(seconds=400)), "FAIL:invalid_timestamp"),
        (lambda: daily_query(nonce="short"), "FAIL:invalid_nonce"),
        (lambda: daily_query(date="20211301"), "FAIL:invalid_date"),
    ],
)
async def test_bad_requests_get_no_file(
    vendor: tuple[HoursSimulator, TestServer],
    http: httpx.AsyncClient,
    query: Callable[[], dict[str, str]],
    answer: str,
) -> None:
    _simulator, server = vendor

    response = await http.get(str(server.make_url("/api/daily")), params=query())

    assert response.status_code in {400, 401}
    assert response.text == answer


async def test_a_nonce_is_served_once(vendor: tuple[HoursSimulator, TestServer], http: httpx.AsyncClient) -> None:
    _simulator, server = vendor
    query = daily_query()

    first = await http.get(str(server.make_url("/api/daily")), params=query)
    again = await http.get(str(server.make_url("/api/daily")), params=query)

    assert (first.status_code, again.status_code, again.text) == (200, 401, "FAIL:invalid_nonce")
