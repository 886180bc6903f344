"""Ledger appends per second through the hub's own code, against raw asyncpg inserting the same
row shape into a copy of the table, in the same run, on PostgreSQL: single appends and batches.

    python -m bench.ledger_append [--singles 400] [--batches 10] [--batch-size 500]

Needs the machine's PostgreSQL (``HUB_BENCH_POSTGRESQL_URL``, default 127.0.0.1:5432, database
``test``); it creates a database of its own and drops it at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from bench.scratch import connect, scratch_database
from gateway.database import create_engine
from ledger.model import Credit, Hours, YearRules, new_credit
from ledger.service import Ledger
from ledger.store import SqlLedgerStore

RULES = {2021: YearRules(2021, Hours(9000), Hours(3000), Hours(6000), Hours(750))}
COLUMNS = (
    "seq, kind, person_id, year, subject, hours, source, record_id, course_code, course_title, completed_at, "
    "recorded_at, actor, payload_hash, content_hash, reverses_seq, reason, prev_hash, hash"
)
RAW_INSERT = f"INSERT INTO bench_raw ({COLUMNS}) VALUES ({', '.join(f'${n}' for n in range(1, 20))})"  # noqa: S608  (constant text)
START = datetime(2021, 1, 1, tzinfo=UTC)


def _credit(number: int) -> Credit:
    return new_credit(
        person_id=f"person-{number % 997}",
        source="webtrn",
        record_id=f"r-{number}",
        course_code=f"C{number % 50}",
        course_title="临床合理用药",
        subject="professional" if number % 3 else "public",
        hours="2.5",
        completed_at=START + timedelta(minutes=number),
        actor="vendor:webtrn",
        payload_hash=hashlib.sha256(str(number).encode()).hexdigest(),
    )


def _raw_row(number: int) -> tuple[object, ...]:
    digest = hashlib.sha256(str(number).encode()).hexdigest()
    return (
        number, "credit", f"person-{number % 997}", 2021, "professional", 250, "webtrn", f"r-{number}",
        f"C{number % 50}", "临床合理用药", START + timedelta(minutes=number), datetime.now(UTC), "vendor:webtrn",
        digest, digest, None, None, digest, digest,
    )  # fmt: skip


async def _timed(work: Callable[[], Awaitable[None]]) -> float:
    started = time.perf_counter()
    await work()
    return time.perf_counter() - started


async def _measure(url: str, singles: int, batches: int, batch_size: int) -> dict[str, float]:
    engine = create_engine(url)
    ledger = Ledger(SqlLedgerStore(engine), RULES)
    raw = await connect(url)
    await raw.execute("CREATE TABLE bench_raw (LIKE ledger_entry INCLUDING ALL)")
    numbers = iter(range(1, 10**9))

    async def hub_singles() -> None:
        for _ in range(singles):
            await ledger.record(_credit(next(numbers)))

    async def raw_singles() -> None:
        for _ in range(singles):
            async with raw.transaction():
                await raw.execute(RAW_INSERT, *_raw_row(next(numbers)))

    async def hub_batches() -> None:
        for _ in range(batches):
            await ledger.record_batch([_credit(next(numbers)) for _ in range(batch_size)])

    async def raw_batches() -> None:
        for _ in range(batches):
            async with raw.transaction():
                await raw.executemany(RAW_INSERT, [_raw_row(next(numbers)) for _ in range(batch_size)])

    try:
        await hub_singles()  # warm both paths before timing
        await raw_singles()
        return {
            "raw_single": singles / await _timed(raw_singles),
            "hub_single": singles / await _timed(hub_singles),
            "raw_batch": batches * batch_size / await _timed(raw_batches),
            "hub_batch": batches * batch_size / await _timed(hub_batches),
        }
    finally:
        await raw.close()
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--singles", type=int, default=400)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=500)
    arguments = parser.parse_args()
    with scratch_database() as url:
        rates = asyncio.run(_measure(url, arguments.singles, arguments.batches, arguments.batch_size))
    print("ledger appends on PostgreSQL, per second (ratio = hub / raw asyncpg, same run)")
    for label, hub, raw in (
        ("single appends", rates["hub_single"], rates["raw_single"]),
        (f"batches of {arguments.batch_size}", rates["hub_batch"], rates["raw_batch"]),
    ):
        print(f"  {label:<16} hub {hub:9.0f}   raw {raw:9.0f}   ratio {hub / raw:.2f}")
    print("  goal: batched appends at least half the raw rate (ratio >= 0.50)")


if __name__ == "__main__":
    main()
