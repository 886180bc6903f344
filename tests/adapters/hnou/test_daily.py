"""hnou's daily GB18030 files, fetched signed from the simulator through a real aiohttp server and
read record by record: bad lines are held, and the lines around them delivered."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from contextlib import aclosing
from datetime import UTC, date, datetime

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.hnou import daily
from adapters.hnou.daily import DailyFileClient
from adapters.hnou.errors import DailyFileInvalid, DailyFileRefused
from adapters.hnou.simulator_hours import DAILY_HEADER, HoursSimulator, SimulatedCompletion
from adapters.hnou.translation import HOLD_PAYLOAD_CONTEXT, Translator
from ledger.errors import NoRulesForYear
from ledger.model import Command, Credit, Delivery, EntryKind, Hold, HoldReason, Reversal
from sso.personal_data import DataKeyring

from ..conftest import FakeLearnerDirectory, ServerMaker, Sleeps

APPID = "hub-test"
APPSECRET = "the-app-secret"
DAY = date(2021, 6, 1)
ID_NUMBER = "11010519491231002X"
STRANGER = "110105194912310011"
RARE_NAME = "王𠈌"


def completion(record_no: str, **changes: object) -> SimulatedCompletion:
    fields: dict[str, object] = {
        "record_no": record_no,
        "id_number": ID_NUMBER,
        "name": "李华",
        "course_code": "HN-2021-DS01",
        "course_title": "党史学习教育",
        "subject": "public",
        "hours": "2.5",
        "completed_at": datetime(2021, 6, 1, 2, 0, tzinfo=UTC),
    }
    fields.update(changes)
    return SimulatedCompletion(**fields)  # type: ignore[arg-type]


def check_2021_only(command: Command) -> None:
    if isinstance(command, Credit) and command.year != 2021:
        raise NoRulesForYear(command.year)


@pytest.fixture
def simulator(http: httpx.AsyncClient) -> HoursSimulator:
    return HoursSimulator(appid=APPID, appsecret=APPSECRET, hub_url="http://hub.invalid", http=http)


@pytest.fixture
def files_at(
    http: httpx.AsyncClient, directory: FakeLearnerDirectory, keyring: DataKeyring, sleeps: Sleeps
) -> Callable[..., DailyFileClient]:
    def make(server: TestServer, appsecret: str = APPSECRET) -> DailyFileClient:
        return DailyFileClient(
            http,
            api_base=str(server.make_url("")),
            appid=APPID,
            appsecret=appsecret,
            translator=Translator(directory.person_for_id_number, keyring, check_2021_only),
            sleep=sleeps,
        )

    return make


@pytest.fixture
async def files(
    aiohttp_server: ServerMaker, simulator: HoursSimulator, files_at: Callable[..., DailyFileClient]
) -> DailyFileClient:
    return files_at(await aiohttp_server(simulator.app()))


async def all_of(files: DailyFileClient, day: date = DAY) -> list[Delivery]:
    return [delivery async for delivery in files.deliveries(day)]


async def test_records_become_credits_reversals_and_holds(simulator: HoursSimulator, files: DailyFileClient) -> None:
    simulator.keep(completion("HN-1"))
    simulator.keep(completion("HN-2", id_number=STRANGER))
    simulator.keep(completion("HN-0", completed_at=datetime(2021, 5, 20, tzinfo=UTC)))
    simulator.revoke("HN-0", at=datetime(2021, 6, 1, 3, 0, tzinfo=UTC))
    simulator.keep(completion("HN-9", completed_at=datetime(2021, 6, 2, 3, 0, tzinfo=UTC)))  # another day's file

    deliveries = await all_of(files)

    kinds = [(type(delivery.command).__name__, delivery.command.record_id) for delivery in deliveries]
    assert kinds == [("Credit", "HN-1"), ("Hold", "HN-2"), ("Reversal", "HN-0")]
    credit = deliveries[0].command
    assert isinstance(credit, Credit)
    assert (credit.person_id, credit.hours, credit.subject.value) == ("person-li", 250, "public")
    assert credit.completed_at == datetime(2021, 6, 1, 2, 0, tzinfo=UTC)
    assert [delivery.delivery_id for delivery in deliveries] == [f"daily:20210601:line:{n}" for n in (2, 3, 4)]


async def test_a_day_without_records_is_the_header_alone(simulator: HoursSimulator, files: DailyFileClient) -> None:
    assert simulator.daily_file(DAY) == ",".join(DAILY_HEADER).encode("gb18030") + b"\r\n"
    assert await all_of(files) == []


async def test_a_bad_line_is_held_and_the_lines_around_it_delivered(
    simulator: HoursSimulator, files: DailyFileClient, keyring: DataKeyring
) -> None:
    simulator.keep(completion("HN-1"))
    bad = f"HN-2,{ID_NUMBER},李华,HN-2021-DS01,党史,公共,1.005,2021-06-01 10:00:00,完成"
    after = f"HN-3,{ID_NUMBER},李华,HN-2021-DS02,党史,专业,1.5,2021-06-01 11:00:00,完成"
    simulator.extra_lines[DAY] = [bad, after]

    deliveries = await all_of(files)

    assert [delivery.command.record_id for delivery in deliveries] == ["HN-1", "HN-2", "HN-3"]
    assert isinstance(deliveries[0].command, Credit)
    assert isinstance(deliveries[2].command, Credit)
    held = deliveries[1].command
    assert isinstance(held, Hold)
    assert held.reason is HoldReason.MALFORMED
    assert held.detail.startswith("daily file 20210601 line 3: 学时 ")
    assert ID_NUMBER not in held.payload
    assert ID_NUMBER not in held.detail
    assert keyring.decrypt(held.payload, context=HOLD_PAYLOAD_CONTEXT) == bad


@pytest.mark.parametrize(
    ("line", "detail"),
    [
        ("HN-2,too,few", "has 3 fields, not 9"),
        (f"HN-2,{ID_NUMBER[:-1]}1,李华,C,T,公共,1,2021-06-01 10:00:00,完成", "身份证号 is not a valid GB 11643"),
        (f"HN-2,{ID_NUMBER},李华,C,T,体育,1,2021-06-01 10:00:00,完成", "科目类型 must be one of 公共, 专业"),
        (f"HN-2,{ID_NUMBER},李华,C,T,公共,1,20210601100000,完成", "完成时间 must be a time like"),
        (f"HN-2,{ID_NUMBER},李华,C,T,公共,1,2019-06-01 10:00:00,完成", "完成时间 falls in 2019"),
        (f"HN-2,{ID_NUMBER},李华,C,T,公共,1,2021-06-01 10:00:00,作废", "状态 must be one of 完成, 撤销"),
        (f'HN-2,{ID_NUMBER},李华,C,"T"x,公共,1,2021-06-01 10:00:00,完成', "is not an RFC 4180 CSV record"),
    ],
)
async def test_each_malformed_line_is_held_with_its_reason(
    simulator: HoursSimulator, files: DailyFileClient, line: str, detail: str
) -> None:
    simulator.extra_lines[DAY] = [line, f"HN-3,{ID_NUMBER},李华,C,T,公共,1,2021-06-01 10:00:00,完成"]

    deliveries = await all_of(files)

    held, good = (delivery.command for delivery in deliveries)
    assert isinstance(held, Hold)
    assert held.reason is HoldReason.MALFORMED
    assert detail in held.detail
    assert isinstance(good, Credit)


async def test_a_malformed_revocation_is_held_as_one(simulator: HoursSimulator, files: DailyFileClient) -> None:
    simulator.extra_lines[DAY] = [f"HN-2,{ID_NUMBER},李华,C,T,公共,abc,2021-06-01 10:00:00,撤销"]

    (delivery,) = await all_of(files)

    assert isinstance(delivery.command, Hold)
    assert (delivery.command.record_id, delivery.command.kind) == ("HN-2", EntryKind.REVERSAL)


async def test_rare_characters_in_names_survive_gb18030(
    simulator: HoursSimulator, files: DailyFileClient, keyring: DataKeyring
) -> None:
    assert len(RARE_NAME.encode("gb18030")) == 6  # 𠈌 is one of GB18030's four-byte characters
    simulator.keep(completion("HN-1", id_number=STRANGER, name=RARE_NAME, course_title="𠈌字课程"))
    simulator.keep(completion("HN-2", course_title="𠈌字课程"))

    held, credited = (delivery.command for delivery in await all_of(files))

    assert isinstance(held, Hold)
    assert f'"learner_name":"{RARE_NAME}"' in keyring.decrypt(held.payload, context=HOLD_PAYLOAD_CONTEXT)
    assert isinstance(credited, Credit)
    assert credited.course_title == "𠈌字课程"


async def test_quoted_fields_may_hold_commas_quotes_and_line_breaks(
    simulator: HoursSimulator, files: DailyFileClient
) -> None:
    simulator.keep(completion("HN-1", course_title='学习"二十大",精神'))
    simulator.keep(completion("HN-2", course_title="第一行\r\n第二行"))
    simulator.keep(completion("HN-3"))

    deliveries = await all_of(files)

    titles = [delivery.command.course_title for delivery in deliveries if isinstance(delivery.command, Credit)]
    assert titles == ['学习"二十大",精神', "第一行 第二行", "党史学习教育"]
    assert [delivery.delivery_id for delivery in deliveries][-1] == "daily:20210601:line:5"


async def test_a_quote_left_open_spoils_only_its_line(simulator: HoursSimulator, files: DailyFileClient) -> None:
    simulator.extra_lines[DAY] = [
        f'HN-1,{ID_NUMBER},李华,C,"unclosed,公共,1,2021-06-01 10:00:00,完成',
        *(f"HN-{n},{ID_NUMBER},李华,C,T,公共,1,2021-06-01 10:00:00,完成" for n in range(2, 8)),
    ]

    deliveries = await all_of(files)

    assert [delivery.command.record_id for delivery in deliveries] == [f"HN-{n}" for n in range(1, 8)]
    held = deliveries[0].command
    assert isinstance(held, Hold)
    assert "a quoted field is not closed" in held.detail
    assert all(isinstance(delivery.command, Credit) for delivery in deliveries[1:])


async def test_a_wrong_header_refuses_the_file(
    aiohttp_server: ServerMaker, files_at: Callable[..., DailyFileClient]
) -> None:
    renamed = _file(_row("HN-1")).replace("学时".encode("gb18030"), "课时".encode("gb18030"))
    files = files_at(await aiohttp_server(_serving([renamed])))

    with pytest.raises(DailyFileInvalid, match="does not start with the header"):
        await all_of(files)


async def test_an_empty_answer_is_refused(
    aiohttp_server: ServerMaker, files_at: Callable[..., DailyFileClient]
) -> None:
    files = files_at(await aiohttp_server(_serving([b""])))

    with pytest.raises(DailyFileInvalid, match="not even its header"):
        await all_of(files)


def _serving(chunks: list[bytes]) -> web.Application:
    """A server that answers every daily-file request with these chunks, one write each."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/csv"})
        await response.prepare(request)
        for chunk in chunks:
            await response.write(chunk)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/api/daily", handler)
    return app


