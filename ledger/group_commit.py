"""Group commit: deliveries that arrive while a transaction is in flight share the next one.

A webhook may be answered 2xx only once its event is durable, and one commit per event caps a
hub at a few hundred events a second. Here every caller waits for the commit that includes its
delivery; while one transaction runs, new deliveries queue, and the next transaction takes them
all (up to a batch limit). No caller is answered before its delivery is committed, and a crash
loses only deliveries that no caller was told were stored.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from ledger.errors import LedgerUnavailable
from ledger.model import Delivery, Outcome
from ledger.service import COMMANDS_PER_BATCH_MAX, Ledger

QUEUED_DELIVERIES_MAX = 10_000
LINGER_SECONDS = 0.002


@dataclass(slots=True)
class _Waiting:
    delivery: Delivery
    answer: asyncio.Future[Outcome]


class GroupCommitter:
    """Records deliveries through ``Ledger.receive`` in shared transactions."""

    def __init__(self, ledger: Ledger, *, batch_size_max: int = COMMANDS_PER_BATCH_MAX) -> None:
        self._ledger = ledger
        self._batch_size_max = batch_size_max
        self._queue: asyncio.Queue[_Waiting] = asyncio.Queue(QUEUED_DELIVERIES_MAX)

    async def submit(self, delivery: Delivery) -> Outcome:
        """Record one delivery and return once it is committed.

        Raises ``InvalidCommand`` or ``NoRulesForYear`` for this delivery alone (checked before it
        joins a batch), and ``LedgerUnavailable`` when its batch could not be stored or the queue
        is full.
        """
        self._ledger.check(delivery.command)
        waiting = _Waiting(delivery, asyncio.get_running_loop().create_future())
        try:
            self._queue.put_nowait(waiting)
        except asyncio.QueueFull:
            raise LedgerUnavailable("too many deliveries are waiting to be stored") from None
        return await waiting.answer

    async def run(self) -> None:
        """Commit queued deliveries until cancelled, one batch after another on one connection."""
        async with self._ledger.holding_connection() as ledger:
            while True:
                quiet = self._queue.empty()
                batch = [await self._queue.get()]
                if quiet:
                    await self._let_arrivals_queue()
                while len(batch) < self._batch_size_max and not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                await self._commit(ledger, batch)

    async def _let_arrivals_queue(self) -> None:
        """After a quiet spell, give requests already being handled a moment to join the batch:
        without it, the batches alternate between one delivery and all the others. Deliveries that
        queued while a commit ran have waited a commit already, and their batch begins at once
        (under load, lingering each time cost a tenth of the rate: ``bench.webhook_ingestion``)."""
        await asyncio.sleep(LINGER_SECONDS)

    async def _commit(self, ledger: Ledger, batch: list[_Waiting]) -> None:
        try:
            outcomes = await ledger.receive([waiting.delivery for waiting in batch])
        except asyncio.CancelledError:
            _fail(batch, LedgerUnavailable("the hub is shutting down"))
            raise
        # Whatever stopped this batch (the database is down, or a bug) is every waiter's answer:
        # none of them was stored, and the committer goes on with the next batch.
        except Exception as error:
            _fail(batch, error)
            return
        for waiting, outcome in zip(batch, outcomes, strict=True):
            if not waiting.answer.done():
                waiting.answer.set_result(outcome)

    def fail_queued(self) -> None:
        """Answer every delivery still queued: it was not stored."""
        while not self._queue.empty():
            _fail([self._queue.get_nowait()], LedgerUnavailable("the hub is shutting down"))


def _fail(batch: list[_Waiting], error: Exception) -> None:
    for waiting in batch:
        if not waiting.answer.done():
            waiting.answer.set_exception(error)


@asynccontextmanager
async def running_group_commit(ledger: Ledger) -> AsyncIterator[GroupCommitter]:
    """A committer whose loop runs until the context closes."""
    committer = GroupCommitter(ledger)
    task = asyncio.create_task(committer.run(), name="ledger-group-commit")
    try:
        yield committer
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        committer.fail_queued()
