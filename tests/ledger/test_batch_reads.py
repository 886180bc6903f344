"""The ledger read for many people at once, on both databases: the same evaluations as one person at a
time, and online hours by vendor, reversals subtracted."""

from __future__ import annotations

import pytest

from ledger.errors import NoRulesForYear
from ledger.model import Balance, Source
from ledger.service import Ledger

from .conftest import MakeCredit, MakeReversal


async def test_people_evaluated_together_are_evaluated_as_one_at_a_time(
    ledger: Ledger, make_credit: MakeCredit, make_reversal: MakeReversal
) -> None:
    await ledger.record_batch(
        [
            # person-1 meets the mandatory topic through ischinese, and has 90 hours.
            make_credit("a-1", person_id="person-1", hours="30"),
            make_credit(
                "a-2", person_id="person-1", source="hnou", course_code="P-1", subject="professional", hours="60"
            ),
            # person-2's course of the topic was reversed; webtrn's course of it is another person's.
            make_credit("b-1", person_id="person-2", hours="40"),
            make_credit("b-2", person_id="person-3", source="webtrn", course_code="C1001", hours="2"),
            # A course with the topic's code at a vendor the topic does not name counts for nothing.
            make_credit("b-3", person_id="person-2", source="hnou", course_code="XJP-2021-01", hours="1"),
        ]
    )
    await ledger.record(make_reversal("b-1"))
    people = ["person-1", "person-2", "person-3", "person-4"]

    together = await ledger.evaluate_people(people, 2021)

    assert together == {person: await ledger.evaluate(person, 2021) for person in people}
    assert (together["person-1"].met, together["person-1"].earned) == (True, Balance(public=3000, professional=6000))
    assert together["person-2"].missing_topics == ("xi_thought",)
    assert together["person-2"].earned == Balance(public=100)
    assert together["person-3"].missing_topics == ()
    assert (together["person-4"].earned, together["person-4"].missing_total) == (Balance(), 9000)
    with pytest.raises(NoRulesForYear):
        await ledger.evaluate_people(people, 2020)


async def test_online_hours_are_counted_by_vendor_without_offline_hours_or_reversals(
    ledger: Ledger, make_credit: MakeCredit, make_reversal: MakeReversal
) -> None:
    await ledger.record_batch(
        [
            make_credit("o-1", person_id="person-1", hours="3.5"),
            make_credit("o-2", person_id="person-1", hours="1.25"),
            make_credit("o-3", person_id="person-1", source="webtrn", hours="2"),
            make_credit("o-4", person_id="person-1", source="offline", hours="7.5"),
            make_credit("o-5", person_id="person-2", source="hnou", hours="4"),
            make_credit("o-6", person_id="person-3", source="continuing_ed", hours="20"),
        ]
    )
    await ledger.record(make_reversal("o-5", source="hnou"))

    online = await ledger.online_hours_of(["person-1", "person-2", "person-3"], 2021)

    assert online == {"person-1": {Source.ISCHINESE: 475, Source.WEBTRN: 200}, "person-2": {Source.HNOU: 0}}
