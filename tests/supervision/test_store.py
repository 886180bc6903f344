"""The outbox of staff messages on both databases: each person's messages kept whole, in order."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.model import PersonId
from supervision.model import StaffMessage, StaffMessageKind
from supervision.store import SqlOutbox

ANNA, BO = PersonId("a" * 32), PersonId("b" * 32)


def _notice(person_id: PersonId, title: str = "通知") -> StaffMessage:
    return StaffMessage(person_id, StaffMessageKind.SUPERVISOR_NOTICE, title, "请于12月31日前完成学时。")


async def test_the_outbox_keeps_each_persons_messages_whole(engine: AsyncEngine) -> None:
    outbox = SqlOutbox(engine, lambda: datetime(2021, 12, 1, tzinfo=UTC))
    answer = StaffMessage(ANNA, StaffMessageKind.FEEDBACK_ANSWERED, "答复", "已整改。", "/api/v1/me/feedback")

    await outbox.send([_notice(ANNA), _notice(BO)])
    await outbox.send([answer])
    await outbox.send([])

    assert await outbox.of_person(ANNA) == [_notice(ANNA), answer]
    assert await outbox.of_person(BO) == [_notice(BO)]
