"""Notices on SQL (SQLite or PostgreSQL): each method one transaction."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sso.access.model import TokenId
from supervision.errors import NoticeLimitReached
from supervision.notices.model import Notice, NoticeForm, NoticeId
from supervision.notices.tables import NoticeRow

NOTICE: Final[Table] = NoticeRow.metadata.tables["supervision_notice"]
NOTICE_LOCK_SPACE: Final = 0x4E4F54  # "NOT": the advisory locks that make one token's notices wait for each other


class SqlNoticeStore:
    """Notices in the hub's database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(
        self,
        form: NoticeForm,
        *,
        scope_code: str,
        unit_code: str,
        sent_by: TokenId,
        now: datetime,
        window: timedelta,
        count_max: int,
    ) -> Notice:
        """Keep a notice about to be sent, unless the token sent ``count_max`` within ``window`` before ``now``.

        Raises ``NoticeLimitReached`` with the seconds until one of those leaves the window.
        """
        values = {
            "scope_code": scope_code,
            "unit_code": unit_code,
            "title": form.title,
            "body": form.body,
            "sent_at": now,
            "sent_by_token_id": sent_by,
            "recipients": 0,
        }
        async with self._engine.begin() as connection:
            await _serialise_token(connection, sent_by)
            recent = (
                (
                    await connection.execute(
                        select(NOTICE.c.sent_at)
                        .where(NOTICE.c.sent_by_token_id == sent_by, NOTICE.c.sent_at > now - window)
                        .order_by(NOTICE.c.sent_at.desc())
                        .limit(count_max)
                    )
                )
                .scalars()
                .all()
            )
            if len(recent) >= count_max:
                retry_after = math.ceil((recent[-1] + window - now).total_seconds())
                raise NoticeLimitReached(count_max, max(1, retry_after))
            notice_id = (await connection.execute(insert(NOTICE).values(values).returning(NOTICE.c.id))).scalar_one()
        return _notice_from({**values, "id": notice_id})

    async def reached(self, notice_id: NoticeId, people: int) -> Notice:
        """Count ``people`` more whom the notice has reached."""
        statement = (
            update(NOTICE)
            .where(NOTICE.c.id == notice_id)
            .values(recipients=NOTICE.c.recipients + people)
            .returning(*NOTICE.c)
        )
        async with self._engine.begin() as connection:
            row = (await connection.execute(statement)).one()
        return _notice_from(row._mapping)

    async def sent_from(self, scope_code: str, before: int | None, count: int) -> list[Notice]:
        """Up to ``count`` notices sent by supervisors of the unit ``scope_code``, newest first, below ``before``."""
        statement = select(NOTICE).where(NOTICE.c.scope_code == scope_code)
        if before is not None:
            statement = statement.where(NOTICE.c.id < before)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(statement.order_by(NOTICE.c.id.desc()).limit(count))).all()
        return [_notice_from(row._mapping) for row in rows]


async def _serialise_token(connection: AsyncConnection, token_id: int) -> None:
    """Make one token's notices wait for each other, so that the count before a write holds."""
    if connection.dialect.name == "postgresql":
        # SQLite transactions begin IMMEDIATE and so queue already.
        await connection.execute(select(func.pg_advisory_xact_lock(NOTICE_LOCK_SPACE, token_id)))


def _notice_from(row: Any) -> Notice:
    return Notice(
        id=NoticeId(row["id"]),
        scope_code=row["scope_code"],
        unit_code=row["unit_code"],
        title=row["title"],
        body=row["body"],
        sent_at=row["sent_at"],
        sent_by=TokenId(row["sent_by_token_id"]),
        recipients=row["recipients"],
    )
