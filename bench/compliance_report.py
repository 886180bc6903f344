"""A province-wide compliance report: people per second through the hub's CSV download (rosters read a
page at a time, every year evaluated against the rules, the short people's ID numbers decrypted and
masked, the CSV streamed over HTTP), against a plain read of the same people and balances, a page of 500
at a time as the report reads them, in the same run, at two sizes, on PostgreSQL. Memory must stay flat
between them.

    python -m bench.compliance_report [--sizes 10000 50000]

Peak memory is Python's own allocations during the download, server and client together (tracemalloc),
measured in a second download so that tracing does not slow the timed one.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy import insert

from bench.scratch import connect, scratch_database
from config import load_settings
from gateway.app import create_app
from gateway.bootstrap import Hub, ensure_keyring
from gateway.keys import HUB
from ledger.model import BEIJING, Command, new_credit
from sso.access.model import token_request
from sso.id_numbers import make_id_number
from sso.organisation import load_organisation
from sso.people.tables import PersonRow

ROOT = Path(__file__).parents[1]
SETTINGS = """\
[hub]
base_url = "http://127.0.0.1:8080"
database_url = "{database_url}"
data_key_file = "{directory}/data.key"

[rules.2021]
total_hours = 90
public_hours = 30
professional_hours = 60
hours_per_day = "7.5"
"""
REVIEW_POLL_SECONDS = 0.5
PEOPLE_PER_BATCH = 500
"""Two credits each: the ledger's batch of 1000 commands."""
COMPLETED_AT = datetime(2021, 6, 1, 10, 0, tzinfo=BEIJING)
PERSON = PersonRow.metadata.tables["person"]


async def _grow(hub: Hub, first: int, last: int) -> None:
    """People ``first`` to ``last`` spread over every institution, two credits each; one in three is short."""
    institutions = sorted((await hub.organisation.organisation()).institutions)
    for start in range(first, last + 1, PEOPLE_PER_BATCH):
        rows, commands = [], []
        for number in range(start, min(start + PEOPLE_PER_BATCH, last + 1)):
            person_id = uuid.uuid4().hex
            rows.append(_person_row(hub, person_id, number, institutions[number % len(institutions)]))
            commands += _credits(person_id, number)
        async with hub.engine.begin() as connection:
            await connection.execute(insert(PERSON), rows)
        await hub.ledger.record_batch(commands)


def _person_row(hub: Hub, person_id: str, number: int, unit_code: str) -> dict[str, object]:
    # Written directly, as registration would (the same encryption context), at a benchmark's pace.
    id_number = make_id_number("430102", date(1980, 1, 1), number % 999 + 1, today=date(2021, 12, 1))
    now = datetime.now(UTC)
    return {
        "id": person_id,
        "id_number_index": hashlib.sha256(f"{person_id}".encode()).hexdigest(),
        "id_number_encrypted": hub.keyring.encrypt(id_number, context=f"person.{person_id}.id_number"),
        "phone_encrypted": hub.keyring.encrypt(f"139{number:08d}", context=f"person.{person_id}.phone"),
        "email_encrypted": hub.keyring.encrypt(f"staff{number}@example.cn", context=f"person.{person_id}.email"),
        "password_hash": "-",
        "name": "欧阳娜娜",
        "gender": "女",
        "ethnicity": None,
        "native_place": "湖南长沙",
        "education": "大学本科",
        "major": "临床医学",
        "school": "中南大学",
        "graduated_on": date(2005, 6, 30),
        "unit_code": unit_code,
        "title": "其他",
        "title_since": None,
        "created_at": now,
        "updated_at": now,
        "deactivated_at": None,
    }


def _credits(person_id: str, number: int) -> list[Command]:
    public = "20" if number % 3 == 0 else "30"
    return [
        new_credit(
            person_id=person_id,
            source=source,
            record_id=f"{source}-{number}",
            course_code=f"C{number % 50}",
            course_title="临床合理用药",
            subject=subject,
            hours=hours,
            completed_at=COMPLETED_AT,
            actor=f"vendor:{source}",
            payload_hash=hashlib.sha256(f"{source}-{number}".encode()).hexdigest(),
        )
        for source, subject, hours in (("ischinese", "public", public), ("webtrn", "professional", "60"))
    ]


