"""The ingestion view's pure parts: what a refusal keeps of an adapter's error, counts of one bucket,
cursors, the parsing of the queries and the cutting of a page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.errors import AdapterError, BodyTooLarge, DeliveryInvalid, SignatureRefused
from adapters.hnou.errors import (
    FieldsInvalid,
    FormTooLarge,
    FormUnreadable,
    InvalidSign,
    InvalidTimestamp,
    NonceRefused,
)
from adapters.ingestion.errors import InvalidEventQuery
from adapters.ingestion.model import (
    EVENTS_PAGE_SIZE_DEFAULT,
    FIELDS_PER_REFUSAL_MAX,
    VENDORS,
    EventOrigin,
    EventOutcome,
    EventPosition,
    EventQuery,
    IngestionEvent,
    RefusalCount,
    Window,
    decode_cursor,
    encode_cursor,
    page_of,
    parse_event_query,
    parse_summary_query,
    refusal_of,
)
from ledger.errors import FieldError
from ledger.model import Source

AT = datetime(2021, 6, 1, 2, 3, 4, 567890, tzinfo=UTC)


@pytest.mark.parametrize(
    ("error", "reason", "fields"),
    [
        (BodyTooLarge("over"), "body_too_large", ()),
        (SignatureRefused("stale"), "signature_refused", ()),
        (
            DeliveryInvalid([FieldError("type", "bad"), FieldError("data.course.hours", "bad")]),
            "delivery_invalid",
            ("type", "data.course.hours"),
        ),
        (FormTooLarge("over"), "body_too_large", ()),
        (FormUnreadable("not a form"), "invalid_body", ("body",)),
        (InvalidSign("no"), "invalid_sign", ()),
        (InvalidTimestamp("stale"), "invalid_timestamp", ()),
        (NonceRefused("reused_nonce", "again"), "reused_nonce", ()),
        (
            FieldsInvalid([FieldError("xs", "bad"), FieldError("kmlx", "bad"), FieldError("xs", "worse")]),
            "invalid_field",
            ("xs", "kmlx"),
        ),
    ],
)
def test_a_refusal_keeps_the_stable_code_and_the_names_of_the_fields(
    error: AdapterError, reason: str, fields: tuple[str, ...]
) -> None:
    refusal = refusal_of(Source.HNOU, error, AT)

    assert (refusal.reason, refusal.fields, refusal.delivery_id) == (reason, fields, None)
    assert refusal.bucket.minute == datetime(2021, 6, 1, 2, 3, tzinfo=UTC)
    assert refusal.bucket.fields == ",".join(fields)


def test_a_refusal_keeps_nothing_of_an_unexpected_shape() -> None:
    names = [FieldError(f"field{index}", "bad") for index in range(FIELDS_PER_REFUSAL_MAX + 5)]
    strange = DeliveryInvalid([FieldError("430102199003071045 with spaces", "bad"), *names])

    refusal = refusal_of(Source.ISCHINESE, strange, AT, delivery_id="msg 1\n")
    nonce = refusal_of(Source.HNOU, NonceRefused("Not A Code!", "odd"), AT, delivery_id="x" * 201)

    assert refusal.fields == tuple(f"field{index}" for index in range(FIELDS_PER_REFUSAL_MAX))
    assert refusal.delivery_id is None
    assert (nonce.reason, nonce.delivery_id) == ("refused", None)


def test_counts_of_one_bucket_add_up_and_keep_the_last_delivery_id_given() -> None:
    first = RefusalCount.of(refusal_of(Source.ISCHINESE, DeliveryInvalid([]), AT, "msg-1"))
    later = RefusalCount.of(refusal_of(Source.ISCHINESE, DeliveryInvalid([]), AT + timedelta(seconds=5), "msg-2"))
    unsigned = RefusalCount.of(refusal_of(Source.ISCHINESE, DeliveryInvalid([]), AT + timedelta(seconds=9)))

    total = first.plus(unsigned).plus(later)

    assert (total.count, total.first_at, total.last_at) == (3, AT, AT + timedelta(seconds=9))
    assert total.last_delivery_id == "msg-2"
    assert later.plus(unsigned).last_delivery_id == "msg-2"


@given(
    at=st.datetimes(timezones=st.just(UTC)),
    origin=st.sampled_from(EventOrigin),
    row_id=st.integers(min_value=1, max_value=2**63 - 1),
)
def test_a_cursor_gives_back_its_position(at: datetime, origin: EventOrigin, row_id: int) -> None:
    position = EventPosition(at, origin, row_id)

    assert decode_cursor(encode_cursor(position)) == position


@pytest.mark.parametrize(
    "cursor",
    ["", "!!!", "bm90IGEgY3Vyc29y", encode_cursor(EventPosition(AT, EventOrigin.RECEIPT, 7)) + "A", "x" * 101],
)
def test_anything_but_a_cursor_this_endpoint_gave_is_refused(cursor: str) -> None:
    assert decode_cursor(cursor) is None


def test_a_query_with_nothing_asks_for_the_newest_of_every_vendor() -> None:
    assert parse_event_query([]) == EventQuery(vendors=VENDORS, limit=EVENTS_PAGE_SIZE_DEFAULT)


def test_a_query_reads_every_parameter() -> None:
    position = EventPosition(AT, EventOrigin.REFUSAL, 12)

    query = parse_event_query(
        [
            ("vendor", "hnou"),
            ("outcome", "refused"),
            ("from", "2021-06-01T08:00:00+08:00"),
            ("to", "2021-06-02T00:00:00Z"),
            ("cursor", encode_cursor(position)),
            ("limit", "200"),
        ]
    )

    assert query == EventQuery(
        vendors=(Source.HNOU,),
        outcome=EventOutcome.REFUSED,
        window=Window(datetime(2021, 6, 1, tzinfo=UTC), datetime(2021, 6, 2, tzinfo=UTC)),
        after=position,
        limit=200,
    )


def test_every_parameter_at_fault_is_named() -> None:
    with pytest.raises(InvalidEventQuery) as refused:
        parse_event_query(
            [
                ("vendor", "offline"),
                ("outcome", "lost"),
                ("from", "2021-06-01T08:00:00"),
                ("to", "tomorrow"),
                ("cursor", "abc"),
                ("limit", "201"),
                ("page", "2"),
                ("vendor", "hnou"),
            ]
        )

    assert [error.field for error in refused.value.errors] == [
        "page",
        "vendor",
        "outcome",
        "from",
        "to",
        "cursor",
        "limit",
    ]


def test_a_window_must_end_after_it_starts_and_values_are_bounded() -> None:
    with pytest.raises(InvalidEventQuery) as backwards:
        parse_summary_query([("from", "2021-06-02T00:00:00+08:00"), ("to", "2021-06-01T00:00:00+08:00")])
    with pytest.raises(InvalidEventQuery) as too_long:
        parse_summary_query([("from", "2" * 101), ("vendor", "hnou")])

    assert [(error.field, error.message) for error in backwards.value.errors] == [("to", "must be later than from")]
    assert [error.field for error in too_long.value.errors] == ["from", "vendor"]


def test_a_name_the_caller_typed_is_not_echoed_unless_it_is_plain() -> None:
    with pytest.raises(InvalidEventQuery) as refused:
        parse_event_query([("id 430102199003071045", "1")])

    assert [error.field for error in refused.value.errors] == ["?"]


def _event(seconds: int, origin: EventOrigin, row_id: int) -> IngestionEvent:
    at = AT + timedelta(seconds=seconds)
    return IngestionEvent(
        position=EventPosition(at, origin, row_id),
        vendor=Source.HNOU,
        outcome=EventOutcome.REFUSED if origin is EventOrigin.REFUSAL else EventOutcome.APPENDED,
        delivery_id=None,
        record_id=None,
        kind=None,
        reason=None,
        fields=(),
        count=1,
        received_at=at,
        last_received_at=at,
        entry_seq=None,
    )


def test_a_page_is_the_newest_and_its_cursor_continues_after_its_last() -> None:
    events = [_event(0, EventOrigin.RECEIPT, 1), _event(5, EventOrigin.REFUSAL, 1), _event(5, EventOrigin.RECEIPT, 2)]

    page = page_of(events, 2)
    last = page_of(events, 3)

    assert [event.position for event in page.events] == [events[2].position, events[1].position]
    assert page.next_cursor is not None
    assert decode_cursor(page.next_cursor) == events[1].position
    assert last.next_cursor is None
