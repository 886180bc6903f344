"""Scheduled jobs, run by APScheduler 3 inside ``hub serve`` or ``hub scheduler``.

Each process keeps its own in-memory job store (stores cannot be shared between schedulers);
on PostgreSQL an advisory lock around each run makes one process at a time run a job, so
several hub processes may all schedule it.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func, select

from adapters.webtrn.client import WebtrnAccount, open_client
from adapters.webtrn.puller import WebtrnPuller
from config import Settings, SettingsError
from config.errors import SettingProblem
from gateway.bootstrap import Hub
from gateway.directory import HubLearnerDirectory
from ledger.model import BEIJING, Source
from ledger.reconciliation.errors import ReconciliationRunning
from ledger.reconciliation.model import RunRequest, Scope

MISFIRE_GRACE_SECONDS = 3600

log = structlog.get_logger(__name__)

Job = Callable[[Hub], Awaitable[None]]


async def verify_ledger(hub: Hub) -> None:
    """Walk the chain and recompute the balances; log loudly if either disagrees."""
    report = await hub.ledger.verify_chain()
    mismatches = await hub.ledger.balance_mismatches()
    if report.intact and not mismatches:
        log.info("ledger_verified", entries=report.entries_checked, head_seq=report.head_seq)
        return
    log.error(
        "ledger_inconsistent",
        first_bad_seq=report.first_bad_seq,
        problem=report.problem,
        balance_mismatches=len(mismatches),
    )


@asynccontextmanager
async def webtrn_puller(hub: Hub) -> AsyncIterator[WebtrnPuller]:
    """The hub's puller of webtrn's completions; raises ``SettingsError`` when webtrn is not configured."""
    webtrn, start = hub.settings.vendors.webtrn, hub.settings.webtrn_pull_start
    if webtrn is None or start is None:
        raise SettingsError([SettingProblem("vendors.webtrn", "is required to pull from webtrn")])
    secret = webtrn.client_secret.get_secret_value()
    async with open_client(WebtrnAccount(webtrn.token_url, webtrn.api_base, webtrn.client_id, secret)) as client:
        yield WebtrnPuller(client, hub.ledger, HubLearnerDirectory(hub.people, hub.handoff), start=start)


async def pull_webtrn(hub: Hub) -> None:
    """Pull webtrn's completions from the watermark to the last page."""
    async with webtrn_puller(hub) as puller:
        await puller.pull()


async def reconcile_ischinese(hub: Hub) -> None:
    """Reconcile ischinese's latest training year with rules, through its listing."""
    await _reconcile(hub, Source.ISCHINESE, _latest_year(hub))


async def reconcile_webtrn(hub: Hub) -> None:
    """Reconcile webtrn's latest training year with rules, through a full scan of its API."""
    await _reconcile(hub, Source.WEBTRN, _latest_year(hub))


async def reconcile_hnou(hub: Hub) -> None:
    """Reconcile hnou's daily file of yesterday (Beijing time): the records it changed that day."""
    yesterday = datetime.now(UTC).astimezone(BEIJING).date() - timedelta(days=1)
    await _reconcile(hub, Source.HNOU, Scope(yesterday, yesterday))


def _latest_year(hub: Hub) -> Scope | None:
    this_year = datetime.now(UTC).astimezone(BEIJING).year
    years = [year for year in hub.settings.rules if year <= this_year]
    return Scope.of_year(max(years)) if years else None


async def _reconcile(hub: Hub, vendor: Source, scope: Scope | None) -> None:
    if scope is None or any(year not in hub.settings.rules for year in scope.years):
        log.info("reconciliation_skipped", vendor=vendor.value, reason="no rules for the days it would cover")
        return
    try:
        await hub.reconciliations.run(RunRequest(vendor, scope), "scheduler")
    except ReconciliationRunning:
        log.info("reconciliation_skipped", vendor=vendor.value, reason="a run of this vendor is under way")


def _nightly(_settings: Settings) -> BaseTrigger:
    return CronTrigger(hour=2, minute=30, timezone=BEIJING)


def _reconciliation_at(vendor: Source, minute: int) -> Callable[[Settings], BaseTrigger | None]:
    """Each night at 03:``minute`` Beijing time, when the vendor is configured."""

    def schedule(settings: Settings) -> BaseTrigger | None:
        configured = getattr(settings.vendors, vendor.value) is not None
        return CronTrigger(hour=3, minute=minute, timezone=BEIJING) if configured else None

    return schedule


def _webtrn_interval(settings: Settings) -> BaseTrigger | None:
    webtrn = settings.vendors.webtrn
    return None if webtrn is None else IntervalTrigger(seconds=webtrn.pull_interval_seconds, timezone=BEIJING)


JOBS: dict[str, tuple[Job, Callable[[Settings], BaseTrigger | None]]] = {
    "verify_ledger": (verify_ledger, _nightly),
    "pull_webtrn": (pull_webtrn, _webtrn_interval),
    "reconcile_ischinese": (reconcile_ischinese, _reconciliation_at(Source.ISCHINESE, 0)),
    "reconcile_webtrn": (reconcile_webtrn, _reconciliation_at(Source.WEBTRN, 20)),
    "reconcile_hnou": (reconcile_hnou, _reconciliation_at(Source.HNOU, 40)),
}
"""Each job and its schedule under the settings; ``None``: not scheduled (its vendor is not configured)."""


async def run_exclusively(hub: Hub, name: str) -> bool:
    """Run one job unless another process is running it; ``False`` when it was skipped."""
    job, _trigger = JOBS[name]
    if hub.engine.dialect.name != "postgresql":
        await _run_logged(hub, name, job)
        return True
    lock_key = zlib.crc32(f"hub-job:{name}".encode())
    async with hub.engine.connect() as connection:
        if not await connection.scalar(select(func.pg_try_advisory_lock(lock_key))):
            log.info("job_skipped", job=name, reason="running elsewhere")
            return False
        try:
            await connection.commit()
            await _run_logged(hub, name, job)
        finally:
            await connection.execute(select(func.pg_advisory_unlock(lock_key)))
            await connection.commit()
    return True


async def _run_logged(hub: Hub, name: str, job: Job) -> None:
    log.info("job_started", job=name)
    try:
        await job(hub)
    # The scheduler must outlive any one failed run; the failure is logged and the next run goes ahead.
    except Exception:
        log.exception("job_failed", job=name)
        return
    log.info("job_finished", job=name)


@asynccontextmanager
async def running_scheduler(hub: Hub) -> AsyncIterator[AsyncIOScheduler]:
    """Every job on its schedule, until the context closes; missed runs coalesce into one."""
    scheduler = AsyncIOScheduler(
        timezone=BEIJING,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_SECONDS},
    )
    triggers = {name: schedule(hub.settings) for name, (_job, schedule) in JOBS.items()}
    for name, trigger in triggers.items():
        if trigger is not None:
            scheduler.add_job(run_exclusively, trigger, args=[hub, name], id=name, name=name)
    scheduler.start()
    log.info("scheduler_started", jobs=sorted(name for name, trigger in triggers.items() if trigger is not None))
    try:
        yield scheduler
    finally:
        scheduler.shutdown(wait=False)
