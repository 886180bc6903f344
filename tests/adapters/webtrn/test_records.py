"""webtrn's records read for reconciliation: a full scan of the simulator's API from the scope's start,
each item read into what the vendor says of its record, and a failing API a failed read."""

from __future__ import annotations

from contextlib import aclosing
from datetime import UTC, date, datetime, timedelta

import pytest

from adapters.webtrn.client import WebtrnAccount, open_client
from adapters.webtrn.records import WebtrnRecords
from adapters.webtrn.simulator_api import WebtrnApiSimulator
from ledger.errors import NoRulesForYear
from ledger.model import Command, Credit
from ledger.reconciliation.errors import VendorReadFailed
from ledger.reconciliation.model import Scope, VendorRecord, VendorState

from ..conftest import FakeLearnerDirectory
from .conftest import CountedSleep

JUNE = datetime(2021, 6, 1, 2, 0, tzinfo=UTC)


def check_2021_only(command: Command) -> None:
    if isinstance(command, Credit) and command.year != 2021:
        raise NoRulesForYear(command.year)


@pytest.fixture
def records(account: WebtrnAccount, directory: FakeLearnerDirectory, sleep: CountedSleep) -> WebtrnRecords:
    return WebtrnRecords(lambda: open_client(account, sleep=sleep), directory, check_2021_only)


async def read_all(records: WebtrnRecords, scope: Scope) -> list[VendorRecord]:
    async with aclosing(records.batches(scope)) as batches:
        return [record async for batch in batches for record in batch]


async def test_a_full_scan_reads_every_item_of_the_scope_into_what_the_vendor_says(
    records: WebtrnRecords, simulator: WebtrnApiSimulator
) -> None:
    simulator.complete(1, sub="sub-wang-w", updated_at=JUNE, hours="2.5")
    simulator.complete(2, sub="sub-stranger", updated_at=JUNE + timedelta(seconds=1))
    simulator.complete(3, sub="sub-wang-w", updated_at=JUNE + timedelta(seconds=2))
    simulator.revoke(3, updated_at=JUNE + timedelta(days=1))
    simulator.put(4, JUNE + timedelta(seconds=3), {"id": 4, "status": "completed"})
    simulator.complete(5, sub="sub-wang-w", updated_at=JUNE + timedelta(seconds=4), finished_at=JUNE.replace(year=2020))

    found = await read_all(records, Scope.of_year(2021))

    assert [(record.record_id, record.state) for record in found] == [
        ("1", VendorState.COUNTED),
        ("2", VendorState.UNKNOWN_LEARNER),
        ("4", VendorState.UNREADABLE),
        ("3", VendorState.REVOKED),
    ]
    credit = found[0].credit
    assert credit is not None
    assert (credit.person_id, credit.hours, credit.completed_at) == ("person-wang", 250, JUNE)
    assert simulator.page_queries[0] == {"updated_since": "2020-12-31T16:00:00Z", "limit": "500"}
    assert len(simulator.page_queries) == 2  # three items a page here: a cursor to the second


async def test_a_range_asks_from_its_first_day_and_keeps_the_items_finished_within_it(
    records: WebtrnRecords, simulator: WebtrnApiSimulator
) -> None:
    simulator.complete(1, sub="sub-wang-w", updated_at=JUNE)
    simulator.complete(2, sub="sub-wang-w", updated_at=JUNE + timedelta(days=40))

    found = await read_all(records, Scope(date(2021, 6, 1), date(2021, 6, 30)))

    assert [record.record_id for record in found] == ["1"]
    assert simulator.page_queries[0]["updated_since"] == "2021-05-31T16:00:00Z"


async def test_a_failing_api_is_a_failed_read(
    records: WebtrnRecords, simulator: WebtrnApiSimulator, sleep: CountedSleep
) -> None:
    for number in range(1, 5):
        simulator.complete(number, sub="sub-wang-w", updated_at=JUNE + timedelta(seconds=number))
    simulator.answer(503, on_requests=range(2, 20))

    with pytest.raises(VendorReadFailed, match="webtrn's scan from 2021-01-01: webtrn kept failing"):
        await read_all(records, Scope.of_year(2021))
    assert len(sleep.delays) == 5
