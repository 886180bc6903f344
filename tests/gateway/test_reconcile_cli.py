"""``hub reconcile`` as an operator runs it: a real process against the vendors' simulators, on SQLite
and PostgreSQL; a table of what it found, a progress bar on a terminal, one line for every error."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from sso.access.model import COMMAND_LINE, AuditAction, AuditOutcome, Role

from .access_support import Client, ClientMaker, Staff, audit_entries, new_token, register, serve_hub
from .conftest import RunHub
from .reconciliation_support import SEEDS, ServerMaker, Vendors, discrepancies, serve_vendors, with_vendors
from .test_pull_webtrn import run_hub_on_a_terminal


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
async def vendors(aiohttp_server: ServerMaker, http: httpx.AsyncClient) -> Vendors:
    return await serve_vendors(aiohttp_server, http)


@pytest.fixture
def hub_settings(settings_file: Path, vendors: Vendors) -> Path:
    return with_vendors(settings_file, vendors)


@pytest.fixture
async def client(aiohttp_client: ClientMaker, hub_settings: Path, database_url: str, vendors: Vendors) -> Client:
    """The hub the vendors deliver to; the command runs on its database."""
    client = await serve_hub(aiohttp_client, hub_settings, database_url)
    vendors.point_at(str(client.make_url("")).rstrip("/"))
    return client


@pytest.fixture
async def staff(client: Client) -> Staff:
    return await register(client, 1, "430100-0001")


def _one_line(stream: str) -> str:
    lines = stream.strip().splitlines()
    assert len(lines) == 1, stream
    return lines[0]


async def test_it_reconciles_a_year_and_prints_what_it_found(
    run_hub: RunHub, hub_settings: Path, client: Client, vendors: Vendors, staff: Staff
) -> None:
    await SEEDS["ischinese"](client, vendors, staff)

    result = await asyncio.to_thread(run_hub, "reconcile", "ischinese", "--year", "2021", "--config", str(hub_settings))

    assert result.returncode == 0, result.stderr
    rows = {
        line.split("│")[1].strip(): line.split("│")[2].strip() for line in result.stdout.splitlines() if "│" in line
    }
    assert rows == {
        "compared": "6",
        "missing_in_ledger": "1",
        "missing_at_vendor": "1",
        "different": "2",
        "unknown_person": "1",
        "unreadable at the vendor": "0",
    }
    assert "ischinese 2021: run 1 succeeded" in result.stdout
    assert len(await discrepancies(client, await new_token(client, Role.OPERATOR))) == 5
    (entry,) = [entry for entry in await audit_entries(client) if entry.action is AuditAction.RECONCILIATION_STARTED]
    assert (entry.actor, entry.outcome, entry.target and entry.target.id) == (COMMAND_LINE, AuditOutcome.SUCCEEDED, "1")


async def test_it_shows_its_progress_on_a_terminal(
    hub_settings: Path, client: Client, vendors: Vendors, staff: Staff
) -> None:
    await SEEDS["hnou"](client, vendors, staff)

    code, stdout, terminal = await asyncio.to_thread(
        run_hub_on_a_terminal,
        "reconcile",
        "hnou",
        "--from",
        "20210601",
        "--to",
        "20210601",
        "--config",
        str(hub_settings),
    )

    assert code == 0, terminal
    assert "compared" in terminal
    assert "hnou 2021-06-01 to 2021-06-01: run 1 succeeded" in stdout


async def test_a_vendor_that_fails_prints_what_was_compared_then_one_line(
    run_hub: RunHub, hub_settings: Path, client: Client, vendors: Vendors
) -> None:
    vendors.ischinese.fail_listing(404, on_requests=[1])

    result = await asyncio.to_thread(run_hub, "reconcile", "ischinese", "--year", "2021", "--config", str(hub_settings))

    assert result.returncode == 1
    assert "run 1 failed" in result.stdout
    assert result.stderr.strip().splitlines()[-1] == (  # after the run's log lines
        "hub: error: the reconciliation of ischinese (run 1) failed: vendor_read_failed: ischinese's listing of "
        "2021, page 1: ischinese answered 404 to a page request"
    )


@pytest.mark.parametrize(
    ("arguments", "code", "message"),
    [
        (["ischinese"], 2, "year: is required, unless from and to are given"),
        (["ischinese", "--year", "2021", "--from", "2021-06-01"], 2, "give a year, or from and to, not both"),
        (["hnou", "--from", "2021-06-31", "--to", "2021-07-01"], 2, "--from: must be a day written YYYY-MM-DD"),
        (["offline", "--year", "2021"], 2, "VENDOR: must be one of ischinese, webtrn, hnou"),
        (["ischinese", "--year", "2022"], 1, "hub: error: year: the training year 2022 has no rules"),
    ],
)
def test_a_bad_request_is_one_line(
    run_hub: RunHub, hub_settings: Path, arguments: list[str], code: int, message: str
) -> None:
    result = run_hub("reconcile", *arguments, "--config", str(hub_settings))

    assert result.returncode == code
    assert message in _one_line(result.stderr)
    assert result.stdout == ""


def test_it_has_help(run_hub: RunHub) -> None:
    result = run_hub("reconcile", "--help")

    assert result.returncode == 0
    assert "--year" in result.stdout
    assert "--from" in result.stdout
