"""hnou's records read for reconciliation: the daily files of each day of the scope, from the simulator
on a real server, each line read into what the vendor says of its record, personal data masked."""

from __future__ import annotations

import json
from contextlib import aclosing
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from adapters.hnou.daily import DailyFileClient
from adapters.hnou.records import HnouRecords
from adapters.hnou.simulator_hours import HoursSimulator, SimulatedCompletion
from adapters.hnou.translation import Translator
from ledger.model import Command
from ledger.reconciliation.errors import VendorReadFailed
from ledger.reconciliation.model import Scope, VendorRecord, VendorState
from sso.personal_data import DataKeyring

from ..conftest import FakeLearnerDirectory, ServerMaker, Sleeps

APPID = "hub-test"
APPSECRET = "the-app-secret"
ID_NUMBER = "11010519491231002X"
STRANGER = "110105194912310011"
JUNE_FIRST = datetime(2021, 6, 1, 2, 0, tzinfo=UTC)


def completion(record_no: str, **changes: object) -> SimulatedCompletion:
    fields: dict[str, object] = {
        "record_no": record_no,
        "id_number": ID_NUMBER,
        "name": "李华",
        "course_code": "HN-2021-DS01",
        "course_title": "党史学习教育",
        "subject": "public",
        "hours": "2.5",
        "completed_at": JUNE_FIRST,
    }
    fields.update(changes)
    return SimulatedCompletion(**fields)  # type: ignore[arg-type]


def accept_all(_command: Command) -> None:
    """Every year has rules here."""


@pytest.fixture
def simulator(http: httpx.AsyncClient) -> HoursSimulator:
    return HoursSimulator(appid=APPID, appsecret=APPSECRET, hub_url="http://hub.invalid", http=http)


@pytest.fixture
def translator(directory: FakeLearnerDirectory, keyring: DataKeyring) -> Translator:
    return Translator(directory.person_for_id_number, keyring, accept_all)


@pytest.fixture
async def records(
    aiohttp_server: ServerMaker,
    simulator: HoursSimulator,
    http: httpx.AsyncClient,
    translator: Translator,
    sleeps: Sleeps,
) -> HnouRecords:
    server = await aiohttp_server(simulator.app())
    files = DailyFileClient(
        http,
        api_base=str(server.make_url("")),
        appid=APPID,
        appsecret=APPSECRET,
        translator=translator,
        sleep=sleeps,
    )
    return HnouRecords(files)


async def read_all(records: HnouRecords, scope: Scope) -> list[list[VendorRecord]]:
    async with aclosing(records.batches(scope)) as batches:
        return [list(batch) async for batch in batches]


async def test_the_files_of_the_scopes_days_are_read_into_what_the_vendor_says(
    records: HnouRecords, simulator: HoursSimulator
) -> None:
    simulator.keep(completion("HN-1"))
    simulator.keep(completion("HN-2", id_number=STRANGER, name="欧阳修远"))
    simulator.keep(completion("HN-0", completed_at=datetime(2021, 5, 20, tzinfo=UTC)))
    simulator.revoke("HN-0", at=JUNE_FIRST + timedelta(days=1))
    simulator.keep(completion("HN-3", hours="0"))
    simulator.keep(completion("HN-9", completed_at=JUNE_FIRST + timedelta(days=5)))  # outside the scope

    (batch,) = await read_all(records, Scope(date(2021, 6, 1), date(2021, 6, 2)))

    assert [(record.record_id, record.state) for record in batch] == [
        ("HN-1", VendorState.COUNTED),
        ("HN-2", VendorState.UNKNOWN_LEARNER),
        ("HN-3", VendorState.UNREADABLE),
        ("HN-0", VendorState.REVOKED),
    ]
    assert batch[0].credit is not None
    assert batch[0].credit.person_id == "person-li"
    assert batch[3].completed_at == datetime(2021, 5, 20, tzinfo=UTC)
    stranger = json.loads(batch[1].shown)
    assert (stranger["身份证号"], stranger["姓名"]) == ("110105********0011", "欧***")
    assert all(ID_NUMBER not in record.shown and STRANGER not in record.shown for record in batch)
    assert simulator.daily_requests == 2


async def test_the_same_record_gives_the_same_fingerprint_and_a_change_another(
    records: HnouRecords, simulator: HoursSimulator
) -> None:
    simulator.keep(completion("HN-1"))
    ((first,),) = await read_all(records, Scope(date(2021, 6, 1), date(2021, 6, 1)))
    ((again,),) = await read_all(records, Scope(date(2021, 6, 1), date(2021, 6, 1)))
    simulator.keep(completion("HN-1", hours="3"))
    ((changed,),) = await read_all(records, Scope(date(2021, 6, 1), date(2021, 6, 1)))

    assert first.fingerprint == again.fingerprint != changed.fingerprint


async def test_many_records_come_in_batches_of_five_hundred(records: HnouRecords, simulator: HoursSimulator) -> None:
    for number in range(1001):
        simulator.keep(completion(f"HN-{number:04d}"))

    batches = await read_all(records, Scope(date(2021, 6, 1), date(2021, 6, 1)))

    assert [len(batch) for batch in batches] == [500, 500, 1]


async def test_a_day_hnou_cannot_serve_is_a_failed_read(
    records: HnouRecords, simulator: HoursSimulator, sleeps: Sleeps
) -> None:
    simulator.outages = 10

    with pytest.raises(VendorReadFailed, match="daily file of 20210601: hnou answered 503"):
        await read_all(records, Scope(date(2021, 6, 1), date(2021, 6, 1)))
    assert len(sleeps.delays) == 3
