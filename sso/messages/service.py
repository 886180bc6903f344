"""Staff messages' use cases: send, list a page, mark one read. The clock is passed in."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from ledger.model import PersonId
from sso.messages.errors import MessageNotFound
from sso.messages.model import MESSAGES_PAGE_SIZE_MAX, Message, MessagePage, MessageQuery, NewMessage, encode_cursor
from sso.messages.store import SqlMessageStore

__all__ = ["Messages"]

Clock = Callable[[], datetime]
MESSAGE_ID_MAX = 2**63 - 1
MESSAGES_HELD_MAX = 10_000


def utc_now() -> datetime:
    return datetime.now(UTC)


class Messages:
    """The messages the hub sends to staff."""

    def __init__(self, store: SqlMessageStore, clock: Clock = utc_now) -> None:
        self._store = store
        self._clock = clock

    async def send(self, *messages: NewMessage) -> None:
        """Store messages for their people, in one transaction, stamped now."""
        await self._store.add(messages, self._clock())

    async def page(self, person_id: PersonId, query: MessageQuery) -> MessagePage:
        """The person's messages that match, newest first, with a cursor to older ones when there are more."""
        limit = min(query.limit, MESSAGES_PAGE_SIZE_MAX)
        found, unread = await self._store.page(person_id, query, limit + 1)
        shown: Sequence[Message] = found[:limit]
        cursor = encode_cursor(shown[-1].id) if len(found) > limit else None
        return MessagePage(messages=tuple(shown), next_cursor=cursor, unread=unread)

    async def all_of(self, person_id: PersonId) -> list[Message]:
        """Every message of the person, newest first (at most ``MESSAGES_HELD_MAX``), for their data download."""
        found, _unread = await self._store.page(person_id, MessageQuery(), MESSAGES_HELD_MAX)
        return found

    async def mark_read(self, person_id: PersonId, message_id: int) -> Message:
        """Mark one of the person's messages read. Raises ``MessageNotFound`` for any other id."""
        if not 0 < message_id <= MESSAGE_ID_MAX:
            raise MessageNotFound
        message = await self._store.mark_read(person_id, message_id, self._clock())
        if message is None:
            raise MessageNotFound
        return message
