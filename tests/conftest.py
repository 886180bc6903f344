"""Fixtures shared by every test: a clean, migrated database on SQLite and on PostgreSQL.

PostgreSQL is the machine's own (``HUB_TEST_POSTGRESQL_URL``, default 127.0.0.1:5432, database
``test``). Each test session creates a database of its own there and drops it at the end. When
PostgreSQL cannot be reached its tests are skipped, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.bootstrap import ensure_keyring
from gateway.database import create_engine, metadata, migrate

POSTGRESQL_ADMIN_URL = os.environ.get("HUB_TEST_POSTGRESQL_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
DIALECTS = ("sqlite", "postgresql")
SETTINGS = """\
[hub]
base_url = "http://127.0.0.1:8080"
database_url = "{database_url}"
data_key_file = "{directory}/data.key"

[rules.2021]
total_hours = 90
public_hours = 30
professional_hours = 60
hours_per_day = "7.5"
"""


async def _admin(statement: str) -> None:
    url = make_url(POSTGRESQL_ADMIN_URL)
    connection = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, password=url.password, database=url.database, timeout=5
    )
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    """A migrated PostgreSQL database for this test session."""
    name = f"hub_test_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        message = f"PostgreSQL is not reachable at {POSTGRESQL_ADMIN_URL}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    url = make_url(POSTGRESQL_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    migrate(url)
    yield url
    asyncio.run(_admin(f'DROP DATABASE "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    migrate(f"sqlite+aiosqlite:///{path}")
    return path


async def _empty_postgresql(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(table.name for table in metadata().sorted_tables)
    async with engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY"))
        # Tamper tests switch the append-only triggers off; every test starts with them on.
        await connection.execute(text("ALTER TABLE ledger_entry ENABLE TRIGGER USER"))
    await engine.dispose()


@pytest.fixture(params=DIALECTS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty, migrated database, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "hub.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    return request.getfixturevalue("postgresql_database_url")  # type: ignore[no-any-return]


@pytest.fixture
def postgresql_database_url(postgresql_url: str) -> str:
    """The URL of an empty, migrated PostgreSQL database, for what only PostgreSQL deployments do."""
    asyncio.run(_empty_postgresql(postgresql_url))
    return postgresql_url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


class FixedClock:
    """A clock that stands still until moved."""

    def __init__(self, now: datetime = datetime(2021, 12, 1, 8, 0, tzinfo=UTC)) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def settings_file(tmp_path: Path, database_url: str) -> Path:
    """A settings file for the test database, with a personal-data key beside it."""
    path = tmp_path / "hub.toml"
    path.write_text(SETTINGS.format(database_url=database_url, directory=tmp_path), encoding="utf-8")
    ensure_keyring(tmp_path / "data.key")
    return path