def _file(*rows: list[str]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerows([list(DAILY_HEADER), *rows])
    return text.getvalue().encode("gb18030")


def _row(record_no: str, name: str = "李华") -> list[str]:
    return [record_no, ID_NUMBER, name, "C", "课程", "专业", "1.5", "2021-06-01 10:00:00", "完成"]


async def test_chunks_split_anywhere_read_the_same(
    aiohttp_server: ServerMaker, files_at: Callable[..., DailyFileClient]
) -> None:
    body = _file(_row("HN-1", RARE_NAME), _row("HN-2"))
    files = files_at(await aiohttp_server(_serving([body[index : index + 1] for index in range(len(body))])))

    deliveries = await all_of(files)

    assert [delivery.command.record_id for delivery in deliveries] == ["HN-1", "HN-2"]
    assert all(isinstance(delivery.command, Credit) for delivery in deliveries)


async def test_a_line_that_is_not_gb18030_or_too_long_spoils_only_itself(
    aiohttp_server: ServerMaker, files_at: Callable[..., DailyFileClient]
) -> None:
    header = _file()
    not_gb18030 = b"HN-2,\x81\x20,\xff\xff\r\n"
    too_long = b"HN-3," + b"x" * (daily.LINE_BYTES_MAX + 10) + b"\r\n"
    good = _file(_row("HN-4")).removeprefix(header)
    files = files_at(await aiohttp_server(_serving([header, not_gb18030, too_long, good])))

    deliveries = await all_of(files)

    commands = [delivery.command for delivery in deliveries]
    assert [type(command).__name__ for command in commands] == ["Hold", "Hold", "Credit"]
    assert "line 2: is not GB18030 text" in commands[0].detail  # type: ignore[union-attr]
    assert f"line 3: is longer than {daily.LINE_BYTES_MAX} bytes" in commands[1].detail  # type: ignore[union-attr]


async def test_the_file_is_read_as_it_streams(
    aiohttp_server: ServerMaker, files_at: Callable[..., DailyFileClient]
) -> None:
    # A file far larger than anyone would buffer: the first records arrive long before its end.
    line = b"".join(f"{cell}".encode("gb18030") + b"," for cell in _row("HN-1")[:-1]) + "完成\r\n".encode("gb18030")

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(_file())
        for _ in range(1_000_000):
            await response.write(line * 100)
        return response

    app = web.Application()
    app.router.add_get("/api/daily", endless)
    files = files_at(await aiohttp_server(app))

    taken = []
    async with aclosing(files.deliveries(DAY)) as deliveries:
        async for delivery in deliveries:
            taken.append(delivery)
            if len(taken) == 3:
                break

    assert [delivery.command.record_id for delivery in taken] == ["HN-1"] * 3


async def test_a_file_cut_off_is_refused_after_the_records_before_the_break(
    aiohttp_server: ServerMaker, files_at: Callable[..., DailyFileClient]
) -> None:
    body = _file(_row("HN-1"), _row("HN-2"))

    async def cut_off(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.content_length = len(body) + 100
        await response.prepare(request)
        await response.write(body)
        assert request.transport is not None
        request.transport.close()
        return response

    app = web.Application()
    app.router.add_get("/api/daily", cut_off)
    files = files_at(await aiohttp_server(app))
    delivered: list[str] = []

    async def read_all() -> None:
        async for delivery in files.deliveries(DAY):
            delivered.append(delivery.command.record_id)  # noqa: PERF401  (kept one by one, until the break)

    with pytest.raises(DailyFileInvalid, match="broke off"):
        await read_all()
    assert delivered == ["HN-1", "HN-2"]


async def test_a_file_over_the_size_limit_is_refused(
    aiohttp_server: ServerMaker, files_at: Callable[..., DailyFileClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    body = _file(*(_row(f"HN-{n}") for n in range(20)))
    monkeypatch.setattr(daily, "DAILY_FILE_BYTES_MAX", len(body) - 1)
    files = files_at(await aiohttp_server(_serving([body])))

    with pytest.raises(DailyFileInvalid, match="over"):
        await all_of(files)


async def test_outages_are_retried_with_growing_delays_and_fresh_signatures(
    simulator: HoursSimulator, files: DailyFileClient, sleeps: Sleeps
) -> None:
    simulator.keep(completion("HN-1"))
    simulator.outages = daily.FETCH_ATTEMPTS_MAX - 1

    deliveries = await all_of(files)

    assert [delivery.command.record_id for delivery in deliveries] == ["HN-1"]
    assert simulator.daily_requests == daily.FETCH_ATTEMPTS_MAX
    assert sleeps.delays == [1.0, 2.0, 4.0]


async def test_an_outage_beyond_the_retry_budget_stops_the_pull(
    simulator: HoursSimulator, files: DailyFileClient
) -> None:
    simulator.outages = daily.FETCH_ATTEMPTS_MAX

    with pytest.raises(DailyFileRefused, match="503 to each of 4 requests"):
        await all_of(files)


async def test_a_refused_signature_is_not_retried(
    aiohttp_server: ServerMaker, simulator: HoursSimulator, files_at: Callable[..., DailyFileClient]
) -> None:
    files = files_at(await aiohttp_server(simulator.app()), appsecret="not-the-secret")

    with pytest.raises(DailyFileRefused, match="401"):
        await all_of(files)
    assert simulator.daily_requests == 1


async def test_an_unreachable_vendor_stops_the_pull(files_at: Callable[..., DailyFileClient], sleeps: Sleeps) -> None:
    class Nowhere:
        def make_url(self, _path: str) -> str:
            return "http://127.0.0.1:1"

    with pytest.raises(DailyFileRefused, match="could not be reached"):
        await all_of(files_at(Nowhere()))
    assert len(sleeps.delays) == daily.FETCH_ATTEMPTS_MAX - 1


async def test_the_reversal_of_a_revoked_line_needs_no_person(
    simulator: HoursSimulator, files: DailyFileClient
) -> None:
    simulator.keep(completion("HN-5", id_number=STRANGER))
    simulator.revoke("HN-5", at=datetime(2021, 6, 1, 5, 0, tzinfo=UTC))

    (delivery,) = await all_of(files)

    assert isinstance(delivery.command, Reversal)
