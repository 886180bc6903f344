"""Staff messages on SQL. ``insert_messages`` writes in a transaction the caller holds, so that a
message and what it tells of commit together; ``SqlMessageStore`` runs its own."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Row, Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ledger.model import PersonId
from sso.messages.model import Message, MessageKind, MessageQuery, NewMessage, ReadState
from sso.messages.tables import StaffMessageRow

__all__ = ["SqlMessageStore", "insert_messages"]

MESSAGES: Final[Table] = StaffMessageRow.metadata.tables["staff_message"]


async def insert_messages(connection: AsyncConnection, messages: Sequence[NewMessage], now: datetime) -> None:
    """Add messages in the caller's open transaction."""
    if not messages:
        return
    await connection.execute(
        insert(MESSAGES),
        [
            {
                "person_id": message.person_id,
                "kind": message.kind.value,
                "title": message.title,
                "body": message.body,
                "link": message.link,
                "created_at": now,
                "read_at": None,
            }
            for message in messages
        ],
    )


class SqlMessageStore:
    """The messages table behind one engine; each method is one transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(self, messages: Sequence[NewMessage], now: datetime) -> None:
        async with self._engine.begin() as connection:
            await insert_messages(connection, messages, now)

    async def page(self, person_id: PersonId, query: MessageQuery, limit: int) -> tuple[list[Message], int]:
        """Up to ``limit`` of the person's messages that match, newest first, and their unread count."""
        conditions = [MESSAGES.c.person_id == person_id]
        if query.state is ReadState.UNREAD:
            conditions.append(MESSAGES.c.read_at.is_(None))
        elif query.state is ReadState.READ:
            conditions.append(MESSAGES.c.read_at.is_not(None))
        if query.before_id is not None:
            conditions.append(MESSAGES.c.id < query.before_id)
        unread = select(func.count()).where(MESSAGES.c.person_id == person_id, MESSAGES.c.read_at.is_(None))
        async with self._engine.connect() as connection:
            rows = (
                await connection.execute(
                    select(MESSAGES).where(*conditions).order_by(MESSAGES.c.id.desc()).limit(limit)
                )
            ).all()
            count: int = (await connection.execute(unread)).scalar_one()
        return [_message(row) for row in rows], count

    async def mark_read(self, person_id: PersonId, message_id: int, now: datetime) -> Message | None:
        """Mark the person's message read (once: a second time keeps the first moment); ``None`` when
        the person has no message with this id."""
        mine = (MESSAGES.c.id == message_id, MESSAGES.c.person_id == person_id)
        async with self._engine.begin() as connection:
            await connection.execute(update(MESSAGES).where(*mine, MESSAGES.c.read_at.is_(None)).values(read_at=now))
            row = (await connection.execute(select(MESSAGES).where(*mine))).first()
        return None if row is None else _message(row)


def _message(row: Row[Any]) -> Message:
    return Message(
        id=row.id,
        person_id=PersonId(row.person_id),
        kind=MessageKind(row.kind),
        title=row.title,
        body=row.body,
        link=row.link,
        created_at=row.created_at,
        read_at=row.read_at,
    )
