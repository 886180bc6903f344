"""Supervision on the hub's database: reports read from the ledger and the rosters, the feedback desk, the
notice board, and the outbox their staff messages go to until the hub has a staff messages store."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from sso.units.service import OrganisationService
from supervision.feedback.service import FeedbackDesk
from supervision.feedback.store import SqlFeedbackStore
from supervision.model import Clock, utc_now
from supervision.notices.service import NoticeBoard
from supervision.notices.store import SqlNoticeStore
from supervision.reports.ports import Evaluations, Rosters
from supervision.reports.service import Reports
from supervision.store import SqlOutbox

__all__ = ["Supervision"]


@dataclass(frozen=True, slots=True)
class Supervision:
    """What supervisors use: reports on the units they oversee, the feedback staff send them, and the
    notices they send staff."""

    reports: Reports
    feedback: FeedbackDesk
    notices: NoticeBoard
    outbox: SqlOutbox

    @classmethod
    def on(
        cls,
        engine: AsyncEngine,
        *,
        evaluations: Evaluations,
        rosters: Rosters,
        organisation: OrganisationService,
        clock: Clock = utc_now,
    ) -> Supervision:
        """Supervision kept in this database, reading the ledger's evaluations and the people's rosters."""
        outbox = SqlOutbox(engine, clock)
        return cls(
            reports=Reports(evaluations, rosters),
            feedback=FeedbackDesk(SqlFeedbackStore(engine), organisation, outbox, clock),
            notices=NoticeBoard(SqlNoticeStore(engine), rosters, outbox, clock),
            outbox=outbox,
        )
