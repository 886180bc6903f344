"""The async engine for the configured database, and its schema migrations.

SQLite (the embedded default) runs in WAL mode with every transaction begun ``IMMEDIATE``,
so that a writer holds the write lock from its first read and concurrent writers queue
instead of failing half-way. PostgreSQL needs nothing special here: the ledger serialises
its appenders with an advisory lock.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import MetaData, event, make_url
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel import SQLModel

import adapters.hnou.tables
import adapters.ingestion.tables  # noqa: F401  (the last import that binds `adapters`)
import gateway.tables  # noqa: F401  (the runs of scheduled jobs)
import ledger.exports.tables
import ledger.reconciliation.tables
import ledger.tables  # noqa: F401  (importing a package's tables registers them on the metadata)
import sso.access.tables
import sso.certificates.tables
import sso.handoff.tables
import sso.messages.tables
import sso.people.tables
import sso.units.tables  # noqa: F401  (the last import that binds `sso`)
import supervision.feedback.tables
import supervision.notices.tables  # noqa: F401  (the last import that binds `supervision`)
import trainings.tables  # noqa: F401

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_PATH = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MILLISECONDS = 30_000
POOL_SIZE = 10
POOL_TIMEOUT_SECONDS = 30
POSTGRESQL_CONNECT_TIMEOUT_SECONDS = 10


def create_engine(database_url: str) -> AsyncEngine:
    """An engine for ``sqlite+aiosqlite`` or ``postgresql+asyncpg``; creates an SQLite file's folder."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, pool_pre_ping=True)
        event.listen(engine.sync_engine, "connect", _configure_sqlite_connection)
        event.listen(engine.sync_engine, "begin", _begin_immediate)
        return engine
    return create_async_engine(
        url,
        pool_pre_ping=True,
        pool_size=POOL_SIZE,
        pool_timeout=POOL_TIMEOUT_SECONDS,
        connect_args={"timeout": POSTGRESQL_CONNECT_TIMEOUT_SECONDS},
    )


def _configure_sqlite_connection(dbapi_connection: Any, _record: object) -> None:
    # Take over transaction control from the sqlite3 module, so ``_begin_immediate`` decides.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        "synchronous=FULL",  # an accepted record survives a power cut, not only a crash
        f"busy_timeout={SQLITE_BUSY_TIMEOUT_MILLISECONDS}",
        "foreign_keys=ON",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _begin_immediate(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def metadata() -> MetaData:
    """Every table of the hub: each package registers its own on SQLModel's metadata."""
    return SQLModel.metadata


def alembic_config(database_url: str) -> Config:
    # Imported by what migrates, not by every process that opens the hub: a third of this module's import.
    from alembic.config import Config  # noqa: PLC0415

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_PATH))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def migrate(database_url: str, revision: str = "head") -> None:
    """Create or upgrade the schema. Blocking: Alembic drives its own event loop in ``env.py``."""
    from alembic import command  # noqa: PLC0415  (see alembic_config)

    command.upgrade(alembic_config(database_url), revision)
