"""Durable webhook ingestion: ischinese completions through ``hub serve`` (signature checked,
committed before the 2xx) against a bare aiohttp endpoint that answers 202 without work, driven
by the same load generator in the same run, on PostgreSQL.

    python -m bench.webhook_ingestion [--requests 16000] [--concurrency 64 256] [--rounds 4] [--workers 1]

With ``--workers N`` the hub runs ``hub serve --workers N`` and the bare endpoint as many processes.

Both servers run side by side, and the load alternates between them in ``--rounds`` rounds (a share
of the requests each), so that a shared machine's changing speed weighs on both alike; each side's
rate is its requests over its time, summed over the rounds. Each side keeps its connections from
round to round, so that opening them weighs on neither.

Group commit makes the hub's rate grow with the number of senders waiting at once (each commit
takes all of them), so it is measured at more than one concurrency.

Both servers run as processes of their own on 127.0.0.1; the load comes from this process. Each
side gets a few seconds in all, so that what only start-up does (each ``sub`` looked up once, the
first batches) weighs little on the rate.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import aiohttp
from standardwebhooks import Webhook

from bench.load import LoadReport, Request, client, drive
from bench.scratch import connect, scratch_database
from config import load_settings
from gateway.bootstrap import ensure_keyring, open_hub
from sso.handoff import Vendor
from sso.id_numbers import make_id_number
from sso.organisation import load_organisation

ROOT = Path(__file__).parents[1]
SECRET = "whsec_" + base64.b64encode(b"the benchmark's webhook secret!").decode()
PEOPLE = 20
TIME_LIMIT_SECONDS = 60
SETTINGS = """\
[hub]
base_url = "http://127.0.0.1:{port}"
database_url = "{database_url}"
data_key_file = "{directory}/data.key"

[vendors.ischinese]
name = "思想天下"
jwt_alg = "EdDSA"
launch_url = "http://127.0.0.1:9/sso/launch"
webhook_secrets = ["{secret}"]
api_base = "http://127.0.0.1:9/api"
api_key = "bench"

[rules.2021]
total_hours = 90
public_hours = 30
professional_hours = 60
hours_per_day = "7.5"
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _seed_people(settings_file: Path) -> list[str]:
    """Registered people and the ``sub`` ischinese knows each by."""
    settings = load_settings(settings_file)
    async with open_hub(settings) as hub:
        await hub.organisation.replace(load_organisation(ROOT / "config" / "organisation" / "hunan.json"))
        subjects = []
        for number in range(PEOPLE):
            person_id = await hub.people.register(
                {
                    "name": "王芳",
                    "password": "bench4password",
                    "id_number": make_id_number("430102", date(1985, 1, 1), number + 1),
                    "gender": "女",
                    "phone": f"139{number:08d}",
                    "email": f"bench{number}@example.cn",
                    "native_place": "湖南长沙",
                    "education": "大学本科",
                    "major": "临床医学",
                    "school": "中南大学",
                    "graduated_on": "2010-06-30",
                    "unit_code": "430100-0001",
                    "title": "其他",
                }
            )
            subjects.append(str(await hub.handoff.subject_for(person_id, Vendor.ISCHINESE)))
        return subjects


def _requests(subjects: list[str], count: int, run: str) -> list[Request]:
    """Signed completions, each a new record; signed now, so that none is stale when sent."""
    webhook = Webhook(SECRET)
    now = datetime.now(UTC)
    requests = []
    for number in range(count):
        message_id = f"{run}-{number}"
        body = json.dumps(
            {
                "type": "completion.created",
                "timestamp": "2021-06-01T10:00:00+08:00",
                "data": {
                    "completion_id": message_id,
                    "sub": subjects[number % len(subjects)],
                    "course": {
                        "id": f"C{number % 50}",
                        "title": "临床合理用药",
                        "subject": "professional",
                        "hours": "0.5",
                    },
                    "completed_at": "2021-06-01T09:58:12+08:00",
                },
            },
            ensure_ascii=False,
        )
        headers = {
            "Content-Type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": webhook.sign(message_id, now, body),
        }
        requests.append(Request("/webhooks/ischinese", headers, body.encode()))
    return requests


@contextmanager
def _server(command: list[str], port: int, processes: int) -> Iterator[None]:
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603  (our own programs)
    try:
        asyncio.run(_wait_until_listening(port, processes))
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)


