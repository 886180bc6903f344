"""Two real ``hub serve`` processes on one PostgreSQL, both with their schedulers on and webtrn pulled
every 2 seconds: across both, each tick's pull runs once (as the runs recorded in ``job_run`` show),
and a third process started with ``--no-scheduler`` runs no job at all."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from adapters.webtrn.simulator_api import WebtrnApiSimulator
from gateway.bootstrap import ensure_keyring
from gateway.database import create_engine
from gateway.jobs import GRID_ANCHOR
from gateway.tables import JobRunRow

from .conftest import HUB

INTERVAL_SECONDS = 2
WATCHED_SECONDS = 9
CLIENT_SECRET = "webtrn-client-secret-for-tests"
SETTINGS = """
[hub]
base_url = "http://127.0.0.1:8080"
database_url = "{database_url}"
data_key_file = "{directory}/data.key"

[rules.2021]
total_hours = 90
public_hours = 30
professional_hours = 60
hours_per_day = "7.5"

[vendors.webtrn]
name = "网梯"
jwt_alg = "ES256"
launch_url = "{webtrn}/sso/launch"
token_url = "{webtrn}/oauth/token"
api_base = "{webtrn}"
client_id = "hub"
client_secret = "{secret}"
pull_interval_seconds = {interval}
pull_start = 2021-01-01T00:00:00
"""


Serve = Callable[..., Awaitable[asyncio.subprocess.Process]]


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def settings(
    tmp_path: Path, postgresql_database_url: str, aiohttp_server: Callable[[web.Application], Awaitable[TestServer]]
) -> Path:
    simulator = WebtrnApiSimulator(client_id="hub", client_secret=CLIENT_SECRET, page_size_max=3)
    webtrn = str((await aiohttp_server(simulator.app())).make_url("")).rstrip("/")
    path = tmp_path / "hub.toml"
    path.write_text(
        SETTINGS.format(
            database_url=postgresql_database_url,
            directory=tmp_path,
            webtrn=webtrn,
            secret=CLIENT_SECRET,
            interval=INTERVAL_SECONDS,
        ),
        encoding="utf-8",
    )
    ensure_keyring(tmp_path / "data.key")
    return path


@pytest.fixture
async def serving(settings: Path, tmp_path: Path) -> AsyncIterator[Serve]:
    """Start ``hub serve`` processes; each is stopped (SIGTERM) at the end."""
    started: list[asyncio.subprocess.Process] = []
    clean = {key: value for key, value in os.environ.items() if not key.startswith("HUB")}

    async def serve(*options: str) -> asyncio.subprocess.Process:
        port = unused_port()
        process = await asyncio.create_subprocess_exec(
            str(HUB),
            *("serve", "--port", str(port), "--config", str(settings), *options),
            cwd=tmp_path,
            env=clean,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        started.append(process)
        async with httpx.AsyncClient() as http:
            for _attempt in range(200):
                try:
                    if (await http.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                        return process
                except httpx.TransportError:
                    pass
                assert process.returncode is None, "hub serve stopped"
                await asyncio.sleep(0.1)
        pytest.fail("hub serve did not become ready")

    yield serve
    for process in started:
        process.send_signal(signal.SIGTERM)
    for process in started:
        async with asyncio.timeout(30):
            await process.wait()


async def test_two_processes_with_schedulers_pull_once_a_tick_and_one_without_pulls_never(
    serving: Serve, postgresql_database_url: str
) -> None:
    first = await serving()
    second = await serving()
    without = await serving("--no-scheduler")

    await asyncio.sleep(WATCHED_SECONDS)

    engine = create_engine(postgresql_database_url)
    async with engine.connect() as connection:
        runs = (
            await connection.execute(
                select(JobRunRow.started_at, JobRunRow.started_by, JobRunRow.outcome).where(  # type: ignore[call-overload]
                    JobRunRow.job == "pull_webtrn"
                )
            )
        ).all()
    await engine.dispose()
    ticks = Counter((run.started_at - GRID_ANCHOR) // timedelta(seconds=INTERVAL_SECONDS) for run in runs)
    pids = {run.started_by.rpartition(":")[2] for run in runs}

    assert {run.outcome for run in runs} == {"succeeded"}
    assert len(ticks) >= WATCHED_SECONDS // INTERVAL_SECONDS - 1
    assert set(ticks.values()) == {1}, ticks  # one run a tick, whichever process ran it
    assert pids <= {str(first.pid), str(second.pid)}
    assert str(without.pid) not in pids
