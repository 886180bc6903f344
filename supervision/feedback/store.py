"""Feedback on SQL (SQLite or PostgreSQL): each method one transaction.

Feedback within a supervisor's reach is found through the organisation's table of institutions, so
that it follows the organisation as last imported.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, Select, Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ledger.model import PersonId
from sso.access.model import TokenId
from sso.units.tables import InstitutionRow
from supervision.errors import FeedbackAlreadyAnswered, FeedbackLimitReached, FeedbackNotFound
from supervision.feedback.model import Answer, Feedback, FeedbackForm, FeedbackId, FeedbackStatus
from supervision.feedback.tables import FeedbackRow
from supervision.model import Reach

FEEDBACK: Final[Table] = FeedbackRow.metadata.tables["supervision_feedback"]
INSTITUTION: Final[Table] = InstitutionRow.metadata.tables["organisation_institution"]
_ADVISORY_LOCK_HEX_DIGITS: Final = 15
"""60 bits of a hash make a positive PostgreSQL bigint lock key."""


class SqlFeedbackStore:
    """Feedback in the hub's database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(
        self,
        person_id: PersonId,
        institution: str,
        form: FeedbackForm,
        *,
        now: datetime,
        window: timedelta,
        count_max: int,
    ) -> Feedback:
        """Keep the person's feedback, unless they sent ``count_max`` within ``window`` before ``now``.

        Raises ``FeedbackLimitReached`` with the seconds until one of those leaves the window.
        """
        values = {
            "person_id": person_id,
            "institution": institution,
            "subject": form.subject,
            "text": form.text,
            "submitted_at": now,
        }
        async with self._engine.begin() as connection:
            await _serialise_person(connection, person_id)
            recent = (
                (
                    await connection.execute(
                        select(FEEDBACK.c.submitted_at)
                        .where(FEEDBACK.c.person_id == person_id, FEEDBACK.c.submitted_at > now - window)
                        .order_by(FEEDBACK.c.submitted_at.desc())
                        .limit(count_max)
                    )
                )
                .scalars()
                .all()
            )
            if len(recent) >= count_max:
                retry_after = math.ceil((recent[-1] + window - now).total_seconds())
                raise FeedbackLimitReached(count_max, max(1, retry_after))
            feedback_id = (
                await connection.execute(insert(FEEDBACK).values(values).returning(FEEDBACK.c.id))
            ).scalar_one()
        return _feedback_from({**values, "id": feedback_id, "answer": None})

    async def get(self, feedback_id: int) -> Feedback:
        """The feedback with this id. Raises ``FeedbackNotFound``."""
        async with self._engine.connect() as connection:
            row = (await connection.execute(select(FEEDBACK).where(FEEDBACK.c.id == feedback_id))).first()
        if row is None:
            raise FeedbackNotFound(feedback_id)
        return _feedback_from(row._mapping)

    async def of_person(self, person_id: PersonId, before: int | None, count: int) -> list[Feedback]:
        """Up to ``count`` of the person's feedback, newest first, below the id ``before``."""
        statement = select(FEEDBACK).where(FEEDBACK.c.person_id == person_id)
        return await self._listed(statement, before, count)

    async def within(
        self, reach: Reach, status: FeedbackStatus | None, before: int | None, count: int
    ) -> list[Feedback]:
        """Up to ``count`` feedback about institutions in ``reach``, newest first, below the id ``before``."""
        statement = select(FEEDBACK)
        if reach.institution is None:
            statement = statement.join(INSTITUTION, INSTITUTION.c.code == FEEDBACK.c.institution)
        statement = statement.where(*_reached(reach))
        if status is not None:
            statement = statement.where(
                FEEDBACK.c.answer.is_(None) if status is FeedbackStatus.OPEN else FEEDBACK.c.answer.is_not(None)
            )
        return await self._listed(statement, before, count)

    async def answer(self, feedback_id: int, text: str, *, at: datetime, by: TokenId) -> Feedback:
        """Answer the feedback once. Raises ``FeedbackNotFound`` and ``FeedbackAlreadyAnswered``."""
        statement = (
            update(FEEDBACK)
            .where(FEEDBACK.c.id == feedback_id, FEEDBACK.c.answer.is_(None))
            .values(answer=text, answered_at=at, answered_by_token_id=by)
            .returning(*FEEDBACK.c)
        )
        async with self._engine.begin() as connection:
            row = (await connection.execute(statement)).first()
        if row is not None:
            return _feedback_from(row._mapping)
        await self.get(feedback_id)  # raises FeedbackNotFound for an id that names nothing
        raise FeedbackAlreadyAnswered(feedback_id)

    async def _listed(self, statement: Select[Any], before: int | None, count: int) -> list[Feedback]:
        if before is not None:
            statement = statement.where(FEEDBACK.c.id < before)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(statement.order_by(FEEDBACK.c.id.desc()).limit(count))).all()
        return [_feedback_from(row._mapping) for row in rows]


async def _serialise_person(connection: AsyncConnection, person_id: str) -> None:
    """Make one person's submissions wait for each other, so that the count before a write holds."""
    if connection.dialect.name == "postgresql":
        # SQLite transactions begin IMMEDIATE and so queue already.
        digest = hashlib.sha256(f"feedback:{person_id}".encode()).hexdigest()
        await connection.execute(select(func.pg_advisory_xact_lock(int(digest[:_ADVISORY_LOCK_HEX_DIGITS], 16))))


def _reached(reach: Reach) -> list[ColumnElement[bool]]:
    if reach.institution is not None:
        return [FEEDBACK.c.institution == reach.institution]
    if reach.department is not None:
        return [INSTITUTION.c.department == reach.department]
    return [INSTITUTION.c.region.in_(sorted(reach.regions or ()))]


def _feedback_from(row: Any) -> Feedback:
    answer = row["answer"]
    return Feedback(
        id=FeedbackId(row["id"]),
        person_id=PersonId(row["person_id"]),
        institution=row["institution"],
        subject=row["subject"],
        text=row["text"],
        submitted_at=row["submitted_at"],
        answer=None if answer is None else Answer(answer, row["answered_at"], TokenId(row["answered_by_token_id"])),
    )
