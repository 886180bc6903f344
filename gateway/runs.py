"""The runs of jobs, in the hub's database (``job_run``): each scheduled run and each pull started
from the command line, written when it ends, so that every hub process sees them. The scheduler
reads them to run a job once a period across processes; the health view reads each vendor's last
successful pull."""

from __future__ import annotations

import enum
import os
import socket
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.tables import JobRunRow
from ledger.model import Source

RUN: Final[Table] = JobRunRow.metadata.tables["job_run"]
DETAIL_CHARACTERS_MAX: Final = 500


class RunOutcome(enum.StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"


def utc_now() -> datetime:
    return datetime.now(UTC)


def this_process(starter: str) -> str:
    """Who starts a run: ``scheduler`` or ``command_line``, at this host and process id."""
    return f"{starter}@{socket.gethostname()[:30]}:{os.getpid()}"


class JobRuns:
    """The runs of jobs on the hub's database; database errors are the caller's (the job runner's)."""

    def __init__(self, engine: AsyncEngine, clock: Callable[[], datetime] = utc_now) -> None:
        self._engine = engine
        self._clock = clock

    async def record(
        self,
        job: str,
        vendor: Source | None,
        *,
        started_by: str,
        started_at: datetime,
        outcome: RunOutcome,
        detail: str,
    ) -> None:
        """Record a run that ended now."""
        async with self._engine.begin() as connection:
            await connection.execute(
                insert(RUN).values(
                    job=job,
                    vendor=None if vendor is None else vendor.value,
                    started_by=started_by,
                    started_at=started_at,
                    finished_at=self._clock(),
                    outcome=outcome.value,
                    detail=detail[:DETAIL_CHARACTERS_MAX],
                )
            )

    def now(self) -> datetime:
        return self._clock()

    async def succeeded_since(self, job: str, since: datetime) -> bool:
        """Whether a run of the job that started at ``since`` or later has succeeded."""
        statement = select(func.count()).where(
            RUN.c.job == job, RUN.c.outcome == RunOutcome.SUCCEEDED.value, RUN.c.started_at >= since
        )
        async with self._engine.connect() as connection:
            return bool(await connection.scalar(statement))

    async def last_pulls(self) -> Mapping[Source, datetime]:
        """When each vendor's last successful pull ended."""
        statement = (
            select(RUN.c.vendor, func.max(RUN.c.finished_at).label("finished_at"))
            .where(RUN.c.vendor.is_not(None), RUN.c.outcome == RunOutcome.SUCCEEDED.value)
            .group_by(RUN.c.vendor)
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(statement)).all()
        return {Source(row.vendor): row.finished_at for row in rows if row.finished_at is not None}
