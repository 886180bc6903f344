"""Fixtures shared by every test: a clean, migrated database on SQLite and on PostgreSQL, and a keyring.

PostgreSQL is the machine's own (``HUB_TEST_POSTGRESQL_URL``, default 127.0.0.1:5432, database
``test``). Each test session creates a database of its own there and drops it at the end. When
PostgreSQL cannot be reached its tests are skipped, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.bootstrap import ensure_keyring
from gateway.database import create_engine, metadata, migrate
from sso.personal_data import DataKeyring

POSTGRESQL_ADMIN_URL = os.environ.get("HUB_TEST_POSTGRESQL_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
DIALECTS = ("sqlite", "postgresql")
TRIGGERS_OFF_QUERY = (
    "SELECT EXISTS (SELECT FROM pg_trigger"
    " WHERE tgrelid = 'ledger_entry'::regclass AND NOT tgisinternal AND tgenabled = 'D')"
)
SETTINGS = """\
[hub]
base_url = "http://127.0.0.1:8080"
database_url = "{database_url}"
data_key_file = "{directory}/data.key"

# The cheapest argon2id: the tests register and log in hundreds of times (the hub's default costs ~0.2 s each).
[passwords]
time_cost = 1
memory_kib = 1024
parallelism = 1

[rules.2021]
total_hours = 90
public_hours = 30
professional_hours = 60
hours_per_day = "7.5"
"""


async def _connect(url: str) -> asyncpg.Connection:
    """A plain asyncpg connection to the database of an SQLAlchemy URL."""
    parsed = make_url(url)
    return await asyncpg.connect(
        host=parsed.host,
        port=parsed.port,
        user=parsed.username,
        password=parsed.password,
        database=parsed.database,
        timeout=5,
    )


async def _admin(statement: str) -> None:
    connection = await _connect(POSTGRESQL_ADMIN_URL)
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


@functools.cache
def _written_tables_query() -> str:
    """The tables that hold rows or whose identity sequence has moved since it was last reset."""
    holding_rows = " UNION ALL ".join(
        f"SELECT '{table.name}' WHERE EXISTS (SELECT FROM {table.name})"  # noqa: S608  (our tables' names)
        for table in metadata().sorted_tables
    )
    sequence_moved = (
        "SELECT owner.relname::text FROM pg_sequences AS sequence"
        " JOIN pg_depend AS dependency"
        " ON dependency.objid = format('%I.%I', sequence.schemaname, sequence.sequencename)::regclass"
        " JOIN pg_class AS owner ON owner.oid = dependency.refobjid"
        " WHERE sequence.last_value IS NOT NULL AND dependency.deptype IN ('a', 'i')"
    )
    return f"{holding_rows} UNION {sequence_moved}"


async def _empty_postgresql(url: str) -> None:
    """Empty what earlier tests wrote. Only those tables are truncated: truncating all of them took
    ~0.3 s a test, most of it PostgreSQL making every table's and index's files anew."""
    connection = await _connect(url)
    try:
        written = [record[0] for record in await connection.fetch(_written_tables_query())]
        if written:
            await connection.execute(f"TRUNCATE {', '.join(written)} RESTART IDENTITY CASCADE")
        # Tamper tests switch the append-only triggers off; every test starts with them on.
        if await connection.fetchval(TRIGGERS_OFF_QUERY):
            await connection.execute("ALTER TABLE ledger_entry ENABLE TRIGGER USER")
    finally:
        await connection.close()


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


# ---------------------------------------------------------------- personal data: logs and the raw database


class PersonalDataProbe:
    """Every log line written while it is open, and the raw database, to search both for personal data.

    Use it through the ``personal_data_probe`` fixture: run the flows, then
    ``assert await probe.places_holding(needles) == {}``.
    """

    def __init__(self, database_url: str) -> None:
        import io

        self.database_url = database_url
        self.stream = io.StringIO()

    def logs(self) -> str:
        """Everything structlog and the standard library logged, at debug level and above."""
        return self.stream.getvalue()

    async def database_dump(self) -> dict[str, str]:
        """Every row of every table, every column as text, by table name; for SQLite also its raw files."""
        from sqlalchemy import inspect

        engine = create_engine(self.database_url)
        dump: dict[str, str] = {}
        try:
            async with engine.connect() as connection:
                names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
                for name in names:
                    # The names come from the database's own catalogue.
                    rows = (await connection.execute(text(f'SELECT * FROM "{name}"'))).all()  # noqa: S608
                    dump[f"table {name}"] = "\n".join(" | ".join(str(value) for value in row) for row in rows)
        finally:
            await engine.dispose()
        url = make_url(self.database_url)
        if url.get_backend_name() == "sqlite" and url.database:
            for path in Path(url.database).parent.glob(Path(url.database).name + "*"):
                dump[f"file {path.name}"] = path.read_bytes().decode("latin-1")
        return dump

    async def places_holding(self, needles: set[str]) -> dict[str, list[str]]:
        """Each needle found, with the places that hold it: ``logs``, ``table <name>`` or ``file <name>``."""
        haystacks = {"logs": self.logs(), **await self.database_dump()}
        found = {needle: [place for place, hay in haystacks.items() if needle in hay] for needle in needles}
        return {needle: places for needle, places in found.items() if places}


def id_number_needles(id_number: str) -> set[str]:
    """An ID number as it could leak: whole with either case of x, and without its check character."""
    return {id_number.upper(), id_number.lower(), id_number[:17]}


@pytest.fixture
def personal_data_probe(database_url: str) -> Iterator[PersonalDataProbe]:
    """Logs captured at debug level (structlog, the standard library, SQLAlchemy's statements) while the test runs."""
    import logging

    import structlog

    from config.logging import configure_logging

    root, statements = logging.getLogger(), logging.getLogger("sqlalchemy.engine")
    saved_handlers, saved_level, saved_structlog = list(root.handlers), root.level, structlog.get_config()
    saved_statements_level = statements.level
    probe = PersonalDataProbe(database_url)
    configure_logging("debug", json_output=True, stream=probe.stream)
    # SQLAlchemy keeps its own loggers at WARNING; at DEBUG they log every statement, its parameters and rows.
    statements.setLevel(logging.DEBUG)
    try:
        yield probe
    finally:
        statements.setLevel(saved_statements_level)
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved_handlers:
            root.addHandler(handler)
        root.setLevel(saved_level)
        structlog.configure(**saved_structlog)


@pytest.fixture
def id_number_needles_of() -> Callable[[str], set[str]]:
    """``id_number_needles``, for tests in other folders (a conftest cannot be imported)."""
    return id_number_needles


@pytest.fixture
def keyring() -> DataKeyring:
    """A fresh keyring of personal data."""
    return DataKeyring.generate()
