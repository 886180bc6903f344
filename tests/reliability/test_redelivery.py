"""Redelivery storms: every ischinese event delivered five times, shuffled, each revocation sent before
its completion; the ledger ends exactly as a second ledger does after one delivery of each event in
order. On SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from sqlalchemy import make_url, text

from adapters.ischinese.simulator_hours import Event, HoursSimulator
from gateway.database import create_engine

from ..gateway.handoff_support import sqlite_copy
from .conftest import FreshDatabase, Scenario
from .stage import HubInProcess, hub_in_this_process
from .workload import ischinese_completion, plan

SEED = 23
REVOKED_SHARE = 0.3
SENDS_AT_ONCE = 8
LEARNERS = 4


@pytest.fixture(params=["sqlite", "postgresql"])
async def two_databases(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path, fresh_postgresql: FreshDatabase
) -> dict[str, tuple[Path, str]]:
    """Two empty databases of one kind, by name, each with a folder of its own."""
    folders = {name: tmp_path / name for name in ("ordered", "storm")}
    for folder in folders.values():
        folder.mkdir()
    if request.param == "sqlite":
        return {name: (folder, sqlite_copy(folder, sqlite_template)) for name, folder in folders.items()}
    return {name: (folder, await fresh_postgresql()) for name, folder in folders.items()}


def _events(hub: HubInProcess, http: httpx.AsyncClient, count: int) -> tuple[HoursSimulator, list[Event], set[str]]:
    """ischinese's events of this hub's learners: each completion's, then the revocations of some."""
    sender = HoursSimulator(hub_url=hub.url, webhook_secret=hub.shared.webhook_secret, api_key="-", http=http)
    planned = [replace(item, source="ischinese") for item in plan(hub.learners, count, SEED)]
    created = [sender.keep(ischinese_completion(item)) for item in planned]
    revoked_ids = {item.record_id for item in random.Random(SEED).sample(planned, int(count * REVOKED_SHARE))}
    revocations = [sender.withdraw(record_id, "学习记录异常，撤销") for record_id in sorted(revoked_ids)]
    return sender, created + revocations, revoked_ids


def _storm(events: list[Event], copies: int) -> list[Event]:
    """Every event ``copies`` times, shuffled, then one copy of each revocation moved to the front."""
    storm = [event for event in events for _ in range(copies)]
    random.Random(SEED).shuffle(storm)
    revocations = [event for event in events if event.type.value == "completion.revoked"]
    for revocation in revocations:
        storm.remove(revocation)
    return revocations + storm


async def _deliver(sender: HoursSimulator, events: list[Event], *, at_once: int) -> Counter[str]:
    gate = asyncio.Semaphore(at_once)

    async def one(event: Event) -> str:
        async with gate:
            sending = await sender.send(event)
        return sending.attempts[-1].text

    return Counter(await asyncio.gather(*(one(event) for event in events)))


async def _ledger_as_learners(hub: HubInProcess) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], int]:
    """Entries and balances with each person named by their place among the learners, and the held
    and pending count: what two ledgers of the same deliveries must share."""
    learner_of = {learner.person_id: number for number, learner in enumerate(hub.learners)}
    engine = create_engine(hub.hub.settings.hub.database_url)
    try:
        async with engine.connect() as connection:
            entries = (
                await connection.execute(
                    text(
                        "SELECT source, record_id, kind, person_id, year, subject, hours, course_code, completed_at,"
                        " reason, reverses_seq IS NOT NULL FROM ledger_entry"
                    )
                )
            ).all()
            balances = (
                await connection.execute(text("SELECT person_id, year, subject, hours FROM ledger_balance"))
            ).all()
            waiting = (
                await connection.execute(
                    text(
                        "SELECT (SELECT count(*) FROM ledger_held_record) + "
                        "(SELECT count(*) FROM ledger_pending_reversal WHERE applied_seq IS NULL)"
                    )
                )
            ).scalar_one()
    finally:
        await engine.dispose()
    named = sorted((*row[:3], learner_of[row[3]], *row[4:]) for row in entries)
    named_balances = sorted((learner_of[row[0]], *row[1:]) for row in balances)
    return named, named_balances, waiting


async def test_a_shuffled_fivefold_storm_ends_as_one_ordered_delivery(
    two_databases: dict[str, tuple[Path, str]], scenario: Scenario
) -> None:
    dialect = make_url(two_databases["storm"][1]).get_backend_name()
    async with (
        httpx.AsyncClient(timeout=30.0) as http,
        hub_in_this_process(*two_databases["ordered"], scenario.evidence, learners=LEARNERS) as ordered_hub,
        hub_in_this_process(*two_databases["storm"], scenario.evidence, learners=LEARNERS) as storm_hub,
    ):
        sender, events, revoked = _events(ordered_hub, http, scenario.sizes.storm_completions)
        once = await _deliver(sender, events, at_once=1)
        storm_sender, storm_events, _ = _events(storm_hub, http, scenario.sizes.storm_completions)
        storm = _storm(storm_events, scenario.sizes.storm_copies)
        answers = await _deliver(storm_sender, storm, at_once=SENDS_AT_ONCE)
        ordered_state = await _ledger_as_learners(ordered_hub)
        storm_state = await _ledger_as_learners(storm_hub)

    scenario.record_figures(
        f"storm_{dialect}",
        f"Redelivery storm: every ischinese event five times, shuffled, revocations first ({dialect})",
        {
            "events": len(events),
            "deliveries in the storm": len(storm),
            "revocations before their completion": len(revoked),
            "entries": len(storm_state[0]),
            "differences from one ordered delivery": sum(
                1 for ours, theirs in zip(storm_state, ordered_state, strict=True) if ours != theirs
            ),
        },
    )
    assert once == Counter({'{"status": "appended"}': len(events)})
    assert answers['{"status": "pending"}'] >= len(revoked)
    assert sum(answers.values()) == len(events) * scenario.sizes.storm_copies
    assert storm_state == ordered_state
    assert len(storm_state[0]) == scenario.sizes.storm_completions + len(revoked)
