"""Scheduled jobs, run by APScheduler 3 inside ``hub serve`` or ``hub scheduler``.

Each process keeps its own in-memory job store (stores cannot be shared between schedulers);
on PostgreSQL an advisory lock around each run makes one process at a time run a job, so
several hub processes may all schedule it.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import func, select

from gateway.bootstrap import Hub
from ledger.model import BEIJING

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


JOBS: dict[str, tuple[Job, CronTrigger]] = {
    "verify_ledger": (verify_ledger, CronTrigger(hour=2, minute=30, timezone=BEIJING)),
}


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
    for name, (_job, trigger) in JOBS.items():
        scheduler.add_job(run_exclusively, trigger, args=[hub, name], id=name, name=name)
    scheduler.start()
    log.info("scheduler_started", jobs=sorted(JOBS))
    try:
        yield scheduler
    finally:
        scheduler.shutdown(wait=False)
