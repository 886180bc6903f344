"""The ledger on both databases: exactly-once recording, holds, reversals, balances, the chain."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.errors import InvalidCommand, NoRulesForYear, RecordsDiffer
from ledger.model import Balance, EntryKind, OutcomeKind
from ledger.service import Ledger

from .conftest import BEIJING_OFFSET, MakeCredit, MakeReversal


async def test_a_credit_is_appended_and_counted(ledger: Ledger, make_credit: MakeCredit) -> None:
    outcome = await ledger.record(make_credit())

    assert outcome.kind is OutcomeKind.APPENDED
    (entry,) = outcome.entries
    assert (entry.seq, entry.kind, entry.hours, entry.year) == (1, EntryKind.CREDIT, 350, 2021)
    assert await ledger.balance("person-1", 2021) == Balance(public=350)


async def test_a_replay_is_a_no_op_that_returns_the_stored_entry(ledger: Ledger, make_credit: MakeCredit) -> None:
    first = await ledger.record(make_credit())
    # The same content: 3.50 is 3.5, and the same instant in another offset.
    replay = await ledger.record(
        make_credit(hours="3.50", completed_at=datetime.fromisoformat("2021-06-01T01:58:12+00:00"), course_title="x")
    )

    assert replay.kind is OutcomeKind.DUPLICATE
    assert replay.entries == first.entries
    assert (await ledger.verify_chain()).entries_checked == 1
    assert await ledger.balance("person-1", 2021) == Balance(public=350)


async def test_a_conflicting_duplicate_is_held_and_the_first_version_stays(
    ledger: Ledger, make_credit: MakeCredit
) -> None:
    first = await ledger.record(make_credit())
    conflict = await ledger.record(make_credit(hours="4"))
    again = await ledger.record(make_credit(hours="4"))

    assert conflict.kind is OutcomeKind.HELD
    assert again.kind is OutcomeKind.HELD
    (held,) = await ledger.held_records()
    assert (held.reason, held.record_id, held.existing_seq) == ("conflict", "c-1", first.entries[0].seq)
    assert '"hours":"4.00"' in held.payload
    assert await ledger.balance("person-1", 2021) == Balance(public=350)


async def test_an_upload_goes_in_whole_or_not_at_all_when_a_record_differs(
    ledger: Ledger, make_credit: MakeCredit
) -> None:
    offline = {"source": "offline", "course_code": "XXPX-2021-000001", "subject": "professional"}
    first = await ledger.record_whole([make_credit("t/a", **offline), make_credit("t/b", **offline)])
    again = await ledger.record_whole([make_credit("t/b", **offline), make_credit("t/c", **offline)])

    with pytest.raises(RecordsDiffer) as differ:
        await ledger.record_whole(
            [make_credit("t/d", **offline), make_credit("t/a", hours="5", **offline), make_credit("t/b", **offline)]
        )

    assert [outcome.kind for outcome in first] == [OutcomeKind.APPENDED, OutcomeKind.APPENDED]
    assert [outcome.kind for outcome in again] == [OutcomeKind.DUPLICATE, OutcomeKind.APPENDED]
    assert [(entry.record_id, entry.hours) for entry in differ.value.stored] == [("t/a", 350)]
    assert await ledger.held_records() == []  # refused, not held: nothing of the batch was written
    assert (await ledger.verify_chain()).entries_checked == 3
    assert await ledger.balance("person-1", 2021) == Balance(professional=1050)


async def test_a_reversal_subtracts_and_names_what_it_reverses(
    ledger: Ledger, make_credit: MakeCredit, make_reversal: MakeReversal
) -> None:
    credit = (await ledger.record(make_credit())).entries[0]
    outcome = await ledger.record(make_reversal())
    replay = await ledger.record(make_reversal())

    assert outcome.kind is OutcomeKind.APPENDED
    (reversal,) = outcome.entries
    assert (reversal.kind, reversal.reverses_seq, reversal.hours, reversal.reason) == (
        EntryKind.REVERSAL,
        credit.seq,
        credit.hours,
        "learner cheated",
    )
    assert replay.kind is OutcomeKind.DUPLICATE
    assert await ledger.balance("person-1", 2021) == Balance()


async def test_a_reversal_before_its_credit_waits_and_applies_when_the_credit_arrives(
    ledger: Ledger, make_credit: MakeCredit, make_reversal: MakeReversal
) -> None:
    early = await ledger.record(make_reversal())
    early_again = await ledger.record(make_reversal())
    assert (early.kind, early_again.kind) == (OutcomeKind.PENDING, OutcomeKind.PENDING)
    assert await ledger.balance("person-1", 2021) == Balance()

    arrival = await ledger.record(make_credit())

    assert [entry.kind for entry in arrival.entries] == [EntryKind.CREDIT, EntryKind.REVERSAL]
    assert await ledger.balance("person-1", 2021) == Balance()
    assert (await ledger.record(make_credit())).kind is OutcomeKind.DUPLICATE
    assert (await ledger.record(make_reversal())).kind is OutcomeKind.DUPLICATE
    assert (await ledger.verify_chain()).entries_checked == 2


async def test_a_batch_decides_each_command_against_the_ones_before_it(
    ledger: Ledger, make_credit: MakeCredit, make_reversal: MakeReversal
) -> None:
    outcomes = await ledger.record_batch(
        [make_reversal("c-2"), make_credit("c-1"), make_credit("c-1"), make_credit("c-2", subject="professional")]
    )

    assert [outcome.kind for outcome in outcomes] == [
        OutcomeKind.PENDING,
        OutcomeKind.APPENDED,
        OutcomeKind.DUPLICATE,
        OutcomeKind.APPENDED,
    ]
    assert await ledger.balance("person-1", 2021) == Balance(public=350, professional=0)
    assert (await ledger.verify_chain()).entries_checked == 3


async def test_balances_equal_a_full_recomputation(
    ledger: Ledger, make_credit: MakeCredit, make_reversal: MakeReversal
) -> None:
    for number in range(6):
        await ledger.record(make_credit(f"c-{number}", person_id=f"person-{number % 2}", subject="professional"))
    await ledger.record(make_reversal("c-3"))

    assert await ledger.balance_mismatches() == []
    assert await ledger.balance("person-1", 2021) == Balance(professional=700)


async def test_a_balance_changed_behind_the_ledgers_back_is_found(
    ledger: Ledger, engine: AsyncEngine, make_credit: MakeCredit
) -> None:
    await ledger.record(make_credit())
    async with engine.begin() as connection:
        await connection.execute(text("UPDATE ledger_balance SET hours = hours + 1"))

    (mismatch,) = await ledger.balance_mismatches()
    assert (mismatch.person_id, mismatch.stored, mismatch.recomputed) == ("person-1", 351, 350)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"hours": "0"}, "hours"),
        ({"hours": "-1"}, "hours"),
        ({"hours": "1.005"}, "hours"),
        ({"hours": 1.5}, "hours"),
        ({"completed_at": datetime(2021, 6, 1, 10, 0)}, "completed_at"),  # noqa: DTZ001  (naive on purpose)
        ({"subject": "sports"}, "subject"),
        ({"source": "elsewhere"}, "source"),
        ({"person_id": ""}, "person_id"),
        # PostgreSQL refuses a NUL in any text: such a record could never be stored.
        ({"course_title": "概论\x00"}, "course_title"),
        ({"record_id": "c-1\n"}, "record_id"),
    ],
)
async def test_invalid_commands_are_refused_naming_the_field(
    ledger: Ledger, make_credit: MakeCredit, overrides: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidCommand) as refused:
        await ledger.record(make_credit(**overrides))

    assert [error.field for error in refused.value.errors] == [field]
    assert (await ledger.verify_chain()).entries_checked == 0


def test_a_reversal_whose_reason_holds_a_control_character_is_refused(make_reversal: MakeReversal) -> None:
    with pytest.raises(InvalidCommand, match="reason: must not hold control characters"):
        make_reversal(reason="作弊\x00")


async def test_every_field_at_fault_is_named_at_once(make_credit: MakeCredit) -> None:
    with pytest.raises(InvalidCommand) as refused:
        make_credit(hours="0", subject="sports", source="elsewhere")

    assert {error.field for error in refused.value.errors} == {"hours", "subject", "source"}


async def test_records_over_their_sources_limit_are_refused(ledger: Ledger, make_credit: MakeCredit) -> None:
    with pytest.raises(InvalidCommand, match=r"hours: must be at most 100\.00"):
        await ledger.record(make_credit(hours="100.01"))
    with pytest.raises(InvalidCommand, match=r"hours: must be at most 225\.00"):
        await ledger.record(make_credit(source="offline", hours="225.01"))

    assert (await ledger.record(make_credit("c-100", hours="100"))).kind is OutcomeKind.APPENDED
    assert (await ledger.record(make_credit("o-1", source="offline", hours="225"))).kind is OutcomeKind.APPENDED


async def test_a_year_without_rules_is_refused(ledger: Ledger, make_credit: MakeCredit) -> None:
    # 23:30 on 31 December 2021 UTC is already 2022 in Beijing.
    with pytest.raises(NoRulesForYear, match="2022"):
        await ledger.record(make_credit(completed_at=datetime.fromisoformat("2021-12-31T23:30:00+00:00")))

    assert (await ledger.verify_chain()).entries_checked == 0


async def test_a_batch_with_one_bad_command_writes_nothing(ledger: Ledger, make_credit: MakeCredit) -> None:
    with pytest.raises(InvalidCommand, match=r"commands\[1\]\.hours"):
        await ledger.record_batch([make_credit("c-1"), make_credit("c-2", hours="101")])

    assert (await ledger.verify_chain()).entries_checked == 0


async def test_the_chain_verifies_and_catches_a_changed_row(
    ledger: Ledger, engine: AsyncEngine, make_credit: MakeCredit
) -> None:
    for number in range(5):
        await ledger.record(make_credit(f"c-{number}"))
    intact = await ledger.verify_chain()
    assert (intact.intact, intact.entries_checked, intact.head_seq) == (True, 5, 5)

    async with engine.begin() as connection:
        await _allow_changes(connection.dialect.name, connection)
        await connection.execute(text("UPDATE ledger_entry SET hours = 9999 WHERE seq = 3"))

    broken = await ledger.verify_chain()
    assert (broken.intact, broken.first_bad_seq) == (False, 3)
    assert broken.problem == "its content does not match its hash"


async def test_the_chain_catches_a_blanked_hash(ledger: Ledger, engine: AsyncEngine, make_credit: MakeCredit) -> None:
    for number in range(3):
        await ledger.record(make_credit(f"c-{number}"))

    async with engine.begin() as connection:
        await _allow_changes(connection.dialect.name, connection)
        await connection.execute(text("UPDATE ledger_entry SET hash = '' WHERE seq = 2"))

    broken = await ledger.verify_chain()
    assert (broken.first_bad_seq, broken.problem) == (2, "its content does not match its hash")


async def test_the_chain_catches_a_deleted_row(ledger: Ledger, engine: AsyncEngine, make_credit: MakeCredit) -> None:
    for number in range(4):
        await ledger.record(make_credit(f"c-{number}"))

    async with engine.begin() as connection:
        await _allow_changes(connection.dialect.name, connection)
        await connection.execute(text("DELETE FROM ledger_entry WHERE seq = 2"))

    broken = await ledger.verify_chain()
    assert (broken.first_bad_seq, broken.problem) == (3, "sequence jumps from 1 to 3")


async def test_the_database_refuses_to_change_or_delete_an_entry(
    ledger: Ledger, engine: AsyncEngine, make_credit: MakeCredit
) -> None:
    await ledger.record(make_credit())

    for statement in ("UPDATE ledger_entry SET hours = 1", "DELETE FROM ledger_entry"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with engine.begin() as connection:
                await connection.execute(text(statement))
    assert (await ledger.verify_chain()).entries_checked == 1


async def test_the_year_is_evaluated_against_its_rules(
    ledger: Ledger, make_credit: MakeCredit, make_reversal: MakeReversal
) -> None:
    await ledger.record(make_credit("p-1", hours="30", course_code="XJP-2021-01"))
    await ledger.record(make_credit("q-1", hours="50", subject="professional", course_code="MED-1"))

    short = await ledger.evaluate("person-1", 2021)
    assert (short.met, short.missing_total, short.missing_public, short.missing_professional) == (False, 1000, 0, 1000)
    assert short.missing_topics == ()

    await ledger.record(make_credit("q-2", hours="10", subject="professional", course_code="MED-2"))
    assert (await ledger.evaluate("person-1", 2021)).met

    await ledger.record(make_reversal("p-1"))
    after = await ledger.evaluate("person-1", 2021)
    assert (after.met, after.missing_public, after.missing_topics) == (False, 3000, ("xi_thought",))


async def test_a_completion_belongs_to_its_year_in_beijing_time(ledger: Ledger, make_credit: MakeCredit) -> None:
    # 2020-12-31 16:30 UTC is 00:30 on New Year's Day 2021 in Beijing.
    outcome = await ledger.record(make_credit(completed_at=datetime(2021, 1, 1, 0, 30, tzinfo=BEIJING_OFFSET)))

    assert outcome.entries[0].year == 2021


async def _allow_changes(dialect: str, connection: object) -> None:
    """Switch off the append-only triggers, as someone with direct database access could."""
    from sqlalchemy.ext.asyncio import AsyncConnection

    assert isinstance(connection, AsyncConnection)
    if dialect == "postgresql":
        await connection.execute(text("ALTER TABLE ledger_entry DISABLE TRIGGER USER"))
    else:
        await connection.execute(text("DROP TRIGGER ledger_entry_no_update"))
        await connection.execute(text("DROP TRIGGER ledger_entry_no_delete"))
