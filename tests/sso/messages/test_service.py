"""Staff messages on both databases: sent, listed newest first in pages, read once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.model import PersonId
from sso.messages.errors import InvalidMessageQuery, MessageNotFound
from sso.messages.model import MessageKind, MessageQuery, NewMessage, ReadState, parse_message_query
from sso.messages.service import Messages
from sso.messages.store import SqlMessageStore

from ..clock import Clock

ALICE, BOB = PersonId("alice"), PersonId("bob")


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2021, 12, 1, tzinfo=UTC))


@pytest.fixture
def messages(engine: AsyncEngine, clock: Clock) -> Messages:
    return Messages(SqlMessageStore(engine), clock=clock)


def _message(person: PersonId, number: int) -> NewMessage:
    return NewMessage(person, MessageKind.CERTIFICATE_ISSUED, f"标题 {number}", f"正文 {number}", f"/x/{number}")


async def test_messages_are_listed_newest_first_in_pages(messages: Messages, clock: Clock) -> None:
    for number in range(5):
        await messages.send(_message(ALICE, number))
        clock.advance(1)
    await messages.send(_message(BOB, 99))

    first = await messages.page(ALICE, MessageQuery(limit=2))
    second = await messages.page(ALICE, parse_message_query({"limit": "2", "cursor": first.next_cursor or ""}))
    last = await messages.page(ALICE, parse_message_query({"limit": "2", "cursor": second.next_cursor or ""}))

    assert [message.title for message in first.messages] == ["标题 4", "标题 3"]
    assert [message.title for message in second.messages] == ["标题 2", "标题 1"]
    assert [message.title for message in last.messages] == ["标题 0"]
    assert last.next_cursor is None
    assert first.unread == 5


async def test_a_message_read_leaves_the_unread_list_and_keeps_its_first_reading(
    messages: Messages, clock: Clock
) -> None:
    await messages.send(_message(ALICE, 1), _message(ALICE, 2))
    listed = await messages.page(ALICE, MessageQuery())
    read_id = listed.messages[1].id

    clock.advance(60)
    read = await messages.mark_read(ALICE, read_id)
    clock.advance(60)
    again = await messages.mark_read(ALICE, read_id)

    assert read.read_at == again.read_at == datetime(2021, 12, 1, 0, 1, tzinfo=UTC)
    unread = await messages.page(ALICE, MessageQuery(state=ReadState.UNREAD))
    done = await messages.page(ALICE, MessageQuery(state=ReadState.READ))
    assert [message.title for message in unread.messages] == ["标题 2"]
    assert [message.title for message in done.messages] == ["标题 1"]
    assert unread.unread == done.unread == 1


async def test_another_persons_message_cannot_be_marked_read(messages: Messages) -> None:
    await messages.send(_message(BOB, 1))
    (bobs,) = (await messages.page(BOB, MessageQuery())).messages

    with pytest.raises(MessageNotFound):
        await messages.mark_read(ALICE, bobs.id)
    with pytest.raises(MessageNotFound):
        await messages.mark_read(ALICE, 0)
    assert not (await messages.page(BOB, MessageQuery())).messages[0].read


def test_a_bad_query_names_every_parameter_at_fault() -> None:
    with pytest.raises(InvalidMessageQuery) as refused:
        parse_message_query({"status": "new", "cursor": "bogus!", "limit": "0", "page": "2"})

    assert [error.field for error in refused.value.errors] == ["page", "status", "cursor", "limit"]


def test_a_message_over_its_limits_is_a_bug_of_its_sender() -> None:
    with pytest.raises(ValueError, match="title"):
        NewMessage(ALICE, MessageKind.CERTIFICATE_ISSUED, "", "body")
    with pytest.raises(ValueError, match="body"):
        NewMessage(ALICE, MessageKind.CERTIFICATE_ISSUED, "title", "x" * 1001)
