"""The ``hub`` program as an operator runs it: real processes, real databases."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

from sqlalchemy import text

from gateway.bootstrap import ensure_keyring
from gateway.database import create_engine
from ledger.model import new_credit
from ledger.service import Ledger
from ledger.store import SqlLedgerStore

from ..ledger.conftest import BEIJING_OFFSET, RULES_2021, payload_hash
from .conftest import RunHub


def _one_line(stream: str) -> str:
    lines = stream.strip().splitlines()
    assert len(lines) == 1, stream
    return lines[0]


async def test_verify_passes_then_names_the_first_tampered_entry(
    run_hub: RunHub, settings_file: Path, database_url: str
) -> None:
    engine = create_engine(database_url)
    ledger = Ledger(SqlLedgerStore(engine), {2021: RULES_2021})
    for number in range(3):
        await ledger.record(
            new_credit(
                person_id="person-1",
                source="hnou",
                record_id=f"HN{number}",
                course_code="HN-1",
                course_title="课程",
                subject="professional",
                hours="2",
                completed_at=datetime(2021, 5, 1, tzinfo=BEIJING_OFFSET),
                actor="vendor:hnou",
                payload_hash=payload_hash(str(number)),
            )
        )

    intact = run_hub("ledger", "verify", "--config", str(settings_file))
    assert intact.returncode == 0, intact.stderr
    assert _one_line(intact.stdout).startswith("ledger intact: 3 entries, head 3 ")

    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(text("ALTER TABLE ledger_entry DISABLE TRIGGER USER"))
        else:
            await connection.execute(text("DROP TRIGGER ledger_entry_no_update"))
        await connection.execute(text("UPDATE ledger_entry SET course_title = '改过' WHERE seq = 2"))
    await engine.dispose()

    broken = run_hub("ledger", "verify", "--config", str(settings_file))
    assert broken.returncode == 1
    assert _one_line(broken.stderr) == (
        "hub: error: ledger broken at sequence number 2: its content does not match its hash"
    )


def test_migrate_creates_the_schema_and_the_data_key_once(run_hub: RunHub, tmp_path: Path) -> None:
    database = tmp_path / "fresh" / "hub.db"
    environment = {
        "HUB__HUB__BASE_URL": "http://127.0.0.1:8080",
        "HUB__HUB__DATABASE_URL": f"sqlite+aiosqlite:///{database}",
    }
    first = run_hub("migrate", environment=environment)
    key = (tmp_path / "var" / "data.key").read_bytes()
    second = run_hub("migrate", environment=environment)

    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    assert "database schema is up to date" in first.stdout
    assert "created the personal-data key" in first.stdout
    assert "created the personal-data key" not in second.stdout
    assert (tmp_path / "var" / "data.key").read_bytes() == key
    assert (tmp_path / "var" / "data.key").stat().st_mode & 0o777 == 0o600
    verified = run_hub("ledger", "verify", environment=environment)
    assert verified.returncode == 0, verified.stderr
    assert "ledger intact: 0 entries" in verified.stdout


def test_serving_before_migrating_says_what_to_do(run_hub: RunHub) -> None:
    result = run_hub("ledger", "verify", environment={"HUB__HUB__BASE_URL": "http://127.0.0.1:8080"})

    assert result.returncode == 1
    assert _one_line(result.stderr).endswith("does not exist: run `hub migrate` first")


def test_a_missing_setting_stops_with_one_line_naming_it(run_hub: RunHub) -> None:
    result = run_hub("migrate", environment={"HUB__HUB__DATABASE_URL": "sqlite+aiosqlite:///x.db"})

    assert result.returncode == 1
    line = _one_line(result.stderr)
    assert line.startswith("hub: error: ")
    assert "hub.base_url" in line


def test_a_secret_in_a_bad_setting_is_not_echoed(run_hub: RunHub) -> None:
    result = run_hub(
        "migrate",
        environment={
            "HUB__HUB__BASE_URL": "http://127.0.0.1:8080",
            "HUB__VENDORS__ISCHINESE__WEBHOOK_SECRETS": '["not-a-whsec-secret-s3cr3t"]',
        },
    )

    assert result.returncode == 1
    assert "s3cr3t" not in result.stderr + result.stdout
    assert "vendors.ischinese" in _one_line(result.stderr)


def test_bad_arguments_get_one_line_and_exit_two(run_hub: RunHub) -> None:
    unknown = run_hub("serve", "--port", "not-a-port")
    missing = run_hub("no-such-command")

    assert (unknown.returncode, missing.returncode) == (2, 2)
    assert "--port" in _one_line(unknown.stderr)
    assert "no-such-command" in _one_line(missing.stderr)


def test_an_unreachable_database_is_one_line(run_hub: RunHub, tmp_path: Path) -> None:
    ensure_keyring(tmp_path / "data.key")
    result = run_hub(
        "ledger",
        "verify",
        environment={
            "HUB__HUB__BASE_URL": "http://127.0.0.1:8080",
            "HUB__HUB__DATA_KEY_FILE": str(tmp_path / "data.key"),
            "HUB__HUB__DATABASE_URL": "postgresql+asyncpg://nobody:s3cr3t@127.0.0.1:1/none",
        },
    )

    assert result.returncode == 1
    line = _one_line(result.stderr)
    assert "cannot be reached" in line
    assert "s3cr3t" not in line


def test_every_command_has_help(run_hub: RunHub) -> None:
    for command in ([], ["migrate"], ["serve"], ["scheduler"], ["demo"], ["ledger"], ["ledger", "verify"]):
        result = run_hub(*command, "--help")
        assert result.returncode == 0, (command, result.stderr)
        assert "Usage: hub" in result.stdout


def test_the_command_line_starts_without_the_hubs_services() -> None:
    """A command imports what it runs on when it runs (``gateway.cli``): ``--help`` and a command refused
    before its work load none of the services, whose imports cost every ``hub`` a second of start-up."""
    probe = "import sys, gateway.cli; print(*sys.modules)"
    loaded = subprocess.run(  # noqa: S603  (this interpreter, with a fixed probe)
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    ).stdout.split()
    services = {"gateway.bootstrap", "gateway.database", "gateway.app", "gateway.jobs", "alembic", "aiohttp"}
    assert services.intersection(loaded) == set()
