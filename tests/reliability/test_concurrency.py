"""Concurrency: many writers in several processes append to one ledger at once, each on its own
connection to PostgreSQL, as several hub processes would. The chain comes out gapless and intact,
every append is an entry, and every balance equals the sum of its entries."""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from pathlib import Path

from sqlalchemy import text

from gateway.database import create_engine
from ledger.service import Ledger
from ledger.store import SqlLedgerStore

from .appender import RULES_2021
from .cluster import ThrowawayCluster
from .conftest import Scenario
from .stage import migrated_schema
from .test_database_faults import database_on

APPENDER = Path(__file__).with_name("appender.py")


async def _appenders(database_url: str, processes: int, writers_each: int, appends: int) -> Counter[str]:
    started = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            str(APPENDER),
            database_url,
            str(process),
            str(writers_each),
            str(appends),
            stdout=asyncio.subprocess.PIPE,
        )
        for process in range(processes)
    ]
    outcomes: Counter[str] = Counter()
    for child in started:
        output, _ = await child.communicate()
        assert child.returncode == 0
        outcomes.update(json.loads(output))
    return outcomes


async def test_writers_in_several_processes_make_one_gapless_intact_chain(
    throwaway_cluster: ThrowawayCluster,
    scenario: Scenario,
) -> None:
    database_url = await database_on(throwaway_cluster)
    await migrated_schema(database_url)
    scenario.evidence.keep_database(database_url)
    sizes = scenario.sizes
    writers_each = sizes.writers // sizes.writer_processes
    outcomes = await _appenders(database_url, sizes.writer_processes, writers_each, sizes.appends_per_writer)

    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            seqs = (await connection.execute(text("SELECT seq FROM ledger_entry ORDER BY seq"))).scalars().all()
        ledger = Ledger(SqlLedgerStore(engine), {2021: RULES_2021})
        report = await ledger.verify_chain()
        mismatches = await ledger.balance_mismatches()
    finally:
        await engine.dispose()

    total = sizes.writer_processes * writers_each * sizes.appends_per_writer
    scenario.record_figures(
        "appenders",
        "Concurrency: writers in several processes appending at once (PostgreSQL)",
        {
            "processes": sizes.writer_processes,
            "writers": sizes.writer_processes * writers_each,
            "appends": total,
            "entries": len(seqs),
            "gaps in the chain": total - len(set(seqs)),
            "balances off": len(mismatches),
        },
    )
    assert outcomes == Counter(appended=total)
    assert seqs == list(range(1, total + 1))
    assert (report.intact, report.entries_checked) == (True, total)
    assert mismatches == []
