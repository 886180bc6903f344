"""Years due for review: marked in the append's transaction, ended by a review up to what it read,
and reviews of one year taking turns."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.database import create_engine
from ledger.errors import NoRulesForYear
from ledger.model import DueEvaluation, PersonId, Replacement, SequenceNumber, counted_credits, evaluate_credits
from ledger.service import Ledger
from ledger.store import SqlLedgerStore

from .conftest import RULES_2021, MakeCredit, MakeReversal


def _due(person: str, year: int, seq: int) -> DueEvaluation:
    return DueEvaluation(PersonId(person), year, SequenceNumber(seq))


async def test_an_append_marks_its_person_year_due_with_its_last_entry(ledger: Ledger, make_credit: MakeCredit) -> None:
    await ledger.record_batch(
        [make_credit("c-1"), make_credit("c-2", person_id="person-2"), make_credit("c-3", hours="2")]
    )

    assert sorted(await ledger.due_evaluations(), key=lambda due: due.person_id) == [
        _due("person-1", 2021, 3),
        _due("person-2", 2021, 2),
    ]


async def test_a_duplicate_or_a_hold_marks_nothing_and_a_reversal_marks_the_year_again(
    ledger: Ledger, make_credit: MakeCredit, make_reversal: MakeReversal
) -> None:
    await ledger.record(make_credit())
    async with ledger.reviewing(PersonId("person-1"), 2021) as review:
        await review.settle()

    await ledger.record(make_credit())  # a duplicate
    await ledger.record(make_credit(hours="9"))  # a conflict, held
    assert await ledger.due_evaluations() == []

    await ledger.record(make_reversal())
    assert await ledger.due_evaluations() == [_due("person-1", 2021, 2)]


async def test_a_review_sees_the_years_entries_and_settles_its_due_mark(
    ledger: Ledger, make_credit: MakeCredit, make_reversal: MakeReversal
) -> None:
    await ledger.record_batch([make_credit("c-1"), make_credit("c-2", course_code="other", hours="1")])
    await ledger.record(make_reversal("c-2"))

    async with ledger.reviewing(PersonId("person-1"), 2021) as review:
        assert [entry.seq for entry in review.entries] == [1, 2, 3]
        assert review.last_seq == 3
        assert review.evaluation.earned.public == 350
        assert review.evaluation.missing_topics == ()  # XJP-2021-01 is a xi_thought course
        evaluation = review.evaluation
        await review.settle()

    assert evaluation == await ledger.evaluate("person-1", 2021)
    assert await ledger.due_evaluations() == []


async def test_a_review_that_fails_leaves_the_year_due(ledger: Ledger, make_credit: MakeCredit) -> None:
    await ledger.record(make_credit())

    async def failing_review() -> None:
        async with ledger.reviewing(PersonId("person-1"), 2021) as review:
            await review.settle()
            raise RuntimeError("decision failed")

    with pytest.raises(RuntimeError, match="decision failed"):
        await failing_review()

    assert await ledger.due_evaluations() == [_due("person-1", 2021, 1)]


async def test_forgetting_a_due_year_ends_its_mark_only_up_to_the_entry_it_names(
    ledger: Ledger, make_credit: MakeCredit
) -> None:
    await ledger.record(make_credit("c-1"))
    (first,) = await ledger.due_evaluations()
    await ledger.record(make_credit("c-2", hours="1"))

    await ledger.forget_due(first)

    assert await ledger.due_evaluations() == [_due("person-1", 2021, 2)]


async def test_a_year_without_rules_cannot_be_reviewed(ledger: Ledger) -> None:
    with pytest.raises(NoRulesForYear):
        async with ledger.reviewing(PersonId("person-1"), 2020):
            pass


async def test_waiting_for_appends_returns_once_this_process_appended(ledger: Ledger, make_credit: MakeCredit) -> None:
    waiting = asyncio.create_task(ledger.wait_for_appends(timeout_seconds=60))
    await asyncio.sleep(0)
    assert not waiting.done()

    await ledger.record(make_credit())

    await asyncio.wait_for(waiting, timeout=30)
    assert await ledger.due_evaluations() == [_due("person-1", 2021, 1)]  # committed before the wake-up


async def test_waiting_for_appends_gives_up_after_its_timeout(ledger: Ledger) -> None:
    await ledger.wait_for_appends(timeout_seconds=0.01)


def test_the_evaluation_of_counted_credits_adds_their_hours_and_courses(
    make_credit: MakeCredit,
) -> None:
    from datetime import UTC, datetime

    from ledger.model import Entry, EntryKind, Subject

    def entry(seq: int, kind: EntryKind, subject: Subject, hours: int, reverses: int | None = None) -> Entry:
        credit = make_credit(f"c-{seq}")
        return Entry(
            seq=SequenceNumber(seq),
            kind=kind,
            person_id=credit.person_id,
            year=2021,
            subject=subject,
            hours=hours,  # type: ignore[arg-type]
            source=credit.source,
            record_id=f"c-{seq}",
            course_code="XJP-2021-01" if seq == 1 else f"course-{seq}",
            course_title="",
            completed_at=credit.completed_at,
            recorded_at=datetime(2021, 12, 1, tzinfo=UTC),
            actor="test",
            payload_hash=credit.payload_hash,
            content_hash="",
            reverses_seq=None if reverses is None else SequenceNumber(reverses),
            reason=None,
            prev_hash="",
            hash="",
        )

    entries = [
        entry(1, EntryKind.CREDIT, Subject.PUBLIC, 3000),
        entry(2, EntryKind.CREDIT, Subject.PROFESSIONAL, 7000),
        entry(3, EntryKind.CREDIT, Subject.PROFESSIONAL, 500),
        entry(4, EntryKind.REVERSAL, Subject.PROFESSIONAL, 500, reverses=3),
    ]

    counted = counted_credits(entries)
    evaluation = evaluate_credits(RULES_2021, counted)

    assert [credit.seq for credit in counted] == [1, 2]
    assert (evaluation.earned.public, evaluation.earned.professional, evaluation.met) == (3000, 7000, True)
    assert not evaluate_credits(RULES_2021, counted[1:]).met


async def test_reviews_of_one_year_take_turns_on_postgresql(
    postgresql_database_url: str, make_credit: MakeCredit
) -> None:
    engine: AsyncEngine = create_engine(postgresql_database_url)
    ledger = Ledger(SqlLedgerStore(engine), {2021: RULES_2021})
    try:
        await ledger.record(make_credit())
        await _the_second_review_reads_what_the_first_wrote(ledger)
        # Appends go on while a year is under review: they take the chain's lock, not the year's.
        async with ledger.reviewing(PersonId("person-1"), 2021):
            await asyncio.wait_for(ledger.record(make_credit("c-2", hours="1")), timeout=30)
    finally:
        await engine.dispose()


async def _the_second_review_reads_what_the_first_wrote(ledger: Ledger) -> None:
    seen: list[int] = []

    async def second() -> None:
        async with ledger.reviewing(PersonId("person-1"), 2021) as review:
            marks = await review.connection.execute(text("SELECT count(*) FROM ledger_evaluation_due"))
            seen.append(marks.scalar_one())

    async with ledger.reviewing(PersonId("person-1"), 2021) as first:
        waiting = asyncio.create_task(second())
        await asyncio.sleep(0.2)  # long enough for the second review to reach its lock, were it free
        assert seen == []
        await first.settle()
    await asyncio.wait_for(waiting, timeout=30)
    assert seen == [0]  # it ran after the first review had committed its settlement


async def test_a_years_standing_tells_what_its_entries_tell(
    ledger: Ledger, make_credit: MakeCredit, make_reversal: MakeReversal
) -> None:
    outcomes = await ledger.record_batch(
        [
            make_credit("c-1"),
            make_credit("c-2", course_code="P-1", subject="professional", hours="20"),
            make_credit("c-3", course_code="P-2", subject="professional", hours="7.5"),
            make_credit("c-4", course_code="P-2", subject="professional", hours="2"),
            make_credit("c-5", person_id="person-2", course_code="P-9", subject="professional", hours="40"),
        ]
    )
    await ledger.record(make_reversal("c-2"))
    (replaced,) = outcomes[2].entries
    await ledger.record(
        Replacement(make_credit("c-3", course_code="P-3", subject="professional", hours="6"), replaced.seq, "corrected")
    )
    await ledger.record(make_credit("c-6", person_id="person-2", hours="1"))

    async with ledger.reviewing(PersonId("person-1"), 2021) as review:
        entries_tell = (review.evaluation, review.last_seq)
    async with ledger.reviewing_standing(PersonId("person-1"), 2021) as standing:
        assert (standing.evaluation, standing.last_seq) == entries_tell
        await standing.settle()

    assert entries_tell[0].earned.professional == 200 + 600  # c-2 reversed, c-3 replaced by 6 hours
    assert await ledger.due_evaluations() == [_due("person-2", 2021, 9)]


async def test_the_standing_of_a_year_without_entries_is_empty(ledger: Ledger) -> None:
    async with ledger.reviewing_standing(PersonId("person-1"), 2021) as standing:
        assert standing.last_seq == 0
        assert standing.evaluation == evaluate_credits(RULES_2021, [])


async def test_several_years_reviewed_together_each_tell_their_own_standing(
    ledger: Ledger, make_credit: MakeCredit, make_reversal: MakeReversal
) -> None:
    await ledger.record_batch(
        [
            make_credit("c-1"),
            make_credit("c-2", person_id="person-2", course_code="P-1", subject="professional", hours="2"),
            make_credit("c-3", person_id="person-2", course_code="P-1", subject="professional", hours="1"),
        ]
    )
    await ledger.record(make_reversal("c-3"))
    years = [(PersonId("person-2"), 2021), (PersonId("person-3"), 2021), (PersonId("person-1"), 2021)]

    async with ledger.reviewing_standings(years) as standings:
        told = [(standing.person_id, standing.last_seq, standing.evaluation.earned) for standing in standings]
        await ledger.settle_standings([standings[0]])

    for person_id, last_seq, earned in told:
        async with ledger.reviewing(person_id, 2021) as review:
            assert (review.last_seq, review.evaluation.earned) == (last_seq, earned)
    assert [last_seq for _person_id, last_seq, _earned in told] == [4, 0, 1]
    assert await ledger.due_evaluations() == [_due("person-1", 2021, 1)]  # only person-2's year was settled


async def test_a_review_of_several_years_holds_each_years_turn_on_postgresql(
    postgresql_database_url: str, make_credit: MakeCredit
) -> None:
    engine: AsyncEngine = create_engine(postgresql_database_url)
    ledger = Ledger(SqlLedgerStore(engine), {2021: RULES_2021})
    seen: list[int] = []

    async def one_year() -> None:
        async with ledger.reviewing(PersonId("person-2"), 2021) as review:
            seen.append(len(await ledger.due_evaluations()))
            await review.settle()

    try:
        await ledger.record_batch([make_credit("c-1"), make_credit("c-2", person_id="person-2")])
        years = [(PersonId("person-1"), 2021), (PersonId("person-2"), 2021)]
        async with ledger.reviewing_standings(years) as standings:
            waiting = asyncio.create_task(one_year())
            await asyncio.sleep(0.2)  # long enough for the other review to reach its lock, were it free
            assert seen == []
            await ledger.settle_standings(standings)
        await asyncio.wait_for(waiting, timeout=30)
        assert seen == [0]  # it ran after the shared review had committed its settlements
    finally:
        await engine.dispose()
