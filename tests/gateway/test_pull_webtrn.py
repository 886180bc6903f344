"""``hub pull webtrn`` and the scheduled pull, against webtrn's simulator on a real server."""

from __future__ import annotations

import asyncio
import os
import pty
import subprocess
import threading
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from structlog.testing import capture_logs

from adapters.webtrn.simulator_api import WebtrnApiSimulator
from config import load_settings
from gateway.bootstrap import ensure_keyring, open_hub
from gateway.jobs import run_exclusively, running_scheduler
from ledger.model import PersonId, Source
from sso.handoff import Vendor

from .conftest import HUB, RunHub

CLIENT_SECRET = "webtrn-client-secret-for-tests"
PERSON = PersonId("person-pulled")
WEBTRN_SETTINGS = """
[vendors.webtrn]
name = "网梯"
jwt_alg = "ES256"
launch_url = "{base}/sso/launch"
token_url = "{base}/oauth/token"
api_base = "{base}"
client_id = "hub"
client_secret = "{secret}"
pull_interval_seconds = 60
pull_start = 2021-01-01T00:00:00
"""


def at(seconds: int) -> datetime:
    return datetime(2021, 6, 1, 2, 0, tzinfo=UTC) + timedelta(seconds=seconds)


@pytest.fixture
def simulator() -> WebtrnApiSimulator:
    return WebtrnApiSimulator(client_id="hub", client_secret=CLIENT_SECRET, page_size_max=3)


@pytest.fixture
async def webtrn_settings(
    aiohttp_server: Callable[[web.Application], Awaitable[TestServer]],
    simulator: WebtrnApiSimulator,
    settings_file: Path,
) -> Path:
    """The test hub's settings with webtrn served by the simulator."""
    server = await aiohttp_server(simulator.app())
    base = str(server.make_url("")).rstrip("/")
    with settings_file.open("a", encoding="utf-8") as settings:
        settings.write(WEBTRN_SETTINGS.format(base=base, secret=CLIENT_SECRET))
    return settings_file


async def handed_over(settings_path: Path) -> str:
    """The ``sub`` the hub gave the person at webtrn, as on the person's first launch."""
    async with open_hub(load_settings(settings_path)) as hub:
        return await hub.handoff.subject_for(PERSON, Vendor.WEBTRN)


async def test_hub_pull_webtrn_stores_the_pages_and_says_what_it_stored(
    run_hub: RunHub, webtrn_settings: Path, simulator: WebtrnApiSimulator
) -> None:
    sub = await handed_over(webtrn_settings)
    for number in range(1, 5):
        simulator.complete(number, sub=sub, updated_at=at(number), hours="1.5")
    simulator.complete(5, sub="never-issued", updated_at=at(5))

    first = await asyncio.to_thread(run_hub, "pull", "webtrn", "--config", str(webtrn_settings))
    again = await asyncio.to_thread(run_hub, "pull", "webtrn", "--config", str(webtrn_settings))

    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        "webtrn: 5 records: 4 appended, 1 held (unknown person) in 2 pages; read to 2021-06-01T02:00:05Z"
    ]
    assert again.stdout.splitlines() == [
        "webtrn: 1 record: 1 held (unknown person) in 1 page; read to 2021-06-01T02:00:05Z"
    ]
    assert CLIENT_SECRET not in first.stdout + first.stderr
    async with open_hub(load_settings(webtrn_settings)) as hub:
        balance = await hub.ledger.balance(PERSON, 2021)
        last_pulls = await hub.runs.last_pulls()
    assert balance.public == 4 * 150
    assert set(last_pulls) == {Source.WEBTRN}  # each pull is recorded, for the vendors' health


def run_hub_on_a_terminal(*arguments: str) -> tuple[int, str, str]:
    """Run ``hub`` with its standard error on a terminal; its exit code, standard output and the terminal's text."""
    controller, terminal = pty.openpty()
    shown: list[bytes] = []

    def read_terminal() -> None:
        # Read while the program writes, so that it never waits for room on the terminal.
        while True:
            try:
                chunk = os.read(controller, 65_536)
            except OSError:  # the terminal closed
                return
            if not chunk:
                return
            shown.append(chunk)

    reader = threading.Thread(target=read_terminal)
    reader.start()
    clean = {key: value for key, value in os.environ.items() if not key.startswith("HUB")}
    try:
        result = subprocess.run(  # noqa: S603  (our own program, with arguments from the test)
            [str(HUB), *arguments],
            stdout=subprocess.PIPE,
            stderr=terminal,
            text=True,
            env=clean,
            timeout=120,
            check=False,
        )
    finally:
        os.close(terminal)
        reader.join(timeout=10)
        os.close(controller)
    return result.returncode, result.stdout, b"".join(shown).decode(errors="replace")