async def _wait_until_listening(port: int, processes: int) -> None:
    """Until every serving process listens: the load's connections, kept alive, are spread between
    the processes listening when they are opened."""
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if _listening_sockets(port) >= processes:
                try:
                    async with session.get(f"http://127.0.0.1:{port}/healthz") as _answer:
                        return
                except aiohttp.ClientConnectionError:
                    pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"not {processes} processes listen on port {port}")


def _listening_sockets(port: int) -> int:
    """The IPv4 sockets listening on ``port`` (one per process sharing it with ``SO_REUSEPORT``)."""
    lines = Path("/proc/net/tcp").read_text(encoding="ascii").splitlines()[1:]
    fields = [line.split() for line in lines]
    return sum(1 for field in fields if field[1].endswith(f":{port:04X}") and field[3] == "0A")


async def _alternate(
    ports: dict[str, int], subjects: list[str], concurrency: int, rounds: int, share: int
) -> dict[str, LoadReport]:
    """Each side's load in ``rounds`` turns, each side keeping its connections from turn to turn."""
    runs: dict[str, list[LoadReport]] = {side: [] for side in ports}
    async with client(concurrency) as bare_client, client(concurrency) as hub_client:
        clients = {"bare": bare_client, "hub": hub_client}
        for number in range(rounds):
            for side, port in ports.items():
                # Signed just before they are sent, so that none is stale.
                requests = _requests(subjects, share, f"{side}{concurrency}-{number}")
                runs[side].append(
                    await drive(
                        clients[side],
                        f"http://127.0.0.1:{port}",
                        requests,
                        concurrency=concurrency,
                        time_limit_seconds=TIME_LIMIT_SECONDS,
                    )
                )
    return {side: LoadReport.combined(reports) for side, reports in runs.items()}


async def _stored_entries(database_url: str) -> int:
    connection = await connect(database_url)
    try:
        return int(await connection.fetchval("SELECT count(*) FROM ledger_entry"))
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=16000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--rounds", type=int, default=4, help="rounds in which the load alternates between them")
    parser.add_argument("--workers", type=int, default=1, help="serving processes of the hub and of the bare endpoint")
    arguments = parser.parse_args()
    share = arguments.requests // arguments.rounds if arguments.rounds > 0 else 0
    if share < 1:
        parser.error("--rounds must be at least 1 and at most --requests")
    with scratch_database() as database_url, tempfile.TemporaryDirectory() as directory:
        hub_port, bare_port = _free_port(), _free_port()
        settings_file = Path(directory) / "hub.toml"
        settings_file.write_text(
            SETTINGS.format(port=hub_port, database_url=database_url, directory=directory, secret=SECRET),
            encoding="utf-8",
        )
        ensure_keyring(Path(directory) / "data.key")
        subjects = asyncio.run(_seed_people(settings_file))
        hub = Path(sys.executable).parent / "hub"
        serve = [str(hub), "serve", "--no-scheduler", "--port", str(hub_port), "--config", str(settings_file)]
        serve += ["--workers", str(arguments.workers)]
        bare_endpoint = [sys.executable, "-m", "bench.bare_endpoint", str(bare_port), str(arguments.workers)]
        reports = []
        for concurrency in arguments.concurrency:
            with _server(bare_endpoint, bare_port, arguments.workers), _server(serve, hub_port, arguments.workers):
                ports = {"bare": bare_port, "hub": hub_port}
                measured = asyncio.run(_alternate(ports, subjects, concurrency, arguments.rounds, share))
            reports.append((concurrency, measured["bare"], measured["hub"]))
        stored = asyncio.run(_stored_entries(database_url))
    print(
        f"webhook ingestion on PostgreSQL, {arguments.workers} serving process(es) each, {arguments.rounds}"
        f" alternating rounds of {share} requests a side (ratio = hub / bare, same run; goal >= 0.50)"
    )
    for concurrency, bare, hub_report in reports:
        print(f"  {concurrency} concurrent senders")
        for label, report in (("bare 202", bare), ("hub durable", hub_report)):
            print(
                f"    {label:<12} {report.per_second:8.0f} req/s   p50 {report.percentile_milliseconds(50):6.1f} ms"
                f"   p99 {report.percentile_milliseconds(99):6.1f} ms   errors {report.errors}"
            )
        print(f"    ratio {hub_report.per_second / bare.per_second:.2f}")
    answered = sum(hub_report.requests - hub_report.errors for _concurrency, _bare, hub_report in reports)
    print(f"  entries committed {stored} of {answered} answered 2xx")


if __name__ == "__main__":
    main()
