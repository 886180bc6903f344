"""Whole pulls from the simulator into the ledger, on SQLite and PostgreSQL: what the vendor holds,
the ledger ends up holding exactly once, whatever fails on the way and wherever a pull stops."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.webtrn import puller as puller_module
from adapters.webtrn.client import WebtrnAccount, open_client
from adapters.webtrn.errors import PullFailed, WebtrnUnavailable
from adapters.webtrn.pages import ItemPosition
from adapters.webtrn.puller import PullReport, Recorder, WebtrnPuller, read_watermark
from adapters.webtrn.simulator_api import WebtrnApiSimulator
from ledger.model import Delivery, Entry, EntryKind, HoldReason, Outcome, OutcomeKind, Source, SourcePosition
from ledger.service import Ledger
from ledger.store import SqlLedgerStore

from ...ledger.conftest import BEIJING_OFFSET, RULES_2021
from ..conftest import FakeLearnerDirectory
from .conftest import CountedSleep

START = datetime(2021, 1, 1, tzinfo=UTC)
EARLY = datetime(2021, 6, 1, 2, 0, tzinfo=UTC)
PERSON = "person-wang"


def at(seconds: int) -> datetime:
    return EARLY + timedelta(seconds=seconds)


@pytest.fixture
def ledger(engine: AsyncEngine) -> Ledger:
    return Ledger(SqlLedgerStore(engine), {2021: RULES_2021})


class Pull:
    """Runs pulls as the hub does, each with its own client, as separate runs of ``hub pull`` would."""

    def __init__(
        self, account: WebtrnAccount, ledger: Ledger, directory: FakeLearnerDirectory, sleep: CountedSleep
    ) -> None:
        self.account, self.ledger, self.directory, self.sleep = account, ledger, directory, sleep
        self.reports: list[PullReport] = []

    async def __call__(self, recorder: Recorder | None = None) -> PullReport:
        async with open_client(self.account, sleep=self.sleep) as client:
            puller = WebtrnPuller(client, recorder or self.ledger, self.directory, start=START)
            return await puller.pull(self.reports.append)


@pytest.fixture
def pull(account: WebtrnAccount, ledger: Ledger, directory: FakeLearnerDirectory, sleep: CountedSleep) -> Pull:
    return Pull(account, ledger, directory, sleep)


def fill(simulator: WebtrnApiSimulator, count: int) -> None:
    """``count`` completions; two of them share each second, so pages break inside a second."""
    for number in range(1, count + 1):
        simulator.complete(number, sub="sub-wang-w", updated_at=at(number // 2), hours=f"{number % 9 + 1}.5")


async def entries(ledger: Ledger) -> list[Entry]:
    return await ledger.entries_of(PERSON, 2021)


async def assert_ledger_matches_vendor(ledger: Ledger, simulator: WebtrnApiSimulator) -> None:
    """Every completion the vendor holds of the known learner counts once, every revoked one not at
    all, and nothing is stored twice."""
    stored = await entries(ledger)
    kinds = Counter((entry.record_id, entry.kind) for entry in stored)
    assert max(kinds.values(), default=1) == 1, "a record was stored twice"
    reversed_ids = {entry.record_id for entry in stored if entry.kind is EntryKind.REVERSAL}
    counted = {entry.record_id: entry.hours for entry in stored if entry.kind is EntryKind.CREDIT}
    counted = {record_id: hours for record_id, hours in counted.items() if record_id not in reversed_ids}
    expected = {
        str(item["id"]): int(item["credit_hours"] * 100)
        for item in simulator.items()
        if item["status"] == "completed" and item["learner"]["sub"] == "sub-wang-w"
    }
    assert counted == expected
    assert (await ledger.verify_chain()).intact
    balance = await ledger.balance(PERSON, 2021)
    assert balance.total == sum(expected.values())


async def test_a_pull_stores_every_page_and_the_watermark_of_the_last(
    pull: Pull, ledger: Ledger, simulator: WebtrnApiSimulator
) -> None:
    fill(simulator, 7)

    report = await pull()

    await assert_ledger_matches_vendor(ledger, simulator)
    assert (report.pages, report.items, report.count(OutcomeKind.APPENDED)) == (3, 7, 7)
    assert [progress.items for progress in pull.reports] == [3, 6, 7]
    assert read_watermark(await ledger.position(Source.WEBTRN)) == ItemPosition(at(3), 7)
    assert simulator.page_queries[0] == {"updated_since": "2021-01-01T00:00:00Z", "limit": "500"}
    assert all(set(query) == {"cursor", "limit"} for query in simulator.page_queries[1:])


async def test_a_credit_keeps_the_vendors_values_exactly(
    pull: Pull, ledger: Ledger, simulator: WebtrnApiSimulator
) -> None:
    simulator.complete(
        88123,
        sub="sub-wang-w",
        updated_at=datetime(2021, 6, 1, 2, 0, 5, tzinfo=UTC),
        course_code="C2001",
        subject="professional",
        hours="0.1",
        finished_at=datetime(2021, 6, 1, 10, 0, tzinfo=BEIJING_OFFSET),
    )

    await pull()

    (credit,) = await entries(ledger)
    assert (credit.record_id, credit.course_code, credit.subject.value, credit.hours) == (
        "88123",
        "C2001",
        "professional",
        10,
    )
    assert credit.completed_at == datetime(2021, 6, 1, 2, 0, tzinfo=UTC)


async def test_pulling_again_changes_nothing(pull: Pull, ledger: Ledger, simulator: WebtrnApiSimulator) -> None:
    fill(simulator, 7)
    await pull()
    before = await entries(ledger)

    again = await pull()

    assert await entries(ledger) == before
    assert again.count(OutcomeKind.APPENDED) == 0
    # updated_since is inclusive: the items of the watermark's second come again, as no-ops.
    assert simulator.page_queries[-1] == {"updated_since": "2021-06-01T02:00:03Z", "limit": "500"}
    assert again.count(OutcomeKind.DUPLICATE) == 2


async def test_a_first_pull_starts_at_pull_start(pull: Pull, ledger: Ledger, simulator: WebtrnApiSimulator) -> None:
    simulator.complete(1, sub="sub-wang-w", updated_at=START - timedelta(seconds=1), finished_at=at(0))
    simulator.complete(2, sub="sub-wang-w", updated_at=START)

    await pull()

    assert [entry.record_id for entry in await entries(ledger)] == ["2"]


async def test_a_revoked_item_becomes_a_reversal_of_its_credit(
    pull: Pull, ledger: Ledger, simulator: WebtrnApiSimulator
) -> None:
    fill(simulator, 4)
    await pull()

    simulator.revoke(2, updated_at=at(60))
    report = await pull()

    reversal = (await entries(ledger))[-1]
    credit = next(entry for entry in await entries(ledger) if entry.record_id == "2")
    assert (reversal.kind, reversal.record_id, reversal.reverses_seq) == (EntryKind.REVERSAL, "2", credit.seq)
    assert report.count(OutcomeKind.APPENDED) == 1
    await assert_ledger_matches_vendor(ledger, simulator)


async def test_an_item_revoked_before_the_hub_saw_it_never_counts(
    pull: Pull, ledger: Ledger, simulator: WebtrnApiSimulator
) -> None:
    simulator.complete(1, sub="sub-wang-w", updated_at=at(1))
    simulator.revoke(1, updated_at=at(2))

    report = await pull()

    assert report.count(OutcomeKind.PENDING) == 1
    await assert_ledger_matches_vendor(ledger, simulator)


async def test_an_unknown_sub_is_held_and_its_neighbours_stored(
    pull: Pull, ledger: Ledger, simulator: WebtrnApiSimulator
) -> None:
    fill(simulator, 3)
    simulator.complete(4, sub="never-issued", updated_at=at(1))

    report = await pull()

    (held,) = await ledger.held_records()
    assert (held.reason, held.record_id) == (HoldReason.UNKNOWN_PERSON.value, "4")
    assert report.held == {"unknown_person": 1}
    await assert_ledger_matches_vendor(ledger, simulator)


async def test_a_malformed_item_is_held_while_its_neighbours_are_stored(
    pull: Pull, ledger: Ledger, simulator: WebtrnApiSimulator
) -> None:
    fill(simulator, 5)
    broken = {**simulator.items()[2], "credit_hours": "2.5", "subject": "体育"}
    simulator.put(broken["id"], at(1), broken)

    report = await pull()

    (held,) = await ledger.held_records()
    assert (held.reason, held.record_id) == (HoldReason.MALFORMED.value, str(broken["id"]))
    assert held.detail.startswith("subject: ")
    assert "credit_hours: " in held.detail
    assert report.count(OutcomeKind.APPENDED) == 4
    stored = {entry.record_id for entry in await entries(ledger)}
    assert stored == {str(item["id"]) for item in simulator.items()} - {str(broken["id"])}
    # The same item again is the same held record, not a second one.
    await pull()
    assert len(await ledger.held_records()) == 1


async def test_429_401_and_502_on_the_way_still_end_in_the_vendors_set(
    pull: Pull, ledger: Ledger, simulator: WebtrnApiSimulator, sleep: CountedSleep
) -> None:
    fill(simulator, 7)
    simulator.answer(429, on_requests=[1], retry_after_seconds=3)
    simulator.answer(401, on_requests=[3])
    simulator.answer(502, on_requests=[4, 5])

    report = await pull()

    await assert_ledger_matches_vendor(ledger, simulator)
    assert report.pages == 3
    assert sleep.delays[0] == 3.0
    assert len(sleep.delays) == 3
    assert simulator.token_requests == 2


class Crash(Exception):
    """The process dies."""


class CrashingLedger:
    """The ledger, in a process that dies just before or just after storing its ``page``-th page."""

    def __init__(self, ledger: Ledger, page: int, *, after_commit: bool) -> None:
        self.ledger, self.page, self.after_commit = ledger, page, after_commit
        self.calls = 0

    async def receive(self, deliveries: list[Delivery], position: SourcePosition | None = None) -> list[Outcome]:
        self.calls += 1
        if self.calls == self.page and not self.after_commit:
            raise Crash
        outcomes = await self.ledger.receive(deliveries, position)
        if self.calls == self.page:
            raise Crash
        return outcomes

    async def position(self, source: Source) -> str | None:
        return await self.ledger.position(source)

    def check(self, command: object) -> None:
        self.ledger.check(command)  # type: ignore[arg-type]


def vendor_with_history(simulator: WebtrnApiSimulator) -> None:
    """Eleven completions, pages that break inside a second, and revocations old and new."""
    fill(simulator, 11)
    simulator.revoke(3, updated_at=at(3))  # revoked in the second of other items
    simulator.revoke(8, updated_at=at(30))


@pytest.mark.parametrize(
    ("crash_page", "after_commit"),
    [(1, False), (2, False), (2, True), (3, True), (4, True)],
    ids=["before page 1 is stored", "before page 2 is stored", "after page 2", "after page 3", "after the last page"],
)
async def test_a_pull_that_dies_anywhere_resumes_with_no_gap_and_no_duplicate(
    pull: Pull, ledger: Ledger, simulator: WebtrnApiSimulator, crash_page: int, after_commit: bool
) -> None:
    vendor_with_history(simulator)
    with pytest.raises(Crash):
        await pull(CrashingLedger(ledger, crash_page, after_commit=after_commit))
    stored_pages = crash_page if after_commit else crash_page - 1
    watermark = read_watermark(await ledger.position(Source.WEBTRN))
    resumed_from = len(simulator.page_queries)

    await pull()

    await assert_ledger_matches_vendor(ledger, simulator)
    expected_since = (
        "2021-01-01T00:00:00Z" if watermark is None else watermark.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    assert simulator.page_queries[resumed_from]["updated_since"] == expected_since
    assert (watermark is None) == (stored_pages == 0)


async def test_a_pull_failing_at_the_vendor_mid_way_resumes_from_its_watermark(
    pull: Pull, ledger: Ledger, simulator: WebtrnApiSimulator
) -> None:
    vendor_with_history(simulator)
    simulator.answer(502, on_requests=range(3, 100))

    with pytest.raises(WebtrnUnavailable, match="webtrn"):
        await pull()
    after_two_pages = await entries(ledger)
    simulator.heal()
    await pull()

    first_six = simulator.items()[:6]
    assert [entry.record_id for entry in after_two_pages] == [
        str(item["id"]) for item in first_six if item["status"] == "completed"
    ]
    assert (await entries(ledger))[: len(after_two_pages)] == after_two_pages
    await assert_ledger_matches_vendor(ledger, simulator)


async def test_a_pull_cancelled_while_waiting_for_a_page_resumes_with_no_gap(
    pull: Pull, ledger: Ledger, simulator: WebtrnApiSimulator
) -> None:
    vendor_with_history(simulator)
    stalled = simulator.stall(on_request=3)

    running = asyncio.create_task(pull())
    await stalled.wait()
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    simulator.release()
    await pull()

    await assert_ledger_matches_vendor(ledger, simulator)


async def test_a_pull_has_a_page_limit(
    pull: Pull, simulator: WebtrnApiSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(simulator, 7)
    monkeypatch.setattr(puller_module, "PAGES_PER_PULL_MAX", 2)

    with pytest.raises(PullFailed, match="more than 2 pages"):
        await pull()
