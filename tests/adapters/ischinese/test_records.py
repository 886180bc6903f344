"""ischinese's listing read for reconciliation, from the simulator on a real server: pages with their
budget (retries, refusals, size limit), and each item read into what the vendor says of its record."""

from __future__ import annotations

import dataclasses
import json
from contextlib import aclosing
from datetime import UTC, date, datetime

import httpx
import pytest
import respx
from aiohttp.test_utils import TestServer

from adapters.ischinese.errors import ListingInvalid, ListingRefused, ListingUnavailable
from adapters.ischinese.listing import PAGE_CALL, ListingClient
from adapters.ischinese.records import IschineseRecords
from adapters.ischinese.simulator_hours import HoursSimulator, SimulatedCompletion
from ledger.model import PersonId
from ledger.reconciliation.errors import VendorReadFailed
from ledger.reconciliation.model import Scope, VendorRecord, VendorState

from ..conftest import FakeLearnerDirectory, ServerMaker, Sleeps

API_KEY = "ischinese-listing-key"
KNOWN, STRANGER = "sub-wang", "sub-never-issued"


def completion(completion_id: str, sub: str = KNOWN, *, month: int = 6, hours: str = "3.5") -> SimulatedCompletion:
    return SimulatedCompletion(
        completion_id=completion_id,
        sub=sub,
        course_id="XJP-2021-01",
        course_title="习近平新时代中国特色社会主义思想概论",
        subject="public",
        hours=hours,
        completed_at=datetime(2021, month, 1, 1, 58, 12, tzinfo=UTC),
    )


@pytest.fixture
def vendor(http: httpx.AsyncClient) -> HoursSimulator:
    return HoursSimulator(hub_url="http://hub.invalid", webhook_secret="whsec_AAAA", api_key=API_KEY, http=http)


@pytest.fixture
async def server(aiohttp_server: ServerMaker, vendor: HoursSimulator) -> TestServer:
    return await aiohttp_server(vendor.app())


def client(http: httpx.AsyncClient, server: TestServer, sleeps: Sleeps, api_key: str = API_KEY) -> ListingClient:
    return ListingClient(http, api_base=str(server.make_url("")), api_key=api_key, sleep=sleeps)


async def read_all(records: IschineseRecords, scope: Scope) -> list[list[VendorRecord]]:
    async with aclosing(records.batches(scope)) as batches:
        return [list(batch) async for batch in batches]


async def test_each_listed_item_is_read_into_what_the_vendor_says_of_it(
    http: httpx.AsyncClient,
    server: TestServer,
    vendor: HoursSimulator,
    directory: FakeLearnerDirectory,
    sleeps: Sleeps,
) -> None:
    vendor.keep(completion("c-1"))
    vendor.keep(completion("c-2", STRANGER))
    vendor.keep(completion("c-3"))
    vendor.withdraw("c-3", "cheated")
    vendor.keep(completion("c-4", hours="101"))

    (batch,) = await read_all(IschineseRecords(client(http, server, sleeps), directory), Scope.of_year(2021))

    assert [(record.record_id, record.state) for record in batch] == [
        ("c-1", VendorState.COUNTED),
        ("c-2", VendorState.UNKNOWN_LEARNER),
        ("c-3", VendorState.REVOKED),
        ("c-4", VendorState.UNREADABLE),
    ]
    counted = batch[0].credit
    assert counted is not None
    assert (counted.person_id, counted.hours, counted.actor) == (PersonId("person-wang"), 350, "vendor:ischinese")
    assert json.loads(batch[0].shown)["course"]["hours"] == "3.5"
    assert vendor.listing_requests == 1


