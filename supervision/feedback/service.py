"""Feedback's use cases: staff send it and read the answers; supervisors list what is in their reach and
answer it, and the sender gets a staff message saying so. The clock is passed in, so the daily limit is
tested without waiting."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from ledger.model import PersonId
from sso.access.model import TokenId
from sso.errors import UnknownOrganisationCode
from sso.units.service import OrganisationService
from supervision.errors import FieldError, InvalidSupervisionRequest
from supervision.feedback.model import (
    FEEDBACK_PER_WINDOW_MAX,
    FEEDBACK_WINDOW_SECONDS,
    Feedback,
    FeedbackId,
    FeedbackPage,
    FeedbackStatus,
    answer_message,
    parse_answer,
    parse_feedback,
)
from supervision.feedback.store import SqlFeedbackStore
from supervision.model import PAGE_SIZE_MAX, Clock, Reach, utc_now
from supervision.ports import StaffMessages

__all__ = ["FeedbackDesk"]


class FeedbackDesk:
    """Feedback on violations, kept in the hub's database."""

    def __init__(
        self,
        store: SqlFeedbackStore,
        organisation: OrganisationService,
        messages: StaffMessages,
        clock: Clock = utc_now,
    ) -> None:
        self._store = store
        self._organisation = organisation
        self._messages = messages
        self._clock = clock

    async def submit(self, person_id: PersonId, own_institution: str, form: Mapping[str, object]) -> Feedback:
        """Keep a person's feedback about the institution the form names, or else their own.

        Raises ``InvalidSupervisionRequest`` listing every field at fault (an unknown institution too),
        and ``FeedbackLimitReached`` once the person sent ``FEEDBACK_PER_WINDOW_MAX`` within a day.
        """
        checked = parse_feedback(form)
        institution = own_institution if checked.institution is None else checked.institution
        try:
            await self._organisation.institution(institution)
        except UnknownOrganisationCode:
            raise InvalidSupervisionRequest([FieldError("institution", "is not an institution")]) from None
        return await self._store.add(
            person_id,
            institution,
            checked,
            now=self._clock(),
            window=timedelta(seconds=FEEDBACK_WINDOW_SECONDS),
            count_max=FEEDBACK_PER_WINDOW_MAX,
        )

    async def of_person(self, person_id: PersonId, before: FeedbackId | None, limit: int) -> FeedbackPage:
        """The person's own feedback with its answers, newest first."""
        return _page(await self._store.of_person(person_id, before, limit + 1), limit)

    async def all_of(self, person_id: PersonId) -> list[Feedback]:
        """Every feedback the person sent, with its answers, newest first."""
        found: list[Feedback] = []
        before: FeedbackId | None = None
        while True:
            page = await self.of_person(person_id, before, PAGE_SIZE_MAX)
            found += page.items
            if page.next_before is None:
                return found
            before = page.next_before

    async def within(
        self, reach: Reach, status: FeedbackStatus | None, before: FeedbackId | None, limit: int
    ) -> FeedbackPage:
        """Feedback about the institutions in ``reach``, newest first, open or answered or both."""
        return _page(await self._store.within(reach, status, before, limit + 1), limit)

    async def get(self, feedback_id: int) -> Feedback:
        """The feedback with this id. Raises ``FeedbackNotFound``."""
        return await self._store.get(feedback_id)

    async def answer(self, feedback_id: int, form: Mapping[str, object], *, by: TokenId) -> Feedback:
        """Answer the feedback from a form of ``text``, once, and tell the sender in a staff message.

        Raises ``InvalidSupervisionRequest``, ``FeedbackNotFound`` and ``FeedbackAlreadyAnswered``.
        """
        text = parse_answer(form)
        answered = await self._store.answer(feedback_id, text, at=self._clock(), by=by)
        # After the answer is kept: an answer without its message is better than a message without an answer.
        await self._messages.send([answer_message(answered)])
        return answered


def _page(found: list[Feedback], limit: int) -> FeedbackPage:
    shown = tuple(found[:limit])
    return FeedbackPage(shown, shown[-1].id if len(found) > limit else None)
