"""Supervision on the hub's database: reports read from the ledger and the rosters, and the feedback desk."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from sso.units.service import OrganisationService
from supervision.feedback.service import Clock, FeedbackDesk, utc_now
from supervision.feedback.store import SqlFeedbackStore
from supervision.reports.ports import Evaluations, Rosters
from supervision.reports.service import Reports

__all__ = ["Supervision"]


@dataclass(frozen=True, slots=True)
class Supervision:
    """What supervisors use: reports on the units they oversee, and the feedback staff send them."""

    reports: Reports
    feedback: FeedbackDesk

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
        return cls(
            reports=Reports(evaluations, rosters),
            feedback=FeedbackDesk(SqlFeedbackStore(engine), organisation, clock),
        )
