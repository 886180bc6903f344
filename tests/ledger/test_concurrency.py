"""Concurrent appenders on PostgreSQL, each on its own connection, as several hub processes would be."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from gateway.database import create_engine
from ledger.model import OutcomeKind
from ledger.service import Ledger
from ledger.store import SqlLedgerStore

from .conftest import RULES_2021, MakeCredit

WRITERS = 8
APPENDS_PER_WRITER = 25


async def test_concurrent_writers_produce_a_gapless_intact_chain(
    postgresql_database_url: str, make_credit: MakeCredit
) -> None:
    engines = [create_engine(postgresql_database_url) for _ in range(WRITERS)]
    ledgers = [Ledger(SqlLedgerStore(engine), {2021: RULES_2021}) for engine in engines]

    async def write(writer: int) -> list[OutcomeKind]:
        outcomes = []
        for number in range(APPENDS_PER_WRITER):
            outcome = await ledgers[writer].record(make_credit(f"w{writer}-{number}", person_id=f"person-{writer}"))
            outcomes.append(outcome.kind)
        return outcomes

    try:
        results = await asyncio.gather(*(write(writer) for writer in range(WRITERS)))
        async with engines[0].connect() as connection:
            seqs = (await connection.execute(text("SELECT seq FROM ledger_entry ORDER BY seq"))).scalars().all()
        report = await ledgers[0].verify_chain()
        mismatches = await ledgers[0].balance_mismatches()
    finally:
        await asyncio.gather(*(engine.dispose() for engine in engines))

    assert all(kind is OutcomeKind.APPENDED for outcomes in results for kind in outcomes)
    assert seqs == list(range(1, WRITERS * APPENDS_PER_WRITER + 1))
    assert (report.intact, report.entries_checked) == (True, WRITERS * APPENDS_PER_WRITER)
    assert mismatches == []


async def test_concurrent_deliveries_of_one_record_make_one_entry(
    postgresql_database_url: str, make_credit: MakeCredit
) -> None:
    engines = [create_engine(postgresql_database_url) for _ in range(WRITERS)]
    try:
        outcomes = await asyncio.gather(
            *(Ledger(SqlLedgerStore(engine), {2021: RULES_2021}).record(make_credit()) for engine in engines)
        )
        report = await Ledger(SqlLedgerStore(engines[0]), {2021: RULES_2021}).verify_chain()
    finally:
        await asyncio.gather(*(engine.dispose() for engine in engines))

    kinds = sorted(outcome.kind for outcome in outcomes)
    assert kinds == [OutcomeKind.APPENDED] + [OutcomeKind.DUPLICATE] * (WRITERS - 1)
    assert report.entries_checked == 1