async def test_the_fingerprint_changes_with_the_content_and_not_with_the_title(
    http: httpx.AsyncClient, server: TestServer, vendor: HoursSimulator, directory: FakeLearnerDirectory, sleeps: Sleeps
) -> None:
    records = IschineseRecords(client(http, server, sleeps), directory)
    vendor.keep(completion("c-1"))
    ((first,),) = await read_all(records, Scope.of_year(2021))
    vendor.keep(dataclasses.replace(completion("c-1"), course_title="新标题"))
    ((retitled,),) = await read_all(records, Scope.of_year(2021))
    vendor.keep(completion("c-1", hours="4"))
    ((changed,),) = await read_all(records, Scope.of_year(2021))

    assert first.fingerprint == retitled.fingerprint != changed.fingerprint


async def test_a_range_keeps_the_items_completed_within_it(
    http: httpx.AsyncClient, server: TestServer, vendor: HoursSimulator, directory: FakeLearnerDirectory, sleeps: Sleeps
) -> None:
    for month in (5, 6, 7):
        vendor.keep(completion(f"c-{month}", month=month))

    (batch,) = await read_all(
        IschineseRecords(client(http, server, sleeps), directory), Scope(date(2021, 6, 1), date(2021, 6, 30))
    )

    assert [record.record_id for record in batch] == ["c-6"]


async def test_every_page_of_the_year_is_read(
    http: httpx.AsyncClient, server: TestServer, vendor: HoursSimulator, directory: FakeLearnerDirectory, sleeps: Sleeps
) -> None:
    for number in range(1201):
        vendor.keep(completion(f"c-{number:05d}"))

    batches = await read_all(IschineseRecords(client(http, server, sleeps), directory), Scope.of_year(2021))

    assert [len(batch) for batch in batches] == [500, 500, 201]
    assert vendor.listing_requests == 3


async def test_a_failing_listing_is_retried_within_its_budget(
    http: httpx.AsyncClient, server: TestServer, vendor: HoursSimulator, sleeps: Sleeps
) -> None:
    vendor.keep(completion("c-1"))
    vendor.fail_listing(503, on_requests=[1, 2])

    page = await client(http, server, sleeps).page(2021, 1)

    assert (len(page.items), page.total_pages) == (1, 1)
    assert len(sleeps.delays) == 2
    vendor.fail_listing(502, on_requests=range(4, 4 + PAGE_CALL.tries_max))
    with pytest.raises(ListingUnavailable, match="kept failing"):
        await client(http, server, sleeps).page(2021, 1)


async def test_a_refused_key_stops_the_read_and_the_reader_says_so_as_a_failed_read(
    http: httpx.AsyncClient, server: TestServer, directory: FakeLearnerDirectory, sleeps: Sleeps
) -> None:
    with pytest.raises(ListingRefused):
        await client(http, server, sleeps, api_key="wrong").page(2021, 1)

    records = IschineseRecords(client(http, server, sleeps, api_key="wrong"), directory)
    with pytest.raises(VendorReadFailed, match="page 1: ischinese answered 401") as failed:
        await read_all(records, Scope.of_year(2021))
    assert "wrong" not in str(failed.value)
    assert sleeps.delays == []


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (httpx.Response(200, text="not json"), "not JSON"),
        (httpx.Response(200, json={"data": [], "page": 2, "total_pages": 1}), "another page"),
        (httpx.Response(200, json={"data": {}, "page": 1, "total_pages": 1}), "not a list"),
        (httpx.Response(200, json={"data": [], "page": 1, "total_pages": 0}), "total_pages"),
        (httpx.Response(200, content=b" " * (PAGE_CALL.answer_bytes_max + 1)), "over"),
        (httpx.Response(404, json={"error": "gone"}), "answered 404"),
    ],
)
async def test_an_answer_the_contract_does_not_allow_stops_the_read(
    answer: httpx.Response, message: str, sleeps: Sleeps
) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as router:
        router.get("https://ischinese.example/api/v2/completions").mock(return_value=answer)
        async with httpx.AsyncClient() as http:
            listing = ListingClient(http, api_base="https://ischinese.example", api_key=API_KEY, sleep=sleeps)
            with pytest.raises(ListingInvalid, match=message):
                await listing.page(2021, 1)
