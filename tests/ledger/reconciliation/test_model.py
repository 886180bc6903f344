"""Reconciliation, pure: what differs between the two sides, what a run records, and its requests."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from ledger.model import (
    Credit,
    Entry,
    EntryKind,
    Hours,
    PersonId,
    SequenceNumber,
    Source,
    Subject,
    new_credit,
)
from ledger.reconciliation.errors import InvalidReconciliationRequest
from ledger.reconciliation.model import (
    Decision,
    Discrepancy,
    DiscrepancyKind,
    DiscrepancyStatus,
    Finding,
    LedgerRecord,
    RunRequest,
    Scope,
    VendorRecord,
    VendorState,
    compare,
    credit_from_text,
    credit_text,
    decide,
    decode_cursor,
    encode_cursor,
    latest_records,
    parse_discrepancy_query,
    parse_resolution,
    parse_run_request,
)

BEIJING = timezone(timedelta(hours=8))
COMPLETED = datetime(2021, 6, 1, 9, 58, 12, tzinfo=BEIJING)


def credit(**overrides: object) -> Credit:
    fields: dict[str, object] = {
        "person_id": "person-1",
        "source": "ischinese",
        "record_id": "c-1",
        "course_code": "XJP-2021-01",
        "course_title": "概论",
        "subject": "public",
        "hours": "3.5",
        "completed_at": COMPLETED,
        "actor": "vendor:ischinese",
        "payload_hash": hashlib.sha256(b"c-1").hexdigest(),
    }
    fields.update(overrides)
    return new_credit(**fields)  # type: ignore[arg-type]


def counted(**overrides: object) -> VendorRecord:
    return VendorRecord("c-1", VendorState.COUNTED, credit(**overrides), COMPLETED, "f" * 64, "{}")


def vendor(state: VendorState) -> VendorRecord:
    return VendorRecord("c-1", state, None, COMPLETED, "f" * 64, "{}")


def entry(
    seq: int, kind: EntryKind = EntryKind.CREDIT, *, replaces: int | None = None, actor: str = "vendor:ischinese"
) -> Entry:
    """An entry of record c-1; a credit that ``replaces`` names the credit it replaces."""
    reverses_seq = SequenceNumber(seq - 1) if kind is EntryKind.REVERSAL else replaces
    return Entry(
        seq=SequenceNumber(seq),
        kind=kind,
        person_id=PersonId("person-1"),
        year=2021,
        subject=Subject.PUBLIC,
        hours=Hours(350),
        source=Source.ISCHINESE,
        record_id="c-1",
        course_code="XJP-2021-01",
        course_title="概论",
        completed_at=COMPLETED.astimezone(UTC),
        recorded_at=COMPLETED.astimezone(UTC),
        actor=actor,
        payload_hash="0" * 64,
        content_hash="0" * 64,
        reverses_seq=None if reverses_seq is None else SequenceNumber(reverses_seq),
        reason=None if kind is EntryKind.CREDIT else "revoked",
        prev_hash="0" * 64,
        hash="1" * 64,
    )


COUNTED_IN_LEDGER = LedgerRecord(entry(1), None)


def reversed_by(actor: str) -> LedgerRecord:
    return LedgerRecord(entry(1), entry(2, EntryKind.REVERSAL, actor=actor))


@pytest.mark.parametrize(
    ("vendor_side", "ledger_side", "expected"),
    [
        (None, None, None),
        (None, COUNTED_IN_LEDGER, Finding(DiscrepancyKind.MISSING_AT_VENDOR)),
        (None, reversed_by("vendor:ischinese"), None),
        (counted(), None, Finding(DiscrepancyKind.MISSING_IN_LEDGER)),
        (counted(), COUNTED_IN_LEDGER, None),
        (counted(course_title="another title"), COUNTED_IN_LEDGER, None),
        (counted(completed_at=COMPLETED.astimezone(UTC)), COUNTED_IN_LEDGER, None),
        (counted(hours="3.50"), COUNTED_IN_LEDGER, None),
        (counted(hours="4"), COUNTED_IN_LEDGER, Finding(DiscrepancyKind.DIFFERENT, ("hours",))),
        (
            counted(subject="professional", course_code="X", completed_at=COMPLETED + timedelta(days=1)),
            COUNTED_IN_LEDGER,
            Finding(DiscrepancyKind.DIFFERENT, ("course", "subject", "completed_at")),
        ),
        (counted(person_id="person-2"), COUNTED_IN_LEDGER, Finding(DiscrepancyKind.DIFFERENT, ("person",))),
        (counted(), reversed_by("operator:3"), Finding(DiscrepancyKind.DIFFERENT, ("status",))),
        (counted(), reversed_by("vendor:ischinese"), None),
        (vendor(VendorState.REVOKED), COUNTED_IN_LEDGER, Finding(DiscrepancyKind.DIFFERENT, ("status",))),
        (vendor(VendorState.REVOKED), reversed_by("operator:3"), None),
        (vendor(VendorState.REVOKED), None, None),
        (vendor(VendorState.UNKNOWN_LEARNER), None, Finding(DiscrepancyKind.UNKNOWN_PERSON)),
        (vendor(VendorState.UNKNOWN_LEARNER), reversed_by("operator:3"), Finding(DiscrepancyKind.UNKNOWN_PERSON)),
        (vendor(VendorState.UNKNOWN_LEARNER), COUNTED_IN_LEDGER, Finding(DiscrepancyKind.DIFFERENT, ("person",))),
    ],
)
def test_what_differs_between_the_vendor_and_the_ledger(
    vendor_side: VendorRecord | None, ledger_side: LedgerRecord | None, expected: Finding | None
) -> None:
    assert compare(Source.ISCHINESE, vendor_side, ledger_side) == expected


def test_an_unreadable_record_is_never_compared() -> None:
    with pytest.raises(ValueError, match="unreadable"):
        compare(Source.ISCHINESE, vendor(VendorState.UNREADABLE), COUNTED_IN_LEDGER)


def test_a_vendor_record_has_its_credit_exactly_when_it_is_counted() -> None:
    with pytest.raises(ValueError, match="exactly when"):
        VendorRecord("c-1", VendorState.REVOKED, credit(), COMPLETED, "f" * 64, "{}")
    with pytest.raises(ValueError, match="exactly when"):
        VendorRecord("c-1", VendorState.COUNTED, None, COMPLETED, "f" * 64, "{}")


def test_the_ledger_side_of_a_record_is_its_latest_credit() -> None:
    first, reversal, second = entry(1), entry(2, EntryKind.REVERSAL), entry(3, replaces=1)

    assert latest_records([first, reversal]) == {"c-1": LedgerRecord(first, reversal)}
    assert latest_records([first, reversal, second]) == {"c-1": LedgerRecord(second, None)}


def discrepancy(kind: DiscrepancyKind, fingerprint: str | None, status: DiscrepancyStatus) -> Discrepancy:
    return Discrepancy(
        id=1,
        vendor=Source.ISCHINESE,
        kind=kind,
        record_id="c-1",
        person_id=None,
        differences=(),
        vendor_state=None,
        vendor_record=None,
        vendor_credit=None,
        vendor_fingerprint=fingerprint,
        ledger_record=None,
        completed_at=COMPLETED,
        status=status,
        opened_at=COMPLETED,
        opened_by_run=1,
        last_run_id=1,
        resolution=None,
    )


MISSING = Finding(DiscrepancyKind.MISSING_IN_LEDGER)
OPEN_MISSING = discrepancy(DiscrepancyKind.MISSING_IN_LEDGER, "a", DiscrepancyStatus.OPEN)
ACCEPTED_MISSING = discrepancy(DiscrepancyKind.MISSING_IN_LEDGER, "a", DiscrepancyStatus.RESOLVED)


@pytest.mark.parametrize(
    ("finding", "fingerprint", "open_one", "accepted", "expected"),
    [
        (None, "a", None, [], Decision.NOTHING),
        (None, "a", OPEN_MISSING, [], Decision.CLOSE),
        (MISSING, "a", None, [], Decision.OPEN),
        (MISSING, "b", OPEN_MISSING, [], Decision.KEEP),
        (Finding(DiscrepancyKind.DIFFERENT, ("hours",)), "a", OPEN_MISSING, [], Decision.CLOSE_AND_OPEN),
        (MISSING, "a", None, [ACCEPTED_MISSING], Decision.NOTHING),
        (MISSING, "b", None, [ACCEPTED_MISSING], Decision.OPEN),
        (Finding(DiscrepancyKind.DIFFERENT, ("hours",)), "a", None, [ACCEPTED_MISSING], Decision.OPEN),
    ],
)
def test_what_a_run_records_for_a_finding(
    finding: Finding | None,
    fingerprint: str,
    open_one: Discrepancy | None,
    accepted: list[Discrepancy],
    expected: Decision,
) -> None:
    assert decide(finding, fingerprint, open_one, accepted) is expected


def test_a_kept_credit_reads_back_the_same() -> None:
    original = credit(hours="3.25", completed_at=COMPLETED)

    assert credit_from_text(credit_text(original)) == original


def test_a_year_is_every_day_of_it_in_beijing_time() -> None:
    scope = Scope.of_year(2021)

    assert scope.start == datetime(2020, 12, 31, 16, tzinfo=UTC)
    assert scope.end == datetime(2021, 12, 31, 16, tzinfo=UTC)
    assert scope.covers(datetime(2021, 12, 31, 23, 59, tzinfo=BEIJING))
    assert not scope.covers(datetime(2022, 1, 1, tzinfo=BEIJING))
    assert len(list(scope.days())) == 365


def test_a_run_request_names_a_vendor_and_a_year_or_a_range() -> None:
    assert parse_run_request({"vendor": "webtrn", "year": 2021}) == RunRequest(Source.WEBTRN, Scope.of_year(2021))
    assert parse_run_request({"vendor": "hnou", "from": "2021-06-01", "to": "2021-06-30"}) == RunRequest(
        Source.HNOU, Scope(date(2021, 6, 1), date(2021, 6, 30))
    )


@pytest.mark.parametrize(
    ("document", "fields"),
    [
        ({}, ["vendor", "year"]),
        ({"vendor": "offline", "year": 2021}, ["vendor"]),
        ({"vendor": "hnou", "year": "2021"}, ["year"]),
        ({"vendor": "hnou", "year": True}, ["year"]),
        ({"vendor": "hnou", "year": 2021, "from": "2021-01-01"}, ["year"]),
        ({"vendor": "hnou", "from": "2021-06-31", "to": "20210701"}, ["from", "to"]),
        ({"vendor": "hnou", "from": "2021-07-01", "to": "2021-06-01"}, ["to"]),
        ({"vendor": "hnou", "from": "2021-01-01", "to": "2022-01-02"}, ["to"]),
        ({"vendor": "hnou", "year": 2021, "extra": 1}, ["extra"]),
    ],
)
def test_a_bad_run_request_names_every_field_at_fault(document: dict[str, object], fields: list[str]) -> None:
    with pytest.raises(InvalidReconciliationRequest) as refused:
        parse_run_request(document)

    assert [error.field for error in refused.value.errors] == fields


def test_a_resolution_needs_an_operators_action_and_a_reason() -> None:
    with pytest.raises(InvalidReconciliationRequest) as refused:
        parse_resolution({"action": "no_longer_holds", "reason": " "})

    assert [error.field for error in refused.value.errors] == ["action", "reason"]


def test_the_discrepancies_query_and_its_cursor() -> None:
    query = parse_discrepancy_query([("status", "open"), ("vendor", "hnou"), ("cursor", encode_cursor(41))])

    assert (query.status, query.vendor, query.after) == (DiscrepancyStatus.OPEN, Source.HNOU, 41)
    assert decode_cursor("bm90LWEtY3Vyc29y") is None  # "not-a-cursor"
    with pytest.raises(InvalidReconciliationRequest) as refused:
        parse_discrepancy_query([("status", "closed"), ("limit", "0"), ("sort", "id"), ("cursor", "nope")])
    assert [error.field for error in refused.value.errors] == ["sort", "status", "cursor", "limit"]
