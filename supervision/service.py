"""Supervision on the hub's database: reports read from the ledger and the rosters, the feedback desk and
the notice board, whose staff messages go out through the ``StaffMessages`` the hub gives it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from sso.units.service import OrganisationService
from supervision.feedback.service import FeedbackDesk
from supervision.feedback.store import SqlFeedbackStore
from supervision.model import Clock, utc_now
from supervision.notices.service import NoticeBoard
from supervision.notices.store import SqlNoticeStore
from supervision.ports import StaffMessages
from supervision.reports.ports import Evaluations, Rosters
from supervision.reports.service import Reports

__all__ = ["Supervision"]


@dataclass(frozen=True, slots=True)
class Supervision:
    """What supervisors use: reports on the units they oversee, the feedback staff send them, and the
    notices they send staff."""

    reports: Reports
    feedback: FeedbackDesk
    notices: NoticeBoard

    @classmethod
    def on(
        cls,
        engine: AsyncEngine,
        *,
        evaluations: Evaluations,
        rosters: Rosters,
        organisation: OrganisationService,
        messages: StaffMessages,
        clock: Clock = utc_now,
    ) -> Supervision:
        """Supervision kept in this database, reading the ledger's evaluations and the people's rosters."""
        return cls(
            reports=Reports(evaluations, rosters),
            feedback=FeedbackDesk(SqlFeedbackStore(engine), organisation, messages, clock),
            notices=NoticeBoard(SqlNoticeStore(engine), rosters, messages, clock),
        )
