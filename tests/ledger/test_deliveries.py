"""What sources deliver: receipts, holds for unknown people and malformed records, group commit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import cast

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.database import create_engine
from ledger.errors import InvalidCommand, LedgerUnavailable
from ledger.group_commit import GroupCommitter, running_group_commit
from ledger.model import (
    Balance,
    Command,
    Delivery,
    EntryKind,
    Hold,
    HoldReason,
    Outcome,
    OutcomeKind,
    Source,
    SourcePosition,
)
from ledger.service import Ledger
from ledger.store import SqlLedgerStore

from .conftest import RULES_2021, MakeCredit, MakeReversal, payload_hash

RECEIVED_AT = datetime(2021, 6, 1, 2, 0, tzinfo=UTC)


def _hold(record_id: str = "c-9", reason: HoldReason = HoldReason.UNKNOWN_PERSON) -> Hold:
    return Hold(
        source=Source.ISCHINESE,
        record_id=record_id,
        kind=EntryKind.CREDIT,
        reason=reason,
        payload="opaque, encrypted by the caller",
        payload_hash=payload_hash(record_id),
        detail="sub was never issued to ischinese",
    )


async def _receipts(engine: AsyncEngine) -> list[tuple[str, str, str, str | None]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT delivery_id, record_id, outcome, held_reason FROM ledger_receipt ORDER BY id")
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_every_delivery_gets_a_receipt_of_its_outcome(
    ledger: Ledger, engine: AsyncEngine, make_credit: MakeCredit, make_reversal: MakeReversal
) -> None:
    outcomes = await ledger.receive(
        [
            Delivery(make_credit("c-1"), "msg-1", RECEIVED_AT),
            Delivery(make_credit("c-1"), "msg-1", RECEIVED_AT),
            Delivery(make_credit("c-1", hours="5"), "msg-2", RECEIVED_AT),
            Delivery(make_reversal("c-2"), "msg-3", RECEIVED_AT),
            Delivery(_hold(), "msg-4", RECEIVED_AT),
        ]
    )

    assert [outcome.kind for outcome in outcomes] == [
        OutcomeKind.APPENDED,
        OutcomeKind.DUPLICATE,
        OutcomeKind.HELD,
        OutcomeKind.PENDING,
        OutcomeKind.HELD,
    ]
    assert await _receipts(engine) == [
        ("msg-1", "c-1", "appended", None),
        ("msg-1", "c-1", "duplicate", None),
        ("msg-2", "c-1", "held", "conflict"),
        ("msg-3", "c-2", "pending", None),
        ("msg-4", "c-9", "held", "unknown_person"),
    ]


async def test_holding_the_same_record_again_keeps_one_hold(ledger: Ledger) -> None:
    await ledger.record(_hold())
    await ledger.record(_hold())
    await ledger.record(_hold("c-10", HoldReason.MALFORMED))

    held = await ledger.held_records()
    assert [(record.record_id, record.reason) for record in held] == [
        ("c-9", "unknown_person"),
        ("c-10", "malformed"),
    ]
    assert (await ledger.verify_chain()).entries_checked == 0


async def test_concurrent_submissions_share_commits_and_each_gets_its_outcome(
    ledger: Ledger, make_credit: MakeCredit
) -> None:
    async with running_group_commit(ledger) as committer:
        outcomes = await asyncio.gather(
            *(committer.submit(Delivery(make_credit(f"c-{n % 40}"), f"msg-{n}", RECEIVED_AT)) for n in range(80))
        )

    kinds = [outcome.kind for outcome in outcomes]
    assert kinds.count(OutcomeKind.APPENDED) == 40
    assert kinds.count(OutcomeKind.DUPLICATE) == 40
    report = await ledger.verify_chain()
    assert (report.intact, report.entries_checked) == (True, 40)
    assert await ledger.balance("person-1", 2021) == Balance(public=40 * 350)


class _GatedLedger:
    """A ledger for the committer alone: it notes each batch, and each commit lasts until the test
    lets it finish."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.began = asyncio.Event()
        self.finish = asyncio.Event()

    def check(self, command: Command) -> None:
        pass

    @asynccontextmanager
    async def holding_connection(self) -> AsyncIterator[_GatedLedger]:
        yield self

    async def receive(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        self.batches.append([delivery.delivery_id for delivery in deliveries])
        self.began.set()
        await self.finish.wait()
        self.finish.clear()
        return [Outcome(OutcomeKind.APPENDED) for _ in deliveries]


async def test_deliveries_that_queued_during_a_commit_are_committed_without_lingering(
    monkeypatch: pytest.MonkeyPatch, make_credit: MakeCredit
) -> None:
    ledger = _GatedLedger()
    lingered_before_batch: list[int] = []

    async def linger(committer: GroupCommitter) -> None:
        lingered_before_batch.append(len(ledger.batches) + 1)

    monkeypatch.setattr(GroupCommitter, "_let_arrivals_queue", linger)
    async with running_group_commit(cast(Ledger, ledger)) as committer:

        def submit(number: int) -> asyncio.Task[Outcome]:
            return asyncio.create_task(
                committer.submit(Delivery(make_credit(f"c-{number}"), f"msg-{number}", RECEIVED_AT))
            )

        submitted = [submit(1)]
        await ledger.began.wait()
        ledger.began.clear()
        submitted += [submit(2), submit(3)]  # they queue while the first batch commits
        await asyncio.sleep(0)
        ledger.finish.set()
        await ledger.began.wait()
        ledger.finish.set()
        outcomes = await asyncio.gather(*submitted)

    assert ledger.batches == [["msg-1"], ["msg-2", "msg-3"]]
    assert lingered_before_batch == [1]  # the first, after a quiet spell; the second began at once
    assert [outcome.kind for outcome in outcomes] == [OutcomeKind.APPENDED] * 3


async def test_a_bad_delivery_is_refused_alone(ledger: Ledger, make_credit: MakeCredit) -> None:
    async with running_group_commit(ledger) as committer:
        good = asyncio.create_task(committer.submit(Delivery(make_credit("c-1"), "msg-1", RECEIVED_AT)))
        with pytest.raises(InvalidCommand, match="hours"):
            await committer.submit(Delivery(make_credit("c-2", hours="101"), "msg-2", RECEIVED_AT))
        assert (await good).kind is OutcomeKind.APPENDED


async def test_when_the_database_is_down_every_waiter_hears_it(make_credit: MakeCredit) -> None:
    engine = create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    ledger = Ledger(SqlLedgerStore(engine), {2021: RULES_2021})
    try:
        async with running_group_commit(ledger) as committer:
            results = await asyncio.gather(
                *(committer.submit(Delivery(make_credit(f"c-{n}"), f"msg-{n}", RECEIVED_AT)) for n in range(3)),
                return_exceptions=True,
            )
    finally:
        await engine.dispose()

    assert [type(result) for result in results] == [LedgerUnavailable] * 3


async def test_a_sources_position_moves_with_the_entries_it_read(ledger: Ledger, make_credit: MakeCredit) -> None:
    assert await ledger.position(Source.WEBTRN) is None

    await ledger.receive(
        [Delivery(make_credit("88123", source="webtrn"), "88123@1", RECEIVED_AT)],
        SourcePosition(Source.WEBTRN, "page-1"),
    )
    await ledger.receive([], SourcePosition(Source.WEBTRN, "page-2"))

    assert await ledger.position(Source.WEBTRN) == "page-2"
    assert await ledger.position(Source.ISCHINESE) is None


async def test_a_refused_batch_does_not_move_the_position(ledger: Ledger, make_credit: MakeCredit) -> None:
    await ledger.receive([], SourcePosition(Source.WEBTRN, "page-1"))

    with pytest.raises(InvalidCommand):
        await ledger.receive(
            [Delivery(make_credit("88124", source="webtrn", hours="101"), "88124@1", RECEIVED_AT)],
            SourcePosition(Source.WEBTRN, "page-2"),
        )

    assert await ledger.position(Source.WEBTRN) == "page-1"


async def test_a_large_batch_keeps_every_receipt(ledger: Ledger, engine: AsyncEngine, make_credit: MakeCredit) -> None:
    deliveries = [Delivery(make_credit(f"c-{number}"), f"msg-{number}", RECEIVED_AT) for number in range(40)]

    await ledger.receive(deliveries)

    receipts = await _receipts(engine)
    assert [receipt[0] for receipt in receipts] == [f"msg-{number}" for number in range(40)]
    assert {receipt[2] for receipt in receipts} == {"appended"}


async def test_a_committer_whose_connection_is_cut_fails_one_batch_and_stores_the_next(
    postgresql_database_url: str, make_credit: MakeCredit
) -> None:
    engine = create_engine(postgresql_database_url)
    ledger = Ledger(SqlLedgerStore(engine), {2021: RULES_2021})
    try:
        async with running_group_commit(ledger) as committer:
            first = await committer.submit(Delivery(make_credit("c-1"), "msg-1", RECEIVED_AT))
            async with engine.connect() as other:  # the committer's connection is the only other one
                await other.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
            with pytest.raises(LedgerUnavailable):
                await committer.submit(Delivery(make_credit("c-2"), "msg-2", RECEIVED_AT))
            again = await committer.submit(Delivery(make_credit("c-2"), "msg-2", RECEIVED_AT))
        receipts = await _receipts(engine)
        report = await ledger.verify_chain()
    finally:
        await engine.dispose()

    assert (first.kind, again.kind) == (OutcomeKind.APPENDED, OutcomeKind.APPENDED)
    assert receipts == [("msg-1", "c-1", "appended", None), ("msg-2", "c-2", "appended", None)]
    assert (report.intact, report.entries_checked) == (True, 2)
