"""Scheduled jobs: each runs in one process at a time across hub processes sharing PostgreSQL."""

from __future__ import annotations

import zlib
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from structlog.testing import capture_logs

from config import load_settings
from gateway.bootstrap import ensure_keyring, open_hub
from gateway.errors import VendorNotReady
from gateway.jobs import MISFIRE_GRACE_SECONDS, run_exclusively, running_scheduler, yesterday
from gateway.tables import JobRunRow
from gateway.vendors import REGISTRY, check_registry

from .conftest import RunHub

HNOU = """
[vendors.hnou]
name = "湖南开放大学"
jwt_alg = "RS256"
login_url = "http://127.0.0.1:9/lti/login"
target_link_uri = "http://127.0.0.1:9/lti/launch"
client_id = "hub-client"
deployment_id = "hub-deployment-1"
redirect_uris = ["http://127.0.0.1:9/lti/launch"]
appid = "hub-test"
appsecret = "the-app-secret"
api_base = "http://127.0.0.1:9"
"""
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


def test_the_morning_pull_fetches_yesterday_in_beijing_time() -> None:
    # 2021-06-01 23:30 UTC is already 2 June in Beijing: yesterday there is 1 June.
    assert yesterday(datetime(2021, 6, 1, 23, 30, tzinfo=UTC)) == date(2021, 6, 1)
    assert yesterday(datetime(2021, 6, 1, 15, 59, tzinfo=UTC)) == date(2021, 5, 31)


async def test_the_scheduler_runs_hnous_file_each_morning_and_coalesces_missed_runs(
    settings_file: Path,
) -> None:
    with settings_file.open("a", encoding="utf-8") as settings:
        settings.write(HNOU)
    async with open_hub(load_settings(settings_file)) as hub, running_scheduler(hub) as scheduler:
        job = scheduler.get_job("pull_hnou")

    assert job is not None
    assert (str(job.trigger.fields[5]), str(job.trigger.fields[6])) == ("6", "0")  # hour, minute
    assert str(job.trigger.timezone) == "Asia/Shanghai"
    assert (job.coalesce, job.misfire_grace_time, job.max_instances) == (True, MISFIRE_GRACE_SECONDS, 1)


@pytest.mark.usefixtures("postgresql_database_url")
async def test_a_job_that_ran_elsewhere_this_period_is_skipped_and_every_run_is_recorded(
    tmp_path: Path, postgresql_url: str
) -> None:
    settings_path = tmp_path / "hub.toml"
    settings_path.write_text(
        POSTGRESQL_SETTINGS.format(url=postgresql_url, key=tmp_path / "data.key"), encoding="utf-8"
    )
    ensure_keyring(tmp_path / "data.key")
    async with open_hub(load_settings(settings_path)) as elsewhere, open_hub(load_settings(settings_path)) as here:
        assert await run_exclusively(elsewhere, "verify_ledger")
        with capture_logs() as logs:
            assert not await run_exclusively(here, "verify_ledger")
        async with here.engine.connect() as connection:
            runs = (await connection.execute(select(JobRunRow.job, JobRunRow.outcome, JobRunRow.detail))).all()  # type: ignore[call-overload]

    assert [(log["event"], log["reason"]) for log in logs] == [("job_skipped", "ran elsewhere this period")]
    assert [tuple(run) for run in runs] == [("verify_ledger", "succeeded", "intact: 0 entries")]


def test_the_registry_must_know_every_vendor_code() -> None:
    check_registry()
    partial = {code: plug for code, plug in REGISTRY.items() if code != "hnou"}

    with pytest.raises(VendorNotReady, match="disagree about the vendor codes hnou"):
        check_registry(partial)


def test_an_unknown_vendor_code_stops_hub_serve_in_one_line(run_hub: RunHub, settings_file: Path) -> None:
    with settings_file.open("a", encoding="utf-8") as settings:
        settings.write('\n[vendors.coursera]\nname = "coursera"\n')

    result = run_hub("serve", "--config", str(settings_file))

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "hub: error: invalid setting vendors.coursera: unknown vendor code: the codes are hnou, ischinese, webtrn"
    ]
