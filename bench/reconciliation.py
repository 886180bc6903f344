"""Reconciliation of ischinese's listing with a ledger that holds every record, on PostgreSQL, at two
sizes: records compared per second and the peak memory of the process that compares them, against
a baseline in the same run that only streams the same rows (the listing's pages read and parsed, the
ledger's rows read in pages of sequence numbers), compares nothing and records nothing.

    python -m bench.reconciliation [--sizes 100000 1000000]

The listing is generated page by page as the hub asks for it (an ``httpx.MockTransport``), so the
vendor's side costs no memory of its own; everything from the HTTP answer on is the hub's code: the
listing client, the adapter's parsing and translation, the staging of record ids, the ledger's side
looked up by record id and walked in pages, the comparison and the discrepancies' bookkeeping. Each
measurement runs in a process of its own, whose peak resident size (``VmHWM``) is its memory.
Memory is flat when the peak at the larger size is about the peak at the smaller one.

Needs the machine's PostgreSQL (``bench.scratch``); it creates a database per size, seeded through
COPY, and drops it at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx

from adapters.ischinese.listing import PER_PAGE, ListingClient
from adapters.ischinese.records import IschineseRecords
from bench.scratch import connect, scratch_database
from gateway.database import create_engine
from ledger.model import Hours, PersonId, Source, YearRules
from ledger.reconciliation.model import RunRequest, RunStatus, Scope
from ledger.reconciliation.service import Reconciliations
from ledger.reconciliation.store import SqlReconciliationStore
from ledger.service import Ledger
from ledger.store import SqlLedgerStore

API_BASE = "https://ischinese.bench"
PEOPLE = 997
RULES = {2021: YearRules(2021, Hours(9000), Hours(3000), Hours(6000), Hours(750))}
START = datetime(2021, 1, 1, 8, tzinfo=UTC)
SEED_ROWS_PER_COPY = 50_000
LEDGER_ROWS_PER_READ = 500
COLUMNS = (
    "seq", "kind", "person_id", "year", "subject", "hours", "source", "record_id", "course_code", "course_title",
    "completed_at", "recorded_at", "actor", "payload_hash", "content_hash", "reverses_seq", "reason", "prev_hash",
    "hash",
)  # fmt: skip
DIGEST = "0" * 64


def _completed_at(number: int) -> datetime:
    return START + timedelta(seconds=number * 7)


def _item(number: int) -> dict[str, object]:
    """Record ``number`` as ischinese lists it."""
    return {
        "completion_id": f"c-{number:08d}",
        "sub": f"sub-{number % PEOPLE}",
        "course": {"id": f"C{number % 50}", "title": "临床合理用药", "subject": "professional", "hours": "2.5"},
        "completed_at": _completed_at(number).isoformat(),
        "status": "active",
    }


def _row(number: int, recorded_at: datetime) -> tuple[object, ...]:
    """Record ``number`` as the ledger holds it: the same content, credited once."""
    return (
        number + 1, "credit", f"person-{number % PEOPLE}", 2021, "professional", 250, "ischinese", f"c-{number:08d}",
        f"C{number % 50}", "临床合理用药", _completed_at(number), recorded_at, "vendor:ischinese", DIGEST, DIGEST,
        None, None, DIGEST, DIGEST,
    )  # fmt: skip


def _listing(records: int) -> httpx.MockTransport:
    """ischinese's listing of ``records`` records of 2021, each page made when it is asked for."""
    total_pages = max(1, math.ceil(records / PER_PAGE))

    def answer(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        first = (page - 1) * PER_PAGE
        items = [_item(number) for number in range(first, min(records, first + PER_PAGE))]
        return httpx.Response(200, json={"data": items, "page": page, "total_pages": total_pages})

    return httpx.MockTransport(answer)


class _Directory:
    """Every learner of the listing is known: ``sub-N`` is ``person-N``."""

    async def person_for_subject(self, _vendor: str, subject: str) -> PersonId | None:
        return PersonId("person-" + subject.removeprefix("sub-"))

    async def person_for_id_number(self, _id_number: str) -> PersonId | None:
        return None

    async def link_account(self, _vendor: str, _subject: str, _account_id: str) -> bool:
        return False


# ---------------------------------------------------------------- the two measured processes


async def _reconcile(url: str, records: int) -> int:
    engine = create_engine(url)
    ledger = Ledger(SqlLedgerStore(engine), RULES)
    async with httpx.AsyncClient(transport=_listing(records)) as http:
        reader = IschineseRecords(ListingClient(http, api_base=API_BASE, api_key="bench"), _Directory())
        service = Reconciliations(SqlReconciliationStore(engine), ledger, {Source.ISCHINESE: reader})
        run = await service.run(RunRequest(Source.ISCHINESE, Scope.of_year(2021)), "bench")
    await engine.dispose()
    if run.status is not RunStatus.SUCCEEDED or run.counts.discrepancies:
        raise RuntimeError(f"the run did not agree with the ledger: {run}")
    return run.counts.compared


async def _stream(url: str, records: int) -> int:
    """The baseline: the same pages read and parsed, and the same ledger rows read, side by side."""
    connection = await connect(url)
    seen, after = 0, 0
    async with httpx.AsyncClient(transport=_listing(records)) as http:
        for page in range(1, max(1, math.ceil(records / PER_PAGE)) + 1):
            answer = await http.get(f"{API_BASE}/api/v2/completions", params={"year": "2021", "page": str(page)})
            seen += len(json.loads(answer.content)["data"])
            rows = await connection.fetch(
                "SELECT * FROM ledger_entry WHERE seq > $1 ORDER BY seq LIMIT $2", after, LEDGER_ROWS_PER_READ
            )
            after = rows[-1]["seq"] if rows else after
    await connection.close()
    return seen


def _child(kind: str, url: str, records: int) -> None:
    work = _reconcile if kind == "reconcile" else _stream
    before = _resident_kib("VmRSS")
    started = time.perf_counter()
    compared = asyncio.run(work(url, records))
    seconds = time.perf_counter() - started
    peak = _resident_kib("VmHWM")
    print(json.dumps({"records": compared, "seconds": seconds, "peak_kib": peak, "working_kib": peak - before}))


def _resident_kib(field: str) -> int:
    """This process's resident size now (``VmRSS``) or at its peak since it started (``VmHWM``).
    Not ``ru_maxrss``: Linux carries a parent's peak over into its child across ``exec``, and the
    parent here seeded the rows."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status: this benchmark measures memory on Linux")


def _measure(kind: str, url: str, records: int) -> dict[str, float]:
    command = [sys.executable, "-m", "bench.reconciliation", "--child", kind, "--url", url, "--records", str(records)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603  (this very module)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# ---------------------------------------------------------------- seeding and the run


def _batches(records: int) -> Iterator[range]:
    for start in range(0, records, SEED_ROWS_PER_COPY):
        yield range(start, min(records, start + SEED_ROWS_PER_COPY))


async def _seed(url: str, records: int) -> None:
    connection = await connect(url)
    recorded_at = datetime.now(UTC)
    try:
        for batch in _batches(records):
            rows = [_row(number, recorded_at) for number in batch]
            await connection.copy_records_to_table("ledger_entry", records=rows, columns=COLUMNS)
        await connection.execute("ANALYZE ledger_entry")
    finally:
        await connection.close()


def measure_size(records: int) -> tuple[dict[str, float], dict[str, float]]:
    """The reconciliation's and the baseline's figures at one size, on a database of its own."""
    with scratch_database() as url:
        asyncio.run(_seed(url, records))
        baseline = _measure("stream", url, records)
        reconciled = _measure("reconcile", url, records)
    return reconciled, baseline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--child", choices=["reconcile", "stream"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--records", type=int, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child is not None:
        _child(arguments.child, arguments.url, arguments.records)
        return
    figures = [(size, *measure_size(size)) for size in arguments.sizes]
    print("reconciliation of ischinese's listing on PostgreSQL (ratio = reconciliation / plain stream, same run)")
    print("  (peak: the process's peak resident size; working: its growth over the size after imports)")
    for size, reconciled, baseline in figures:
        rate, base_rate = reconciled["records"] / reconciled["seconds"], baseline["records"] / baseline["seconds"]
        peak, base_peak = reconciled["peak_kib"] / 1024, baseline["peak_kib"] / 1024
        print(
            f"  {size:>9,} records  reconcile {rate:6.0f} rec/s, peak {peak:5.1f} MiB "
            f"(working {reconciled['working_kib'] / 1024:4.1f})   "
            f"stream {base_rate:6.0f} rec/s, peak {base_peak:5.1f} MiB (working {baseline['working_kib'] / 1024:4.1f})"
            f"   ratio speed {rate / base_rate:.2f}, memory {peak / base_peak:.2f}"
        )
    if len(figures) > 1:
        (small, first, _), (large, last, _) = figures[0], figures[-1]
        growth = last["peak_kib"] / first["peak_kib"]
        print(f"  reconciliation's peak at {large:,} / at {small:,}: {growth:.2f} (flat: about 1, whatever the size)")


if __name__ == "__main__":
    main()
