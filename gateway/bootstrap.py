"""The composition root's parts: everything the hub runs on, built from settings and closed again.

The web app, the command line, the scheduler and the tests all open the hub through ``open_hub``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from config import Settings
from config.settings import YearRulesSettings
from gateway.database import create_engine
from ledger.model import YearRules, parse_hours
from ledger.service import Ledger
from ledger.store import SqlLedgerStore


@dataclass(frozen=True, slots=True)
class Hub:
    """The running hub's services."""

    settings: Settings
    engine: AsyncEngine
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


@asynccontextmanager
async def open_hub(settings: Settings) -> AsyncIterator[Hub]:
    engine = create_engine(settings.hub.database_url)
    try:
        yield Hub(
            settings=settings,
            engine=engine,
            ledger=Ledger(SqlLedgerStore(engine), ledger_rules(settings.rules)),
        )
    finally:
        await engine.dispose()
