"""Scheduled jobs, run by APScheduler 3 inside ``hub serve`` or ``hub scheduler``.

- ``verify_ledger``: each night at 02:30 Beijing time, walk the chain and recompute the balances;
- ``pull_webtrn``: every ``pull_interval_seconds``, webtrn's pages from the watermark;
- ``pull_hnou``: each morning at 06:00 Beijing time, hnou's daily file of the day before.

Each process keeps its own in-memory job store (stores cannot be shared between schedulers), and
every process's ticks fall together (intervals are counted from one fixed instant). Across the
processes a job then runs once a tick: on PostgreSQL a run takes an advisory lock (one run at a time)
and, holding it, skips when a run of the job has succeeded within its spacing (half its period), as
the ``job_run`` table shows. On SQLite there are no advisory locks: one hub process is assumed.
Missed runs coalesce into one, if they are within the misfire grace; a failed run is logged and
recorded, and the next tick goes ahead.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Final

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func, select

from config import Settings
from gateway.bootstrap import Hub
from gateway.pulls import describe, describe_pull, store_daily_file
from gateway.runs import RunOutcome, this_process
from ledger.model import BEIJING, Source
from ledger.reconciliation.errors import ReconciliationRunning
from ledger.reconciliation.model import RunRequest, Scope

MISFIRE_GRACE_SECONDS: Final = 3600
DAILY_SPACING: Final = timedelta(hours=1)
GRID_ANCHOR: Final = datetime(2021, 1, 1, tzinfo=BEIJING)
"""Every interval is counted from here, so that the ticks of every process fall together."""

log = structlog.get_logger(__name__)

Job = Callable[[Hub], Awaitable[str]]
"""A job; it returns a line saying what it did, kept with its run."""


async def verify_ledger(hub: Hub) -> str:
    """Walk the chain and recompute the balances; log loudly if either disagrees."""
    report = await hub.ledger.verify_chain()
    mismatches = await hub.ledger.balance_mismatches()
    if report.intact and not mismatches:
        log.info("ledger_verified", entries=report.entries_checked, head_seq=report.head_seq)
        return f"intact: {report.entries_checked} entries"
    log.error(
        "ledger_inconsistent",
        first_bad_seq=report.first_bad_seq,
        problem=report.problem,
        balance_mismatches=len(mismatches),
    )
    return f"inconsistent: first bad sequence number {report.first_bad_seq}, {len(mismatches)} balances differ"


async def pull_webtrn(hub: Hub) -> str:
    """Pull webtrn's completions from the watermark to the last page."""
    return describe_pull(await hub.vendors.puller(Source.WEBTRN).pull())


def yesterday(now: datetime) -> date:
    """The day before ``now``'s day in Beijing time: the last whole day hnou's files hold."""
    return now.astimezone(BEIJING).date() - timedelta(days=1)


async def pull_hnou(hub: Hub) -> str:
    """Fetch and store hnou's daily file of yesterday (Beijing time)."""
    day = yesterday(datetime.now(BEIJING))
    counts = await store_daily_file(hub.ledger, hub.vendors.batches(Source.HNOU), day)
    return f"{day:%Y%m%d}: {describe(counts)}"


async def reconcile_ischinese(hub: Hub) -> str:
    """Reconcile ischinese's latest training year with rules, through its listing."""
    return await _reconcile(hub, Source.ISCHINESE, _latest_year(hub))


async def reconcile_webtrn(hub: Hub) -> str:
    """Reconcile webtrn's latest training year with rules, through a full scan of its API."""
    return await _reconcile(hub, Source.WEBTRN, _latest_year(hub))


async def reconcile_hnou(hub: Hub) -> str:
    """Reconcile hnou's daily file of yesterday (Beijing time): the records it changed that day."""
    day = yesterday(datetime.now(BEIJING))
    return await _reconcile(hub, Source.HNOU, Scope(day, day))


def _latest_year(hub: Hub) -> Scope | None:
    this_year = datetime.now(UTC).astimezone(BEIJING).year
    years = [year for year in hub.settings.rules if year <= this_year]
    return Scope.of_year(max(years)) if years else None


