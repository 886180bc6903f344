"""Decisions about held records: a release appends (a replacement reverses the stored credit and
counts the new version), a rejection changes nothing but is kept, each held record is decided once,
and the held record itself stays as it was held. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.errors import EntryNotCurrent, HoldAlreadyDecided, HoldNotFound, InvalidCommand
from ledger.model import (
    Balance,
    Decision,
    EntryKind,
    HeldId,
    HeldQuery,
    HeldStatus,
    Hold,
    HoldReason,
    OutcomeKind,
    Replacement,
    Source,
)
from ledger.service import Ledger, held_credit

from .conftest import MakeCredit, MakeReversal, payload_hash

OPERATOR = "operator:token:7"


def unknown_person(record_id: str = "c-1") -> Hold:
    return Hold(
        source=Source.ISCHINESE,
        record_id=record_id,
        kind=EntryKind.CREDIT,
        reason=HoldReason.UNKNOWN_PERSON,
        payload="{}",
        payload_hash=payload_hash(record_id),
        detail="the sub was never issued to ischinese",
    )


async def held_id_of(ledger: Ledger, record_id: str) -> HeldId:
    (found,) = [item for item in await ledger.held_page(HeldQuery()) if item.record.record_id == record_id]
    return found.id


async def test_a_released_unknown_person_is_counted_and_the_decision_names_its_entry(
    ledger: Ledger, make_credit: MakeCredit
) -> None:
    await ledger.record(unknown_person())
    held_id = await held_id_of(ledger, "c-1")

    outcome, decision = await ledger.release(held_id, make_credit("c-1"), actor=OPERATOR, reason="person linked")

    assert outcome.kind is OutcomeKind.APPENDED
    assert decision.entry_seqs == (outcome.entries[0].seq,)
    assert (decision.decision, decision.actor, decision.reason) == (Decision.RELEASED, OPERATOR, "person linked")
    assert await ledger.balance("person-1", 2021) == Balance(public=350)
    assert await ledger.held_records() == []
    released = await ledger.held(held_id)
    assert released.decision == decision
    assert released.record.reason == "unknown_person"  # the held record stays as it was held
    assert [item.id for item in await ledger.held_page(HeldQuery(status=HeldStatus.RELEASED))] == [held_id]


async def test_a_released_conflicting_version_reverses_the_stored_credit_and_counts_the_new_one(
    ledger: Ledger, make_credit: MakeCredit, make_reversal: MakeReversal
) -> None:
    (first,) = (await ledger.record(make_credit("c-1"))).entries
    conflict = await ledger.record(make_credit("c-1", hours="5"))
    assert conflict.held is not None
    held = await ledger.held(await held_id_of(ledger, "c-1"))

    replacement = Replacement(held_credit(held.record), first.seq, reason="the vendor corrected the hours")
    outcome, decision = await ledger.release(held.id, replacement, actor=OPERATOR, reason=None)

    reversal, credit = outcome.entries
    assert (reversal.kind, reversal.reverses_seq, reversal.hours) == (EntryKind.REVERSAL, first.seq, 350)
    assert (credit.kind, credit.reverses_seq, credit.hours) == (EntryKind.CREDIT, first.seq, 500)
    assert decision.entry_seqs == (reversal.seq, credit.seq)
    assert await ledger.balance("person-1", 2021) == Balance(public=500)
    assert (await ledger.verify_chain()).intact
    assert await ledger.balance_mismatches() == []

    # The record now goes by its new version: it again is a duplicate, the old one a conflict,
    # and the vendor's revocation withdraws the new credit.
    assert (await ledger.record(make_credit("c-1", hours="5"))).kind is OutcomeKind.DUPLICATE
    assert (await ledger.record(make_credit("c-1"))).kind is OutcomeKind.HELD
    (withdrawn,) = (await ledger.record(make_reversal("c-1"))).entries
    assert withdrawn.reverses_seq == credit.seq
    assert (await ledger.record(make_reversal("c-1"))).kind is OutcomeKind.DUPLICATE
    assert await ledger.balance("person-1", 2021) == Balance()


async def test_a_replacement_of_a_credit_that_is_no_longer_current_changes_nothing(
    ledger: Ledger, make_credit: MakeCredit
) -> None:
    (first,) = (await ledger.record(make_credit("c-1"))).entries
    await ledger.record(make_credit("c-1", hours="5"))
    await ledger.record(make_credit("c-1", hours="6"))
    five, six = await ledger.held_page(HeldQuery())
    await ledger.release(six.id, Replacement(held_credit(six.record), first.seq, "six"), actor=OPERATOR, reason=None)

    with pytest.raises(EntryNotCurrent):
        await ledger.release(
            five.id, Replacement(held_credit(five.record), first.seq, "five"), actor=OPERATOR, reason=None
        )

    assert (await ledger.held(five.id)).decision is None
    assert await ledger.balance("person-1", 2021) == Balance(public=600)


async def test_a_rejection_is_kept_and_changes_no_entry(ledger: Ledger, make_credit: MakeCredit) -> None:
    await ledger.record(unknown_person())
    held_id = await held_id_of(ledger, "c-1")
    head = (await ledger.verify_chain()).head_seq

    decision = await ledger.reject(held_id, actor=OPERATOR, reason="a test account")

    assert (decision.decision, decision.reason, decision.entry_seqs) == (Decision.REJECTED, "a test account", ())
    assert (await ledger.verify_chain()).head_seq == head
    assert (await ledger.held(held_id)).decision == decision
    assert await ledger.held_records() == []


async def test_a_held_record_is_decided_once(ledger: Ledger, make_credit: MakeCredit) -> None:
    await ledger.record(unknown_person())
    held_id = await held_id_of(ledger, "c-1")
    await ledger.reject(held_id, actor=OPERATOR, reason="first")

    with pytest.raises(HoldAlreadyDecided):
        await ledger.reject(held_id, actor=OPERATOR, reason="second")
    with pytest.raises(HoldAlreadyDecided):
        await ledger.release(held_id, make_credit("c-1"), actor=OPERATOR, reason=None)
    with pytest.raises(HoldNotFound):
        await ledger.reject(HeldId(held_id + 100), actor=OPERATOR, reason="nothing there")

    assert (await ledger.held(held_id)).decision.reason == "first"  # type: ignore[union-attr]
    assert await ledger.balance("person-1", 2021) == Balance()


async def test_two_releases_at_once_decide_once(ledger: Ledger, make_credit: MakeCredit) -> None:
    await ledger.record(unknown_person())
    held_id = await held_id_of(ledger, "c-1")

    results = await asyncio.gather(
        *(ledger.release(held_id, make_credit("c-1"), actor=OPERATOR, reason=None) for _ in range(4)),
        return_exceptions=True,
    )

    assert sum(not isinstance(result, BaseException) for result in results) == 1
    assert all(isinstance(result, HoldAlreadyDecided) for result in results if isinstance(result, BaseException))
    assert await ledger.balance("person-1", 2021) == Balance(public=350)


async def test_a_release_must_be_of_the_held_record(ledger: Ledger, make_credit: MakeCredit) -> None:
    await ledger.record(unknown_person("c-1"))

    with pytest.raises(InvalidCommand):
        await ledger.release(await held_id_of(ledger, "c-1"), make_credit("c-2"), actor=OPERATOR, reason=None)

    assert await ledger.balance("person-1", 2021) == Balance()


async def test_the_database_keeps_one_first_credit_and_one_replacement_per_credit(
    ledger: Ledger, engine: AsyncEngine, make_credit: MakeCredit
) -> None:
    (first,) = (await ledger.record(make_credit("c-1"))).entries
    await ledger.record(make_credit("c-1", hours="5"))
    held = await ledger.held(await held_id_of(ledger, "c-1"))
    await ledger.release(held.id, Replacement(held_credit(held.record), first.seq, "fix"), actor=OPERATOR, reason=None)
    copied = (
        "kind, person_id, year, subject, hours, source, record_id, course_code, course_title, completed_at, "
        "recorded_at, actor, payload_hash, content_hash, {reverses_seq}, reason, prev_hash, hash"
    )

    # A second first credit of the record, and a second replacement of its first credit.
    for reverses_seq in ("NULL", str(first.seq)):
        insert = (
            f"INSERT INTO ledger_entry (seq, {copied.format(reverses_seq='reverses_seq')}) "  # noqa: S608
            f"SELECT seq + 100, {copied.format(reverses_seq=reverses_seq)} FROM ledger_entry WHERE seq = :seq"
        )
        with pytest.raises(IntegrityError):
            async with engine.begin() as connection:
                await connection.execute(text(insert), {"seq": first.seq})
