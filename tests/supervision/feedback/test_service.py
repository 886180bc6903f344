"""Feedback on both databases: sent about an institution, limited per day, listed within a scope's reach
newest first, answered once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.model import PersonId
from sso.access.model import Scope, ScopeKind, TokenId
from sso.organisation import load_organisation
from sso.units.service import OrganisationService
from supervision.errors import (
    FeedbackAlreadyAnswered,
    FeedbackLimitReached,
    FeedbackNotFound,
    InvalidSupervisionRequest,
)
from supervision.feedback.model import FEEDBACK_PER_WINDOW_MAX, FEEDBACK_WINDOW_SECONDS, FeedbackStatus
from supervision.feedback.service import FeedbackDesk
from supervision.feedback.store import SqlFeedbackStore
from supervision.model import StaffMessageKind, reach_of

from ...sso.clock import Clock
from ..conftest import RecordingMessages

ORGANISATION_FILE = Path(__file__).parents[3] / "config" / "organisation" / "hunan.json"
ANNA, BO = PersonId("a" * 32), PersonId("b" * 32)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2021, 12, 1, 8, 0, tzinfo=UTC))


@pytest.fixture
async def desk(engine: AsyncEngine, clock: Clock, messages: RecordingMessages) -> FeedbackDesk:
    organisation = OrganisationService(engine)
    await organisation.replace(load_organisation(ORGANISATION_FILE))
    return FeedbackDesk(SqlFeedbackStore(engine), organisation, messages, clock)


def _form(subject: str = "强制指定平台", institution: str | None = None) -> dict[str, object]:
    form: dict[str, object] = {"subject": subject, "text": "单位要求只在一家平台学习。"}
    if institution is not None:
        form["institution"] = institution
    return form


async def test_feedback_is_about_the_senders_institution_unless_they_name_another(desk: FeedbackDesk) -> None:
    own = await desk.submit(ANNA, "430181-0001", _form())
    other = await desk.submit(ANNA, "430181-0001", _form(institution="430100-0001"))

    assert (own.institution, own.status, own.answer) == ("430181-0001", FeedbackStatus.OPEN, None)
    assert other.institution == "430100-0001"
    assert await desk.get(own.id) == own
    with pytest.raises(InvalidSupervisionRequest, match="institution: is not an institution"):
        await desk.submit(ANNA, "430181-0001", _form(institution="430999-0001"))


async def test_a_person_sends_at_most_five_a_day(desk: FeedbackDesk, clock: Clock) -> None:
    for number in range(FEEDBACK_PER_WINDOW_MAX):
        await desk.submit(ANNA, "430181-0001", _form(f"第{number}次"))
        clock.advance(3600)

    with pytest.raises(FeedbackLimitReached) as limited:
        await desk.submit(ANNA, "430181-0001", _form())
    await desk.submit(BO, "430181-0001", _form())  # another person is not held back
    clock.advance(limited.value.retry_after_seconds)
    await desk.submit(ANNA, "430181-0001", _form("一天以后"))

    # The first left the window 24 hours after it was sent, 5 hours into this clock.
    assert limited.value.retry_after_seconds == FEEDBACK_WINDOW_SECONDS - 5 * 3600
    assert len((await desk.of_person(ANNA, None, 50)).items) == FEEDBACK_PER_WINDOW_MAX + 1


async def test_a_supervisor_lists_the_feedback_about_what_their_scope_reaches(desk: FeedbackDesk) -> None:
    hunan = load_organisation(ORGANISATION_FILE)
    sent = {
        unit: (await desk.submit(ANNA, unit, _form(institution=unit))).id
        for unit in ("430100-0001", "430181-0001", "430181-0002", "430200-0001")
    }

    async def listed(kind: ScopeKind, code: str, status: FeedbackStatus | None = None) -> list[int]:
        page = await desk.within(reach_of(hunan, Scope(kind, code)), status, None, 50)
        return [feedback.id for feedback in page.items]

    await desk.answer(sent["430181-0002"], {"text": "已核实整改。"}, by=TokenId(7))

    assert await listed(ScopeKind.DEPARTMENT, "430100-personnel") == [
        sent["430181-0002"],
        sent["430181-0001"],
        sent["430100-0001"],
    ]
    assert await listed(ScopeKind.DEPARTMENT, "430100-personnel", FeedbackStatus.OPEN) == [
        sent["430181-0001"],
        sent["430100-0001"],
    ]
    assert await listed(ScopeKind.DEPARTMENT, "430100-personnel", FeedbackStatus.ANSWERED) == [sent["430181-0002"]]
    assert await listed(ScopeKind.DEPARTMENT, "430181-health") == [sent["430181-0001"]]
    assert await listed(ScopeKind.INSTITUTION, "430200-0001") == [sent["430200-0001"]]
    assert await listed(ScopeKind.DEPARTMENT, "430000-personnel") == sorted(sent.values(), reverse=True)


async def test_pages_continue_below_the_last_id(desk: FeedbackDesk) -> None:
    hunan = load_organisation(ORGANISATION_FILE)
    reach = reach_of(hunan, Scope(ScopeKind.INSTITUTION, "430181-0001"))
    ids = [(await desk.submit(PersonId(f"{n:032x}"), "430181-0001", _form())).id for n in range(5)]

    first = await desk.within(reach, None, None, 2)
    second = await desk.within(reach, None, first.next_before, 2)
    last = await desk.within(reach, None, second.next_before, 2)

    assert [feedback.id for page in (first, second, last) for feedback in page.items] == ids[::-1]
    assert last.next_before is None


async def test_feedback_is_answered_once_and_its_sender_told(
    desk: FeedbackDesk, clock: Clock, messages: RecordingMessages
) -> None:
    feedback = await desk.submit(ANNA, "430181-0001", _form())
    clock.advance(600)

    answered = await desk.answer(feedback.id, {"text": "已责令整改。"}, by=TokenId(3))

    assert answered.status is FeedbackStatus.ANSWERED
    assert answered.answer is not None
    assert (answered.answer.text, answered.answer.answered_at, answered.answer.answered_by) == (
        "已责令整改。",
        clock.now,
        3,
    )
    assert (await desk.of_person(ANNA, None, 10)).items == (answered,)
    with pytest.raises(FeedbackAlreadyAnswered):
        await desk.answer(feedback.id, {"text": "再答一次"}, by=TokenId(4))
    with pytest.raises(FeedbackNotFound):
        await desk.answer(feedback.id + 1, {"text": "无此反馈"}, by=TokenId(4))
    with pytest.raises(FeedbackNotFound):
        await desk.get(feedback.id + 1)
    assert (await desk.get(feedback.id)).answer == answered.answer
    (told,) = messages.sent
    assert (told.person_id, told.kind, told.title, told.link) == (
        ANNA,
        StaffMessageKind.FEEDBACK_ANSWERED,
        "您的反馈已有答复",
        "/me/feedback",
    )
    assert told.body == "关于“强制指定平台”的反馈已有答复：已责令整改。"


async def test_a_long_answer_is_cut_short_in_its_message(desk: FeedbackDesk, messages: RecordingMessages) -> None:
    feedback = await desk.submit(ANNA, "430181-0001", _form())

    answered = await desk.answer(feedback.id, {"text": "答" * 2000}, by=TokenId(3))

    assert answered.answer is not None
    assert len(answered.answer.text) == 2000
    (told,) = messages.sent
    assert (len(told.body), told.body[-2:]) == (1000, "答…")
