"""A scratch PostgreSQL database for one benchmark run: created and migrated, then dropped.

The machine's PostgreSQL is ``HUB_BENCH_POSTGRESQL_URL`` (default 127.0.0.1:5432, database ``test``).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
from sqlalchemy import make_url

from gateway.database import migrate

ADMIN_URL = os.environ.get("HUB_BENCH_POSTGRESQL_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


async def connect(url: str) -> asyncpg.Connection:
    """A plain asyncpg connection to the database of an SQLAlchemy URL."""
    parsed = make_url(url)
    return await asyncpg.connect(host=parsed.host, port=parsed.port, user=parsed.username, database=parsed.database)


async def _admin(statement: str) -> None:
    connection = await connect(ADMIN_URL)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextmanager
def scratch_database() -> Iterator[str]:
    """The SQLAlchemy URL of a new, migrated database, dropped when the block ends."""
    name = f"hub_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        migrate(url)
        yield url
    finally:
        asyncio.run(_admin(f'DROP DATABASE "{name}" WITH (FORCE)'))
