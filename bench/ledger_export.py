"""Auditor exports: rows per second and peak memory through the hub's own code (chain verified as
read, people labelled, rows encoded, digest taken), against PostgreSQL's own ``COPY … TO STDOUT`` of
the same rows in the same run, at two ledger sizes, on PostgreSQL. Memory must stay flat between them.

    python -m bench.ledger_export [--sizes 100000 1000000]

The ledger is seeded by COPY with entries chained and hashed as the ledger would append them.

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
from ledger.model import (
    GENESIS_HASH,
    Entry,
    EntryKind,
    Hours,
    PersonId,
    SequenceNumber,
    Source,
    Subject,
    YearRules,
    sealed,
)
from ledger.service import Ledger
from ledger.store import SqlLedgerStore, _entry_values
from sso.handoff import Handoff, HandoffConfig, SqlHandoffStore
from sso.people.service import PeopleService
from sso.units.service import OrganisationService

RULES = {2021: YearRules(2021, Hours(9000), Hours(3000), Hours(6000), Hours(750))}
START = datetime(2021, 1, 1, tzinfo=UTC)
SEED_ROWS_PER_COPY = 50_000
PAGE = 1000


def _entries(first: int, last: int, prev_hash: str) -> list[Entry]:
    """Entries ``first`` to ``last`` of the chain, each sealed after the one before it."""
    entries = []
    recorded_at = datetime.now(UTC)
    for number in range(first, last + 1):
        digest = hashlib.sha256(str(number).encode()).hexdigest()
        entry = sealed(
            Entry(
                seq=SequenceNumber(number),
                kind=EntryKind.CREDIT,
                person_id=PersonId(f"{number % 997:032x}"),
                year=2021,
                subject=Subject.PROFESSIONAL if number % 3 else Subject.PUBLIC,
                hours=Hours(250),
                source=Source.WEBTRN,
                record_id=f"r-{number}",
                course_code=f"C{number % 50}",
                course_title="临床合理用药",
                completed_at=START + timedelta(minutes=number % 500_000),
                recorded_at=recorded_at,
                actor="vendor:webtrn",
                payload_hash=digest,
                content_hash=digest,
                reverses_seq=None,
                reason=None,
                prev_hash=prev_hash,
                hash="",
            )
        )
        entries.append(entry)
        prev_hash = entry.hash
    return entries


async def _grow(url: str, first: int, last: int, prev_hash: str) -> str:
    """Append entries ``first`` to ``last`` by COPY; the hash of the last."""
    connection = await connect(url)
    try:
        for start in range(first, last + 1, SEED_ROWS_PER_COPY):
            entries = _entries(start, min(start + SEED_ROWS_PER_COPY - 1, last), prev_hash)
            rows = [tuple(_entry_values(entry).values()) for entry in entries]
            await connection.copy_records_to_table(
                "ledger_entry", records=rows, columns=list(_entry_values(entries[0]))
            )
            prev_hash = entries[-1].hash
    finally:
        await connection.close()
    return prev_hash


def _exports(engine: AsyncEngine, ledger: Ledger, key_file: Path) -> Exports:
    keyring = load_keyring(key_file)
    people = PeopleService(engine, keyring, OrganisationService(engine))
    handoff = Handoff(SqlHandoffStore(engine), keyring, HandoffConfig("http://127.0.0.1:8080", {}, 86400))
    return Exports(ledger, SqlExportStore(engine), PeopleLabels(people), handoff)


async def _copy_out(url: str) -> int:
    """The baseline: PostgreSQL's own ``COPY … TO STDOUT`` of every entry, in order, into nothing."""
    connection = await connect(url)
    lines = 0

    async def sink(chunk: bytes) -> None:
        nonlocal lines
        lines += chunk.count(b"\n")

    try:
        await connection.copy_from_query("SELECT * FROM ledger_entry ORDER BY seq", output=sink, format="csv")
    finally:
        await connection.close()
    return lines


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
    results, grown, head_hash = [], 0, GENESIS_HASH
    try:
        for size in sizes:
            head_hash = await _grow(url, grown + 1, size, head_hash)
            grown = size
            base_rows, base_seconds = await _timed(lambda: _copy_out(url))
            rows, seconds = await _timed(lambda: _export(exports))
            peak = await _peak_bytes(lambda: _export(exports))
            assert rows == base_rows == size, (rows, base_rows, size)
            results.append({"size": size, "copy": base_rows / base_seconds, "export": rows / seconds, "peak": peak})
    finally:
        await engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[100_000, 1_000_000])
    arguments = parser.parse_args()
    with scratch_database() as url, tempfile.TemporaryDirectory() as directory:
        key_file = Path(directory) / "data.key"
        ensure_keyring(key_file)
        results = asyncio.run(_measure(url, key_file, sorted(arguments.sizes)))
    print("auditor export on PostgreSQL (ratio = export / COPY TO STDOUT of the same rows, same run)")
    for result in results:
        print(
            f"  {result['size']:>9,} entries   export {result['export']:8.0f} rows/s"
            f"   COPY TO STDOUT {result['copy']:8.0f}"
            f" rows/s   ratio {result['export'] / result['copy']:.2f}   peak memory {result['peak'] / 2**20:6.1f} MiB"
        )
    small, large = results
    growth = large["size"] / small["size"]
    print(f"  peak memory at {growth:.0f}x the entries: {large['peak'] / small['peak']:.2f}x (flat is 1.00)")


if __name__ == "__main__":
    main()
