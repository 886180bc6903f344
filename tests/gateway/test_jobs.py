"""Scheduled jobs: each runs in one process at a time across hub processes sharing PostgreSQL."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest
from sqlalchemy import func, select
from structlog.testing import capture_logs

from config import load_settings
from gateway.bootstrap import ensure_keyring, open_hub
from gateway.jobs import run_exclusively

POSTGRESQL_SETTINGS = '[hub]\nbase_url = "http://127.0.0.1:8080"\ndatabase_url = "{url}"\ndata_key_file = "{key}"\n'


async def test_the_verification_job_reports_an_intact_ledger(settings_file: Path) -> None:
    async with open_hub(load_settings(settings_file)) as hub:
        with capture_logs() as logs:
            assert await run_exclusively(hub, "verify_ledger")

    events = [log["event"] for log in logs]
    assert events == ["job_started", "ledger_verified", "job_finished"]


@pytest.mark.usefixtures("postgresql_database_url")
async def test_a_job_running_in_another_process_is_skipped(tmp_path: Path, postgresql_url: str) -> None:
    settings_path = tmp_path / "hub.toml"
    settings_path.write_text(
        POSTGRESQL_SETTINGS.format(url=postgresql_url, key=tmp_path / "data.key"), encoding="utf-8"
    )
    ensure_keyring(tmp_path / "data.key")
    async with open_hub(load_settings(settings_path)) as elsewhere, open_hub(load_settings(settings_path)) as here:
        lock_key = zlib.crc32(b"hub-job:verify_ledger")
        async with elsewhere.engine.connect() as holder:
            assert await holder.scalar(select(func.pg_try_advisory_lock(lock_key)))
            with capture_logs() as logs:
                assert not await run_exclusively(here, "verify_ledger")
            await holder.execute(select(func.pg_advisory_unlock(lock_key)))
        assert [log["event"] for log in logs] == ["job_skipped"]

        assert await run_exclusively(here, "verify_ledger")
