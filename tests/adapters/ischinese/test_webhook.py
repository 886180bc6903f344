"""ischinese's webhooks as the vendor sends them, signed with the spec's reference library."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from standardwebhooks import Webhook

from adapters.errors import DeliveryInvalid, SignatureRefused
from adapters.ischinese.receiver import IschineseReceiver
from adapters.ports import AccountLink
from ledger.model import Credit, Delivery, Hold, HoldReason, Reversal

from ..conftest import FakeLearnerDirectory

OLD_SECRET = "whsec_" + base64.b64encode(b"the secret before the rotation!").decode()
NEW_SECRET = "whsec_" + base64.b64encode(b"the secret after the rotation!!").decode()
NOW = datetime(2021, 6, 1, 2, 0, 5, tzinfo=UTC)
COMPLETION = {
    "type": "completion.created",
    "timestamp": "2021-06-01T10:00:00+08:00",
    "data": {
        "completion_id": "c-000123",
        "sub": "sub-wang",
        "course": {
            "id": "XJP-2021-01",
            "title": "习近平新时代中国特色社会主义思想概论",
            "subject": "public",
            "hours": "3.5",
        },
        "completed_at": "2021-06-01T09:58:12+08:00",
    },
}


def signed(
    document: object, *, secret: str = NEW_SECRET, at: datetime = NOW, message_id: str = "msg-1"
) -> tuple[dict[str, str], bytes]:
    body = json.dumps(document, ensure_ascii=False).encode()
    signature = Webhook(secret).sign(message_id, at, body.decode())
    headers = {"webhook-id": message_id, "webhook-timestamp": str(int(at.timestamp())), "webhook-signature": signature}
    return headers, body


@pytest.fixture
def receiver(directory: FakeLearnerDirectory) -> IschineseReceiver:
    return IschineseReceiver([OLD_SECRET, NEW_SECRET], directory)


async def test_a_completion_becomes_a_credit_of_exact_hours(receiver: IschineseReceiver) -> None:
    delivery = await receiver.receive(*signed(COMPLETION), now=NOW)

    assert isinstance(delivery, Delivery)
    credit = delivery.command
    assert isinstance(credit, Credit)
    assert (credit.person_id, credit.record_id, credit.course_code, credit.hours) == (
        "person-wang",
        "c-000123",
        "XJP-2021-01",
        350,
    )
    assert credit.completed_at == datetime(2021, 6, 1, 1, 58, 12, tzinfo=UTC)
    assert delivery.delivery_id == "msg-1"


async def test_every_configured_secret_is_accepted(receiver: IschineseReceiver) -> None:
    old = await receiver.receive(*signed(COMPLETION, secret=OLD_SECRET), now=NOW)
    assert isinstance(old, Delivery)


async def test_a_revocation_becomes_a_reversal(receiver: IschineseReceiver) -> None:
    revoked = {
        "type": "completion.revoked",
        "timestamp": "2021-06-02T10:00:00+08:00",
        "data": {"completion_id": "c-000123", "reason": "作弊"},
    }

    delivery = await receiver.receive(*signed(revoked), now=NOW)

    assert isinstance(delivery, Delivery)
    assert isinstance(delivery.command, Reversal)
    assert (delivery.command.record_id, delivery.command.reason) == ("c-000123", "作弊")


async def test_an_unknown_sub_is_held_not_dropped(receiver: IschineseReceiver) -> None:
    stranger = json.loads(json.dumps(COMPLETION))
    stranger["data"]["sub"] = "never-issued"

    delivery = await receiver.receive(*signed(stranger), now=NOW)

    assert isinstance(delivery, Delivery)
    assert isinstance(delivery.command, Hold)
    assert delivery.command.reason is HoldReason.UNKNOWN_PERSON
    assert '"sub":"never-issued"' in delivery.command.payload


async def test_an_account_link_is_reported(receiver: IschineseReceiver) -> None:
    linked = {
        "type": "account.linked",
        "timestamp": "2021-06-01T10:00:00+08:00",
        "data": {"sub": "sub-wang", "account_id": "u-77"},
    }

    assert await receiver.receive(*signed(linked), now=NOW) == AccountLink("msg-1", "sub-wang", "u-77")


@pytest.mark.parametrize(
    "tamper",
    [
        lambda headers, body: (headers, body.replace(b"3.5", b"9.5")),
        lambda headers, body: (headers, body[:-1] + b" }"),
        lambda headers, body: ({**headers, "webhook-id": "msg-2"}, body),
        lambda headers, body: (
            {**headers, "webhook-signature": headers["webhook-signature"].replace("v1,", "v2,")},
            body,
        ),
        lambda headers, body: ({**headers, "webhook-signature": "v1,not base64!"}, body),
        lambda headers, body: ({key: value for key, value in headers.items() if key != "webhook-id"}, body),
        lambda headers, body: ({**headers, "webhook-timestamp": "soon"}, body),
    ],
)
async def test_tampered_or_malformed_signatures_are_refused(receiver: IschineseReceiver, tamper: object) -> None:
    headers, body = tamper(*signed(COMPLETION))  # type: ignore[operator]

    with pytest.raises(SignatureRefused):
        await receiver.receive(headers, body, now=NOW)


@pytest.mark.parametrize("skew_seconds", [-301, 301])
async def test_timestamps_beyond_300_seconds_either_way_are_refused(
    receiver: IschineseReceiver, skew_seconds: int
) -> None:
    headers, body = signed(COMPLETION, at=NOW + timedelta(seconds=skew_seconds))

    with pytest.raises(SignatureRefused, match="300 seconds"):
        await receiver.receive(headers, body, now=NOW)


async def test_a_secret_the_hub_does_not_have_is_refused(directory: FakeLearnerDirectory) -> None:
    receiver = IschineseReceiver([OLD_SECRET], directory)

    with pytest.raises(SignatureRefused, match="no valid v1 signature"):
        await receiver.receive(*signed(COMPLETION, secret=NEW_SECRET), now=NOW)


async def test_every_field_at_fault_is_named(receiver: IschineseReceiver) -> None:
    bad = {
        "type": "completion.created",
        "data": {
            "completion_id": "",
            "sub": "sub-wang",
            "course": {"id": "X", "subject": "sports", "hours": "1.005"},
            "completed_at": "yesterday",
        },
    }

    with pytest.raises(DeliveryInvalid) as refused:
        await receiver.receive(*signed(bad), now=NOW)

    assert {error.field for error in refused.value.errors} == {
        "data.completion_id",
        "data.course.subject",
        "data.course.hours",
        "data.completed_at",
    }


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"type": "completion.updated", "data": {}}, "type"),
        ({"type": "completion.created"}, "data"),
        ([1, 2], "body"),
        (
            {
                **COMPLETION,
                "data": {**COMPLETION["data"], "course": {**COMPLETION["data"]["course"], "hours": "100.01"}},
            },
            "data.course.hours",
        ),  # type: ignore[dict-item]
        (
            {**COMPLETION, "data": {**COMPLETION["data"], "course": {**COMPLETION["data"]["course"], "hours": 0}}},
            "data.course.hours",
        ),  # type: ignore[dict-item]
    ],
)
async def test_invalid_bodies_name_their_field(receiver: IschineseReceiver, document: object, field: str) -> None:
    with pytest.raises(DeliveryInvalid) as refused:
        await receiver.receive(*signed(document), now=NOW)

    assert field in {error.field for error in refused.value.errors}


async def test_hours_as_a_json_number_stay_exact(receiver: IschineseReceiver) -> None:
    body = json.dumps(COMPLETION).replace('"hours": "3.5"', '"hours": 0.1').encode()
    headers = {
        "webhook-id": "msg-9",
        "webhook-timestamp": str(int(NOW.timestamp())),
        "webhook-signature": Webhook(NEW_SECRET).sign("msg-9", NOW, body.decode()),
    }

    delivery = await receiver.receive(headers, body, now=NOW)

    assert isinstance(delivery, Delivery)
    assert isinstance(delivery.command, Credit)
    assert delivery.command.hours == 10
    assert Decimal("0.1") * 100 == delivery.command.hours