async def test_hub_pull_webtrn_shows_its_progress_on_a_terminal(
    webtrn_settings: Path, simulator: WebtrnApiSimulator
) -> None:
    for number in range(1, 8):
        simulator.complete(number, sub="never-issued", updated_at=at(number))

    code, stdout, terminal = await asyncio.to_thread(
        run_hub_on_a_terminal, "pull", "webtrn", "--config", str(webtrn_settings)
    )

    assert code == 0, terminal
    assert "webtrn: 3 pages, 7 records" in terminal
    assert stdout.startswith("webtrn: 7 records: 7 held (unknown person) in 3 pages")


def test_hub_pull_webtrn_without_webtrn_configured_says_so(run_hub: RunHub, tmp_path: Path) -> None:
    settings = tmp_path / "hub.toml"
    settings.write_text(
        f'[hub]\nbase_url = "http://127.0.0.1:8080"\ndata_key_file = "{tmp_path}/data.key"\n'
        f'database_url = "sqlite+aiosqlite:///{tmp_path}/hub.db"\n',
        encoding="utf-8",
    )
    ensure_keyring(tmp_path / "data.key")

    result = run_hub("pull", "webtrn", "--config", str(settings))

    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "hub: error: webtrn is not configured: add a [vendors.webtrn] section to the settings to pull from webtrn"
    )


async def test_hub_pull_webtrn_names_the_vendor_when_it_fails(
    run_hub: RunHub, webtrn_settings: Path, simulator: WebtrnApiSimulator
) -> None:
    simulator.answer(404, on_requests=[1])

    result = await asyncio.to_thread(run_hub, "pull", "webtrn", "--config", str(webtrn_settings))

    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == "hub: error: webtrn answered 404 to a page request"
    assert result.stdout == ""


async def test_the_scheduled_pull_stores_webtrns_completions(
    webtrn_settings: Path, simulator: WebtrnApiSimulator
) -> None:
    sub = await handed_over(webtrn_settings)
    simulator.complete(1, sub=sub, updated_at=at(1), hours="2.5")

    async with open_hub(load_settings(webtrn_settings)) as hub:
        with capture_logs() as logs:
            assert await run_exclusively(hub, "pull_webtrn")
        balance = await hub.ledger.balance(PERSON, 2021)

    events = [log["event"] for log in logs]
    assert events[0] == "job_started"
    assert events[-2:] == ["webtrn_pulled", "job_finished"]
    assert balance.public == 250


async def test_a_failed_scheduled_pull_is_logged_and_the_next_one_resumes(
    webtrn_settings: Path, simulator: WebtrnApiSimulator
) -> None:
    sub = await handed_over(webtrn_settings)
    simulator.complete(1, sub=sub, updated_at=at(1))
    simulator.answer(404, on_requests=[1])

    async with open_hub(load_settings(webtrn_settings)) as hub:
        with capture_logs() as logs:
            await run_exclusively(hub, "pull_webtrn")
            await run_exclusively(hub, "pull_webtrn")
        entries = await hub.ledger.entries_of(PERSON, 2021)

    assert [log["event"] for log in logs].count("job_failed") == 1
    assert [entry.record_id for entry in entries] == ["1"]


async def test_the_scheduler_pulls_webtrn_every_pull_interval(webtrn_settings: Path) -> None:
    async with open_hub(load_settings(webtrn_settings)) as hub, running_scheduler(hub) as scheduler:
        job = scheduler.get_job("pull_webtrn")

    assert job is not None
    assert job.trigger.interval == timedelta(seconds=60)


async def test_the_scheduler_pulls_nothing_from_a_vendor_not_configured(settings_file: Path) -> None:
    async with open_hub(load_settings(settings_file)) as hub, running_scheduler(hub) as scheduler:
        assert scheduler.get_job("pull_webtrn") is None
        assert scheduler.get_job("verify_ledger") is not None
