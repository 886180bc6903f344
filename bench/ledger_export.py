"""Auditor exports: rows per second and peak memory through the hub's own code (chain verified as
read, people labelled, rows encoded, digest taken), against a plain streaming read of the same
entries in the same run, at two ledger sizes, on PostgreSQL. Memory must stay flat between them.

    python -m bench.ledger_export [--sizes 50000 250000]

Peak memory is Python's own allocations during the export (tracemalloc), measured in a second pass
so that tracing does not slow the timed one.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from bench.scratch import connect, scratch_database
from gateway.bootstrap import ensure_keyring, load_keyring
from gateway.database import create_engine
from gateway.labels import PeopleLabels
from ledger.exports.model import ExportFormat
from ledger.exports.service import ExportRequest, Exports
from ledger.exports.store import SqlExportStore
from ledger.model import Credit, Hours, YearRules, new_credit
from ledger.service import Ledger
from ledger.store import SqlLedgerStore
from sso.handoff import Handoff, HandoffConfig, SqlHandoffStore
from sso.people.service import PeopleService
from sso.units.service import OrganisationService

RULES = {2021: YearRules(2021, Hours(9000), Hours(3000), Hours(6000), Hours(750))}
START = datetime(2021, 1, 1, tzinfo=UTC)
BATCH = 1000
PAGE = 1000


def _credit(number: int) -> Credit:
    return new_credit(
        person_id=f"{number % 997:032x}",
        source="webtrn",
        record_id=f"r-{number}",
        course_code=f"C{number % 50}",
        course_title="临床合理用药",
        subject="professional" if number % 3 else "public",
        hours="2.5",
        completed_at=START + timedelta(minutes=number % 500_000),
        actor="vendor:webtrn",
        payload_hash=hashlib.sha256(str(number).encode()).hexdigest(),
    )


async def _grow(ledger: Ledger, first: int, last: int) -> None:
    for start in range(first, last + 1, BATCH):
        await ledger.record_batch([_credit(number) for number in range(start, min(start + BATCH, last + 1))])


def _exports(engine: AsyncEngine, ledger: Ledger, key_file: Path) -> Exports:
    keyring = load_keyring(key_file)
    people = PeopleService(engine, keyring, OrganisationService(engine))
    handoff = Handoff(SqlHandoffStore(engine), keyring, HandoffConfig("http://127.0.0.1:8080", {}, 86400))
    return Exports(ledger, SqlExportStore(engine), PeopleLabels(people), handoff)


async def _plain_read(url: str) -> int:
    """The baseline: every entry's row, streamed in pages by key, nothing else done with it."""
    connection = await connect(url)
    rows, last = 0, 0
    try:
        while page := await connection.fetch(
            "SELECT * FROM ledger_entry WHERE seq > $1 ORDER BY seq LIMIT $2", last, PAGE
        ):
            rows, last = rows + len(page), page[-1]["seq"]
    finally:
        await connection.close()
    return rows


async def _export(exports: Exports) -> int:
    run = await exports.begin(ExportRequest(2021, ExportFormat.CSV, "bench"))
    written = 0
    async for chunk in run.chunks():
        written += len(chunk)
    return run.rows


async def _timed(work: Callable[[], Awaitable[int]]) -> tuple[int, float]:
    started = time.perf_counter()
    rows = await work()
    return rows, time.perf_counter() - started


async def _peak_bytes(work: Callable[[], Awaitable[int]]) -> int:
    tracemalloc.start()
    try:
        await work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


async def _measure(url: str, key_file: Path, sizes: list[int]) -> list[dict[str, float]]:
    engine = create_engine(url)
    ledger = Ledger(SqlLedgerStore(engine), RULES)
    exports = _exports(engine, ledger, key_file)
    results, grown = [], 0
    try:
        for size in sizes:
            await _grow(ledger, grown + 1, size)
            grown = size
            base_rows, base_seconds = await _timed(lambda: _plain_read(url))
            rows, seconds = await _timed(lambda: _export(exports))
            peak = await _peak_bytes(lambda: _export(exports))
            assert rows == base_rows == size, (rows, base_rows, size)
            results.append({"size": size, "plain": base_rows / base_seconds, "export": rows / seconds, "peak": peak})
    finally:
        await engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[50_000, 250_000])
    arguments = parser.parse_args()
    with scratch_database() as url, tempfile.TemporaryDirectory() as directory:
        key_file = Path(directory) / "data.key"
        ensure_keyring(key_file)
        results = asyncio.run(_measure(url, key_file, sorted(arguments.sizes)))
    print("auditor export on PostgreSQL (ratio = export / plain streaming read of the same rows, same run)")
    for result in results:
        print(
            f"  {result['size']:>9,} entries   export {result['export']:8.0f} rows/s"
            f"   plain read {result['plain']:8.0f}"
            f" rows/s   ratio {result['export'] / result['plain']:.2f}   peak memory {result['peak'] / 2**20:6.1f} MiB"
        )
    small, large = results
    growth = large["size"] / small["size"]
    print(f"  peak memory at {growth:.0f}x the entries: {large['peak'] / small['peak']:.2f}x (flat is 1.00)")


if __name__ == "__main__":
    main()
