"""The composition root's parts: everything the hub runs on, built from settings and closed again.

The web app, the command line, the scheduler and the tests all open the hub through ``open_hub``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from config import Settings
from config.settings import YearRulesSettings
from gateway.database import create_engine
from ledger.model import YearRules, parse_hours
from ledger.service import Ledger
from ledger.store import SqlLedgerStore
from sso.personal_data import DataKeyring


@dataclass(frozen=True, slots=True)
class Hub:
    """The running hub's services."""

    settings: Settings
    engine: AsyncEngine
    keyring: DataKeyring
    ledger: Ledger


def ledger_rules(rules: Mapping[int, YearRulesSettings]) -> dict[int, YearRules]:
    """The ledger's rules from the configured ones; hours become exact hundredths."""
    return {
        year: YearRules(
            year=year,
            total=parse_hours(year_rules.total_hours),
            public=parse_hours(year_rules.public_hours),
            professional=parse_hours(year_rules.professional_hours),
            hours_per_day=parse_hours(year_rules.hours_per_day),
            mandatory={topic: frozenset(courses) for topic, courses in year_rules.mandatory.items()},
        )
        for year, year_rules in rules.items()
    }


class HubNotReady(Exception):
    """Something the hub needs at start-up is missing; the message says what to do."""


def ensure_keyring(path: Path) -> bool:
    """Create the personal-data key file if it is missing; ``True`` when it was created."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    DataKeyring.generate().save(path)
    return True


def load_keyring(path: Path) -> DataKeyring:
    """The personal-data keys; raises ``HubNotReady`` when ``hub migrate`` has not created them."""
    if not path.exists():
        raise HubNotReady(f"the personal-data key {path} does not exist: run `hub migrate` first")
    return DataKeyring.load(path)


@asynccontextmanager
async def open_hub(settings: Settings) -> AsyncIterator[Hub]:
    keyring = load_keyring(settings.hub.data_key_file)
    engine = create_engine(settings.hub.database_url)
    try:
        yield Hub(
            settings=settings,
            engine=engine,
            keyring=keyring,
            ledger=Ledger(SqlLedgerStore(engine), ledger_rules(settings.rules)),
        )
    finally:
        await engine.dispose()
