"""A record taken again in place of its counted version: a reversal and a credit of the next revision."""

from __future__ import annotations

import pytest

from ledger.errors import InvalidCommand
from ledger.model import Balance, EntryKind, OutcomeKind, new_replacement
from ledger.service import Ledger

from .conftest import MakeCredit, MakeReversal


async def test_a_replacement_reverses_the_counted_credit_and_counts_the_next_revision(
    ledger: Ledger, make_credit: MakeCredit
) -> None:
    await ledger.record(make_credit("c-1", hours="3.5"))

    outcome = await ledger.replace(
        new_replacement(make_credit("c-1", hours="5", actor="operator:7"), "vendor corrected")
    )

    assert outcome.kind is OutcomeKind.APPENDED
    reversal, credit = outcome.entries
    assert (reversal.kind, reversal.reverses_seq, reversal.revision, reversal.reason) == (
        EntryKind.REVERSAL,
        1,
        1,
        "vendor corrected",
    )
    assert (credit.kind, credit.hours, credit.revision, credit.actor) == (EntryKind.CREDIT, 500, 2, "operator:7")
    assert await ledger.balance("person-1", 2021) == Balance(public=500)
    report = await ledger.verify_chain()
    assert (report.intact, report.entries_checked) == (True, 3)


async def test_only_later_revisions_carry_their_revision_in_the_chain(ledger: Ledger, make_credit: MakeCredit) -> None:
    await ledger.record(make_credit("c-1"))
    await ledger.replace(new_replacement(make_credit("c-1", hours="5"), "vendor corrected"))

    first, reversal, second = await ledger.entries_of("person-1", 2021)

    assert "revision" not in first.chain_document()
    assert "revision" not in reversal.chain_document()
    assert second.chain_document()["revision"] == 2


async def test_after_a_replacement_deliveries_are_judged_against_the_counted_revision(
    ledger: Ledger, make_credit: MakeCredit, make_reversal: MakeReversal
) -> None:
    await ledger.record(make_credit("c-1", hours="3.5"))
    await ledger.replace(new_replacement(make_credit("c-1", hours="5"), "vendor corrected"))

    again = await ledger.record(make_credit("c-1", hours="5"))
    old = await ledger.record(make_credit("c-1", hours="3.5"))
    revoked = await ledger.record(make_reversal("c-1"))
    revoked_again = await ledger.record(make_reversal("c-1"))

    assert [again.kind, old.kind, revoked.kind, revoked_again.kind] == [
        OutcomeKind.DUPLICATE,
        OutcomeKind.HELD,
        OutcomeKind.APPENDED,
        OutcomeKind.DUPLICATE,
    ]
    assert (revoked.entries[0].reverses_seq, revoked.entries[0].revision) == (3, 2)
    assert await ledger.balance("person-1", 2021) == Balance()


async def test_a_replacement_of_a_reversed_record_only_counts_it_again(
    ledger: Ledger, make_credit: MakeCredit, make_reversal: MakeReversal
) -> None:
    await ledger.record(make_credit("c-1"))
    await ledger.record(make_reversal("c-1", actor="operator:7"))

    outcome = await ledger.replace(new_replacement(make_credit("c-1"), "the vendor still counts it"))

    assert [(entry.kind, entry.revision) for entry in outcome.entries] == [(EntryKind.CREDIT, 2)]
    assert await ledger.balance("person-1", 2021) == Balance(public=350)


async def test_a_replacement_by_the_counted_version_changes_nothing(ledger: Ledger, make_credit: MakeCredit) -> None:
    stored = await ledger.record(make_credit("c-1"))

    outcome = await ledger.replace(new_replacement(make_credit("c-1"), "same again"))

    assert (outcome.kind, outcome.entries) == (OutcomeKind.DUPLICATE, stored.entries)
    assert len(await ledger.entries_of("person-1", 2021)) == 1


async def test_a_replacement_of_a_record_the_ledger_lacks_is_its_first_credit(
    ledger: Ledger, make_credit: MakeCredit
) -> None:
    outcome = await ledger.replace(new_replacement(make_credit("c-9"), "the vendor lists it"))

    assert [(entry.kind, entry.revision, entry.record_id) for entry in outcome.entries] == [
        (EntryKind.CREDIT, 1, "c-9")
    ]


def test_a_replacement_needs_a_reason(make_credit: MakeCredit) -> None:
    with pytest.raises(InvalidCommand) as refused:
        new_replacement(make_credit("c-1"), "  ")

    assert [error.field for error in refused.value.errors] == ["reason"]
