"""The reliability and security suite: its size (``--soak``), where each scenario writes its
figures, the evidence every scenario leaves for the personal-data scan, fresh databases, and a
throwaway PostgreSQL cluster to restart.

``make test`` runs every scenario at its small size; ``make soak`` runs them at the sizes of issue 9
(``--soak``) and renders RELIABILITY.md from the figures. The scan of personal data is marked
``after_scenarios`` and runs after every other test of the session.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
import structlog
from sqlalchemy import make_url

from config.logging import configure_logging

from .cluster import ClusterUnavailable, ThrowawayCluster
from .evidence import Evidence
from .figures import Figure, ScenarioFigures
from .sizes import SMALL, SOAK, Sizes

POSTGRESQL_ADMIN_URL = os.environ.get("HUB_TEST_POSTGRESQL_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REPOSITORY = Path(__file__).parents[2]
RELIABILITY = Path(__file__).parent

RecordFigures = Callable[[str, str, dict[str, Figure]], Path]
FreshDatabase = Callable[[], Awaitable[str]]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("reliability")
    group.addoption("--soak", action="store_true", help="run the reliability scenarios at the sizes of issue 9")
    group.addoption(
        "--reliability-figures",
        default=str(REPOSITORY / "var" / "reliability"),
        help="where each reliability scenario writes the figures of its run",
    )


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own hook reads the groups off the markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The scan of what the scenarios left behind goes after them, in the same process: under
    pytest-xdist (``--dist loadgroup``) the whole suite is one group, run by one worker in this order."""
    items.sort(key=lambda item: item.get_closest_marker("after_scenarios") is not None)
    for item in items:
        if RELIABILITY in item.path.parents:
            item.add_marker(pytest.mark.xdist_group("reliability"))


@pytest.fixture(scope="session")
def sizes(pytestconfig: pytest.Config) -> Sizes:
    return SOAK if pytestconfig.getoption("--soak") else SMALL


@pytest.fixture
def record_figures(request: pytest.FixtureRequest, sizes: Sizes) -> RecordFigures:
    """Write a scenario's figures: ``record_figures(key, title, figures)``."""
    folder = Path(request.config.getoption("--reliability-figures"))
    test = request.node.nodeid.split("[")[0]

    def record(key: str, title: str, figures: dict[str, Figure]) -> Path:
        return ScenarioFigures(key, title, test, sizes.name, figures).write(folder)

    return record


@dataclass(frozen=True, slots=True)
class Scenario:
    """What every scenario uses: its size, the evidence it leaves, and where its figures go."""

    sizes: Sizes
    evidence: Evidence
    record_figures: RecordFigures


@pytest.fixture
def scenario(sizes: Sizes, evidence: Evidence, record_figures: RecordFigures) -> Scenario:
    return Scenario(sizes, evidence, record_figures)


@pytest.fixture(scope="session")
def evidence() -> Evidence:
    """Everything the scenarios leave behind, for the personal-data scan."""
    return Evidence()


@pytest.fixture(autouse=True)
def in_process_logs(evidence: Evidence, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every log line of this process while a scenario runs (SQL statements and their parameters
    too), in a file the scan reads; the logging set up before is restored after."""
    path = tmp_path_factory.getbasetemp() / "reliability-in-process.log"
    if path not in evidence.logs:
        evidence.keep_log(path)
    root, statements = logging.getLogger(), logging.getLogger("sqlalchemy.engine")
    saved = (list(root.handlers), root.level, structlog.get_config(), statements.level)
    saved_httpcore = logging.getLogger("httpcore").level
    with path.open("a", encoding="utf-8") as stream:
        configure_logging("debug", json_output=True, stream=stream)
        statements.setLevel(logging.INFO)  # statements and their parameters, not the rows read
        logging.getLogger("httpcore").setLevel(logging.INFO)  # its connection tracing carries nothing of ours
        try:
            yield path
        finally:
            handlers, level, structlog_config, statements_level = saved
            statements.setLevel(statements_level)
            logging.getLogger("httpcore").setLevel(saved_httpcore)
            for handler in list(root.handlers):
                root.removeHandler(handler)
            for handler in handlers:
                root.addHandler(handler)
            root.setLevel(level)
            structlog.configure(**structlog_config)


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
def fresh_postgresql() -> Iterator[FreshDatabase]:
    """Make empty databases on the machine's PostgreSQL, each for one scenario; all are dropped at
    the end of the session, after the scan has read them."""
    names: list[str] = []

    async def make() -> str:
        name = f"hub_reliability_{uuid.uuid4().hex[:12]}"
        try:
            await _admin(f'CREATE DATABASE "{name}"')
        except (OSError, asyncpg.PostgresError) as exc:
            message = f"PostgreSQL is not reachable at {POSTGRESQL_ADMIN_URL}: {exc}"
            if os.environ.get("CI") == "true":
                pytest.fail(message)
            pytest.skip(message)
        names.append(name)
        return make_url(POSTGRESQL_ADMIN_URL).set(database=name).render_as_string(hide_password=False)

    yield make
    for name in names:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def throwaway_cluster() -> Iterator[ThrowawayCluster]:
    """A PostgreSQL cluster of the suite's own, started, to restart at will (``cluster.py``)."""
    try:
        cluster = ThrowawayCluster.create()
    except ClusterUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.remove()
