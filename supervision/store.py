"""The outbox of staff messages on SQL: the ``StaffMessages`` of a hub without a staff messages store."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.model import PersonId
from supervision.model import Clock, StaffMessage, StaffMessageKind, utc_now
from supervision.tables import OutboxMessageRow

OUTBOX: Final[Table] = OutboxMessageRow.metadata.tables["supervision_outbox"]
OUTBOX_LISTED_MAX: Final = 1000


class SqlOutbox:
    """Staff messages kept whole in supervision's outbox, each call one transaction."""

    def __init__(self, engine: AsyncEngine, clock: Clock = utc_now) -> None:
        self._engine = engine
        self._clock = clock

    async def send(self, messages: Sequence[StaffMessage]) -> None:
        """Keep the messages, stamped now, all of them or none."""
        if not messages:
            return
        now = self._clock()
        rows = [
            {
                "person_id": message.person_id,
                "kind": message.kind.value,
                "title": message.title,
                "body": message.body,
                "link": message.link,
                "created_at": now,
            }
            for message in messages
        ]
        async with self._engine.begin() as connection:
            await connection.execute(insert(OUTBOX), rows)

    async def of_person(self, person_id: PersonId) -> list[StaffMessage]:
        """The messages kept for the person, oldest first (up to ``OUTBOX_LISTED_MAX``)."""
        statement = select(OUTBOX).where(OUTBOX.c.person_id == person_id).order_by(OUTBOX.c.id).limit(OUTBOX_LISTED_MAX)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(statement)).all()
        return [
            StaffMessage(PersonId(row.person_id), StaffMessageKind(row.kind), row.title, row.body, row.link)
            for row in rows
        ]
