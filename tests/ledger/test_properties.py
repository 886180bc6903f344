"""Property: any valid sequence of appends and reversals keeps balances equal to the sum of the
entries, and a chain that verifies, on both databases."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.database import create_engine
from ledger.model import Balance, Command, Credit, EntryKind, PersonId, Subject, new_credit, new_reversal
from ledger.service import Ledger
from ledger.store import SqlLedgerStore

from .conftest import RULES_2021

BEIJING_OFFSET = timezone(timedelta(hours=8))
PEOPLE = ("person-a", "person-b")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


credits = st.builds(
    lambda record, person, subject, hundredths, day: new_credit(
        person_id=person,
        source="webtrn",
        record_id=f"r-{record}",
        course_code=f"C{record}",
        course_title="课程",
        subject=subject,
        hours=f"{hundredths // 100}.{hundredths % 100:02d}",
        completed_at=datetime(2021, 1, 1, tzinfo=BEIJING_OFFSET) + timedelta(days=day),
        actor="vendor:webtrn",
        payload_hash=_digest(f"{record}{person}{subject}{hundredths}{day}"),
    ),
    record=st.integers(0, 15),
    person=st.sampled_from(PEOPLE),
    subject=st.sampled_from([subject.value for subject in Subject]),
    hundredths=st.integers(1, 10_000),
    day=st.integers(0, 364),
)
reversals = st.builds(
    lambda record: new_reversal(
        source="webtrn", record_id=f"r-{record}", reason="revoked", actor="vendor:webtrn", payload_hash=_digest("r")
    ),
    record=st.integers(0, 15),
)
commands = st.lists(st.one_of(credits, reversals), max_size=25)
batches = st.lists(commands, min_size=1, max_size=4)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=batches)
def test_balances_are_the_sum_of_entries_and_the_chain_verifies(
    database_url: str, batches: list[list[Command]]
) -> None:
    asyncio.run(_check(database_url, batches))


async def _check(database_url: str, batches: list[list[Command]]) -> None:
    # The examples share one database: each one's records and people carry a prefix of its own.
    run = _digest(repr(batches))[:12]
    engine = create_engine(database_url)
    ledger = Ledger(SqlLedgerStore(engine), {2021: RULES_2021})
    try:
        for batch in batches:
            await ledger.record_batch([_for_run(command, run) for command in batch])
        report = await ledger.verify_chain()
        assert report.intact, report.problem
        assert await ledger.balance_mismatches() == []
        for person in PEOPLE:
            entries = await ledger.entries_of(f"{run}-{person}", 2021)
            expected = {subject: sum(e.signed_hours for e in entries if e.subject is subject) for subject in Subject}
            assert await ledger.balance(f"{run}-{person}", 2021) == Balance(
                public=expected[Subject.PUBLIC], professional=expected[Subject.PROFESSIONAL]
            )
            credited = {e.seq for e in entries if e.kind is EntryKind.CREDIT}
            assert all(e.reverses_seq in credited for e in entries if e.kind is EntryKind.REVERSAL)
    finally:
        await engine.dispose()


def _for_run(command: Command, run: str) -> Command:
    if isinstance(command, Credit):
        return replace(
            command, person_id=PersonId(f"{run}-{command.person_id}"), record_id=f"{run}-{command.record_id}"
        )
    return replace(command, record_id=f"{run}-{command.record_id}")
