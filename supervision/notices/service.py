"""Notices' use cases: a supervisor sends one to the staff of a unit, a page of people at a time, and
lists what their unit has sent. The clock is passed in, so the daily limit is tested without waiting."""

from __future__ import annotations

from datetime import timedelta

from sso.access.model import Scope, TokenId
from supervision.model import Clock, StaffMessage, StaffMessageKind, utc_now
from supervision.notices.model import (
    NOTICES_PER_WINDOW_MAX,
    NOTICES_WINDOW_SECONDS,
    Notice,
    NoticeForm,
    NoticeId,
    NoticePage,
)
from supervision.notices.store import SqlNoticeStore
from supervision.ports import StaffMessages
from supervision.reports.model import Report
from supervision.reports.ports import Rosters
from supervision.reports.service import institution_chunks, roster_pages

__all__ = ["NoticeBoard"]


class NoticeBoard:
    """Notices from supervisors, kept in the hub's database and delivered as staff messages."""

    def __init__(
        self, store: SqlNoticeStore, rosters: Rosters, messages: StaffMessages, clock: Clock = utc_now
    ) -> None:
        self._store = store
        self._rosters = rosters
        self._messages = messages
        self._clock = clock

    async def send(self, report: Report, checked: NoticeForm, *, scope: Scope, by: TokenId) -> Notice:
        """Send the notice to every active person the report covers, a roster page per call of the
        messages' port; returns it with the number of people it reached.

        Raises ``NoticeLimitReached`` once the token sent ``NOTICES_PER_WINDOW_MAX`` within a day.
        """
        notice = await self._store.add(
            checked,
            scope_code=scope.code,
            unit_code=report.unit.code,
            sent_by=by,
            now=self._clock(),
            window=timedelta(seconds=NOTICES_WINDOW_SECONDS),
            count_max=NOTICES_PER_WINDOW_MAX,
        )
        for chunk in institution_chunks(report.institutions):
            async for members in roster_pages(self._rosters, chunk, None):
                await self._messages.send(
                    [
                        StaffMessage(member.person_id, StaffMessageKind.SUPERVISOR_NOTICE, checked.title, checked.body)
                        for member in members
                    ]
                )
                # Counted page by page: a notice broken off says how far it got.
                notice = await self._store.reached(notice.id, len(members))
        return notice

    async def sent_from(self, scope: Scope, before: NoticeId | None, limit: int) -> NoticePage:
        """The notices sent by supervisors of the scope's unit, newest first."""
        found = await self._store.sent_from(scope.code, before, limit + 1)
        shown = tuple(found[:limit])
        return NoticePage(shown, shown[-1].id if len(found) > limit else None)