async def _reviewed(hub: Hub) -> None:
    """Until the hub's certificate reviews have caught up with the people just added: the report is
    measured on its own, not beside the issuing of their certificates."""
    while True:
        if not await hub.ledger.due_evaluations(limit=1):
            return
        await asyncio.sleep(REVIEW_POLL_SECONDS)


async def _plain_read(url: str) -> int:
    """The baseline: every active person's institution, by key a page at a time, and the page's balances."""
    connection = await connect(url)
    people, last = 0, ("", "")
    try:
        while page := await connection.fetch(
            "SELECT unit_code, id FROM person WHERE deactivated_at IS NULL AND (unit_code, id) > ($1, $2)"
            " ORDER BY unit_code, id LIMIT 500",
            *last,
        ):
            await connection.fetch(
                "SELECT person_id, subject, hours FROM ledger_balance WHERE person_id = ANY($1) AND year = 2021",
                [row["id"] for row in page],
            )
            people, last = people + len(page), (page[-1]["unit_code"], page[-1]["id"])
    finally:
        await connection.close()
    return people


async def _download(url: str, token: str) -> int:
    """The report's CSV, read a chunk at a time; returns how many people it counted."""
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
        response.raise_for_status()
        tail = b""
        async for chunk in response.content.iter_chunked(64 * 1024):
            tail = (tail + chunk)[-4096:]
    unit_line = tail.decode("utf-8", errors="replace").strip().splitlines()[-1].split(",")
    return int(unit_line[6])


async def _timed(work: Callable[[], Awaitable[int]]) -> tuple[int, float]:
    started = time.perf_counter()
    people = await work()
    return people, time.perf_counter() - started


async def _peak_bytes(work: Callable[[], Awaitable[int]]) -> int:
    tracemalloc.start()
    try:
        await work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


async def _measure(url: str, settings_file: Path, sizes: list[int]) -> list[dict[str, float]]:
    runner = web.AppRunner(create_app(load_settings(settings_file)))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        hub = runner.app[HUB]
        organisation = load_organisation(ROOT / "config" / "organisation" / "hunan.json")
        await hub.organisation.replace(organisation)
        request = token_request(organisation, role="supervisor", department="430000-personnel")
        token = (await hub.access.tokens.issue(request)).secret
        port = runner.addresses[0][1]
        report = f"http://127.0.0.1:{port}/api/v1/units/430000/compliance?year=2021&format=csv"
        results, grown = [], 0
        for size in sizes:
            await _grow(hub, grown + 1, size)
            grown = size
            await _reviewed(hub)
            base_people, base_seconds = await _timed(lambda: _plain_read(url))
            people, seconds = await _timed(lambda: _download(report, token))
            peak = await _peak_bytes(lambda: _download(report, token))
            assert people == base_people == size, (people, base_people, size)
            results.append(
                {"size": size, "plain": base_people / base_seconds, "report": people / seconds, "peak": peak}
            )
    finally:
        await runner.cleanup()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[10_000, 50_000])
    arguments = parser.parse_args()
    with scratch_database() as url, tempfile.TemporaryDirectory() as directory:
        settings_file = Path(directory) / "hub.toml"
        settings_file.write_text(SETTINGS.format(database_url=url, directory=directory), encoding="utf-8")
        ensure_keyring(Path(directory) / "data.key")
        results = asyncio.run(_measure(url, settings_file, sorted(arguments.sizes)))
    print("province-wide compliance CSV on PostgreSQL (ratio = report / plain streaming read of the same people)")
    for result in results:
        print(
            f"  {result['size']:>9,} people   report {result['report']:8.0f} people/s"
            f"   plain read {result['plain']:8.0f} people/s   ratio {result['report'] / result['plain']:.2f}"
            f"   peak memory {result['peak'] / 2**20:6.1f} MiB"
        )
    small, large = results
    growth = large["size"] / small["size"]
    print(f"  peak memory at {growth:.0f}x the people: {large['peak'] / small['peak']:.2f}x (flat is 1.00)")


if __name__ == "__main__":
    main()
