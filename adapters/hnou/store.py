"""The nonces of hnou's signed notifications, in the hub's database (SQLite or PostgreSQL).

One transaction per nonce: it prunes a bounded number of expired nonces (skipping rows another
process is pruning) and inserts the new one under its primary key. The insert is the check: of two
requests with one nonce, in one process or two, exactly one inserts it. A nonce seen longer ago
than the memory counts as new, even before it is pruned. Database errors become ``HnouUnavailable``
here and nowhere else.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import Delete, Executable, Table, delete, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.hnou.errors import HnouUnavailable
from adapters.hnou.form import NONCE_MEMORY_SECONDS
from adapters.hnou.tables import HnouNonceRow

NONCE: Final[Table] = HnouNonceRow.metadata.tables["hnou_nonce"]
PRUNED_PER_USE_MAX: Final = 100
"""Expired nonces deleted by one use: more than arrive in one use, so the table cannot grow."""


class SqlNonceRegister:
    """The ``NonceRegister`` on the hub's database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def first_use(self, appid: str, nonce: str, now: datetime) -> bool:
        """Remember the nonce; ``False`` when it was used in the last ``NONCE_MEMORY_SECONDS``.

        Raises ``HnouUnavailable`` when the database cannot store it.
        """
        cutoff = now - timedelta(seconds=NONCE_MEMORY_SECONDS)
        try:
            async with self._engine.begin() as connection:
                await connection.execute(_prune(cutoff))
                inserted = await connection.execute(_insert(connection.dialect.name, appid, nonce, now, cutoff))
        except (DBAPIError, OSError) as exc:
            raise HnouUnavailable("the nonces cannot be stored: the database cannot be reached") from exc
        return bool(inserted.rowcount == 1)


def _prune(cutoff: datetime) -> Delete:
    expired = (
        select(NONCE.c.appid, NONCE.c.nonce)
        .where(NONCE.c.seen_at < cutoff)
        .order_by(NONCE.c.seen_at)
        .limit(PRUNED_PER_USE_MAX)
        .with_for_update(skip_locked=True)  # PostgreSQL: leave rows another process is pruning
    )
    return delete(NONCE).where(tuple_(NONCE.c.appid, NONCE.c.nonce).in_(expired))


def _insert(dialect: str, appid: str, nonce: str, now: datetime, cutoff: datetime) -> Executable:
    upsert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(NONCE)
    statement = upsert.values(appid=appid, nonce=nonce, seen_at=now)
    # A row of the same nonce that is past the memory (not yet pruned) is taken over; a fresh one
    # stays, and no row changes: the nonce was reused.
    return statement.on_conflict_do_update(
        index_elements=[NONCE.c.appid, NONCE.c.nonce],
        set_={"seen_at": statement.excluded.seen_at},
        where=NONCE.c.seen_at < cutoff,
    )
