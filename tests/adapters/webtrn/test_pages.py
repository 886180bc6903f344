"""webtrn's page items read into deliveries: every difference of its format absorbed, every bad item held."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from adapters.webtrn.errors import AnswerInvalid
from adapters.webtrn.pages import ItemPosition, ItemReader, ReadItem, parse_page
from ledger.errors import NoRulesForYear
from ledger.model import Command, Credit, EntryKind, Hold, HoldReason, Reversal, Subject

from ..conftest import FakeLearnerDirectory

RECEIVED_AT = datetime(2021, 6, 1, 3, 0, tzinfo=UTC)
ITEM: dict[str, Any] = {
    "id": 88123,
    "learner": {"sub": "sub-wang-w"},
    "course_code": "C1001",
    "course_name": "习近平新时代中国特色社会主义思想概论",
    "subject": "公共科目",
    "credit_hours": Decimal("2.5"),
    "finished_at": "2021-06-01 10:00:00",
    "status": "completed",
    "updated_at": "2021-06-01T02:00:05Z",
}


def rules_of_2021_only(command: Command) -> None:
    """Like ``Ledger.check`` with rules for 2021 alone."""
    if isinstance(command, Credit) and command.year != 2021:
        raise NoRulesForYear(command.year)


@pytest.fixture
def reader(directory: FakeLearnerDirectory) -> ItemReader:
    return ItemReader(directory, rules_of_2021_only)


async def read(reader: ItemReader, **changes: object) -> ReadItem:
    return await reader.read({**ITEM, **changes}, RECEIVED_AT)


async def test_a_completed_item_becomes_a_credit_of_exact_hours_in_beijing_time(reader: ItemReader) -> None:
    item = await read(reader)

    credit = item.delivery.command
    assert isinstance(credit, Credit)
    assert (credit.person_id, credit.record_id, credit.course_code, credit.subject, credit.hours) == (
        "person-wang",
        "88123",
        "C1001",
        Subject.PUBLIC,
        250,
    )
    assert credit.completed_at == datetime(2021, 6, 1, 2, 0, 0, tzinfo=UTC)
    assert item.delivery.delivery_id == "88123@2021-06-01T02:00:05.000000Z"
    assert item.position == ItemPosition(datetime(2021, 6, 1, 2, 0, 5, tzinfo=UTC), 88123)


async def test_professional_subjects_are_read_from_chinese(reader: ItemReader) -> None:
    item = await read(reader, subject="专业科目")

    assert isinstance(item.delivery.command, Credit)
    assert item.delivery.command.subject is Subject.PROFESSIONAL


async def test_hours_as_a_json_number_are_read_exactly(reader: ItemReader) -> None:
    body = json.dumps({"items": [{**ITEM, "credit_hours": "HOURS"}], "next_cursor": None}, ensure_ascii=False)
    page = parse_page(body.replace('"HOURS"', "0.1").encode())

    item = await reader.read(page.items[0], RECEIVED_AT)

    assert isinstance(item.delivery.command, Credit)
    assert item.delivery.command.hours == 10


async def test_a_revoked_item_becomes_a_reversal_delivered_under_its_new_version(reader: ItemReader) -> None:
    completed = await read(reader)
    revoked = await read(reader, status="revoked", updated_at="2021-07-01T00:00:00Z")

    reversal = revoked.delivery.command
    assert isinstance(reversal, Reversal)
    assert (reversal.record_id, reversal.reason) == ("88123", "revoked by webtrn")
    assert revoked.delivery.delivery_id != completed.delivery.delivery_id


async def test_an_unknown_sub_is_held_with_its_content(reader: ItemReader) -> None:
    stranger = await read(reader, learner={"sub": "never-issued"})
    renamed = await read(reader, learner={"sub": "never-issued"}, course_name="另一个名字")

    hold = stranger.delivery.command
    assert isinstance(hold, Hold)
    assert (hold.reason, hold.record_id, hold.kind) == (HoldReason.UNKNOWN_PERSON, "88123", EntryKind.CREDIT)
    assert '"sub":"never-issued"' in hold.payload
    # A name is not content: the same completion renamed is the same held record.
    assert isinstance(renamed.delivery.command, Hold)
    assert renamed.delivery.command.payload_hash == hold.payload_hash


async def test_a_revocation_of_an_unknown_sub_is_still_a_reversal(reader: ItemReader) -> None:
    item = await read(reader, learner={"sub": "never-issued"}, status="revoked")

    assert isinstance(item.delivery.command, Reversal)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"learner": None}, "learner.sub"),
        ({"learner": {"sub": ""}}, "learner.sub"),
        ({"course_code": ""}, "course_code"),
        ({"course_code": "C" * 201}, "course_code"),
        ({"learner": {"sub": "s\x00"}}, "learner.sub"),
        ({"course_name": "概论\x00"}, "course_name"),
        ({"course_name": 7}, "course_name"),
        ({"subject": "public"}, "subject"),
        ({"subject": "体育"}, "subject"),
        ({"credit_hours": "2.5"}, "credit_hours"),
        ({"credit_hours": True}, "credit_hours"),
        ({"credit_hours": Decimal("2.55")}, "credit_hours"),
        ({"credit_hours": Decimal(0)}, "credit_hours"),
        ({"credit_hours": Decimal("100.5")}, "credit_hours"),
        ({"finished_at": "2021-06-01T10:00:00"}, "finished_at"),
        ({"finished_at": "2021-06-31 10:00:00"}, "finished_at"),
        ({"finished_at": "2020-06-01 10:00:00"}, "finished_at"),
        ({"status": "deleted"}, "status"),
        ({"id": 0}, "id"),
    ],
)
async def test_a_malformed_item_is_held_naming_its_field(
    reader: ItemReader, changes: dict[str, object], field: str
) -> None:
    item = await read(reader, **changes)

    hold = item.delivery.command
    assert isinstance(hold, Hold)
    assert hold.reason is HoldReason.MALFORMED
    assert hold.detail.startswith(f"{field}: ")
    assert item.position is not None or field == "id"


async def test_every_field_at_fault_is_named(reader: ItemReader) -> None:
    item = await read(reader, subject="体育", credit_hours="2.5", status="done")

    assert isinstance(item.delivery.command, Hold)
    named = {part.split(":")[0] for part in item.delivery.command.detail.split("; ")}
    assert named == {"subject", "credit_hours", "status"}


@pytest.mark.parametrize(
    "updated_at", [None, "2021-06-01 02:00:05", "2021-06-01T02:00:05", "yesterday", "2021-06-01T02:00:05Z" + " " * 40]
)
async def test_an_item_without_a_readable_updated_at_is_held_and_has_no_position(
    reader: ItemReader, updated_at: object
) -> None:
    item = await read(reader, updated_at=updated_at)

    assert isinstance(item.delivery.command, Hold)
    assert item.delivery.command.detail.startswith("updated_at: ")
    assert item.position is None


@pytest.mark.parametrize("raw", [42, "item", [ITEM], {"id": "88123"}])
async def test_an_unreadable_item_is_held_under_an_id_of_its_own(reader: ItemReader, raw: object) -> None:
    item = await reader.read(raw, RECEIVED_AT)

    hold = item.delivery.command
    assert isinstance(hold, Hold)
    assert hold.reason is HoldReason.MALFORMED
    assert hold.record_id.startswith("unreadable-")
    assert len(item.delivery.delivery_id) <= 200


async def test_a_revoked_malformed_item_is_held_as_a_reversal(reader: ItemReader) -> None:
    item = await read(reader, status="revoked", credit_hours="2.5")

    assert isinstance(item.delivery.command, Hold)
    assert item.delivery.command.kind is EntryKind.REVERSAL


def test_a_page_gives_its_items_and_next_cursor() -> None:
    page = parse_page(b'{"items": [{"id": 1}, 2], "next_cursor": "abc"}')

    assert page.items == ({"id": 1}, 2)
    assert page.next_cursor == "abc"
    assert parse_page(b'{"items": [], "next_cursor": null}').next_cursor is None


@pytest.mark.parametrize(
    "body",
    [
        b"<html>bad gateway</html>",
        b"\xff\xfe",
        b"[]",
        b'{"next_cursor": null}',
        b'{"items": {}, "next_cursor": null}',
        json.dumps({"items": [{}] * 501, "next_cursor": None}).encode(),
        b'{"items": [], "next_cursor": 7}',
        b'{"items": [], "next_cursor": ""}',
        json.dumps({"items": [], "next_cursor": "c" * 1001}).encode(),
    ],
)
def test_a_page_not_shaped_as_the_contract_says_is_refused(body: bytes) -> None:
    with pytest.raises(AnswerInvalid, match="webtrn"):
        parse_page(body)