async def _reconcile(hub: Hub, vendor: Source, scope: Scope | None) -> str:
    """Run one reconciliation; a line saying how it ended, or why it was skipped."""
    if scope is None or any(year not in hub.settings.rules for year in scope.years):
        log.info("reconciliation_skipped", vendor=vendor.value, reason="no rules for the days it would cover")
        return "skipped: no rules for the days it would cover"
    try:
        run = await hub.reconciliations.run(RunRequest(vendor, scope), "scheduler")
    except ReconciliationRunning:
        log.info("reconciliation_skipped", vendor=vendor.value, reason="a run of this vendor is under way")
        return "skipped: a run of this vendor is under way"
    return f"run {run.id} {run.status.value}"


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
    if webtrn is None:
        return None
    return IntervalTrigger(seconds=webtrn.pull_interval_seconds, start_date=GRID_ANCHOR, timezone=BEIJING)


def _hnou_morning(settings: Settings) -> BaseTrigger | None:
    return None if settings.vendors.hnou is None else CronTrigger(hour=6, minute=0, timezone=BEIJING)


@dataclass(frozen=True, slots=True)
class ScheduledJob:
    """A job, its schedule under the settings (``None``: not scheduled, its vendor is not
    configured), and the vendor it pulls from, if any."""

    run: Job
    schedule: Callable[[Settings], BaseTrigger | None]
    vendor: Source | None = field(default=None)


JOBS: Final[dict[str, ScheduledJob]] = {
    "verify_ledger": ScheduledJob(verify_ledger, _nightly),
    "pull_webtrn": ScheduledJob(pull_webtrn, _webtrn_interval, Source.WEBTRN),
    "pull_hnou": ScheduledJob(pull_hnou, _hnou_morning, Source.HNOU),
    "reconcile_ischinese": ScheduledJob(reconcile_ischinese, _reconciliation_at(Source.ISCHINESE, 0)),
    "reconcile_webtrn": ScheduledJob(reconcile_webtrn, _reconciliation_at(Source.WEBTRN, 20)),
    "reconcile_hnou": ScheduledJob(reconcile_hnou, _reconciliation_at(Source.HNOU, 40)),
}


def spacing(trigger: BaseTrigger | None) -> timedelta:
    """How long after a successful run another process's run of the same tick is skipped."""
    if isinstance(trigger, IntervalTrigger):
        interval: timedelta = trigger.interval
        return interval / 2
    return DAILY_SPACING


async def run_exclusively(hub: Hub, name: str) -> bool:
    """Run one job unless another process is running it or ran it this tick; ``False`` when skipped."""
    job = JOBS[name]
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
            since = datetime.now(BEIJING) - spacing(job.schedule(hub.settings))
            if await hub.runs.succeeded_since(name, since):
                log.info("job_skipped", job=name, reason="ran elsewhere this period")
                return False
            await _run_logged(hub, name, job)
        finally:
            await connection.execute(select(func.pg_advisory_unlock(lock_key)))
            await connection.commit()
    return True


@asynccontextmanager
async def recorded_run(hub: Hub, name: str, vendor: Source | None, starter: str) -> AsyncIterator[list[str]]:
    """A block recorded as one run of a job when it ends: succeeded, with the lines the block
    appends, or failed, with the kind of error that ended it, which is raised on even when the run
    cannot be recorded."""
    started_at, said = hub.runs.now(), list[str]()
    record = functools.partial(hub.runs.record, name, vendor, started_by=this_process(starter), started_at=started_at)
    try:
        yield said
    except BaseException as error:
        try:
            await record(outcome=RunOutcome.FAILED, detail=type(error).__name__)  # the type only: no secret or value
        # The run's own error is what its caller must see and log, not a failure to record it (the
        # database is away, or not migrated: the caller's error says as much, so this is for debugging).
        except Exception as unrecorded:
            log.debug("job_run_not_recorded", job=name, error=type(unrecorded).__name__)
        raise
    await record(outcome=RunOutcome.SUCCEEDED, detail="; ".join(said))


async def _run_logged(hub: Hub, name: str, job: ScheduledJob) -> None:
    log.info("job_started", job=name)
    try:
        async with recorded_run(hub, name, job.vendor, "scheduler") as said:
            said.append(await job.run(hub))
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
    triggers = {name: job.schedule(hub.settings) for name, job in JOBS.items()}
    for name, trigger in triggers.items():
        if trigger is not None:
            scheduler.add_job(run_exclusively, trigger, args=[hub, name], id=name, name=name)
    scheduler.start()
    log.info("scheduler_started", jobs=sorted(name for name, trigger in triggers.items() if trigger is not None))
    try:
        yield scheduler
    finally:
        scheduler.shutdown(wait=False)
