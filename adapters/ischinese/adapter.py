"""ischinese's adapter: its webhooks received, and the completions it held for unknown learners
translated again (a learner may have entered ischinese through the hub since)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from adapters.errors import DeliveryInvalid
from adapters.ischinese.receiver import IschineseReceiver
from adapters.ischinese.webhook import VENDOR, WEBHOOK_BODY_BYTES_MAX, CompletionCreated
from adapters.ports import AccountLink, HeldView, InboundWebhook, LearnerDirectory
from ledger.errors import FieldError
from ledger.model import (
    HUNDREDTHS_PER_HOUR,
    Command,
    Delivery,
    HeldRecord,
    HoldReason,
    Subject,
    format_hours,
    parse_hours,
    sha256_hex,
)


class IschineseAdapter:
    """A ``WebhookReceiver`` and ``HeldRecordTranslator`` for ischinese."""

    body_bytes_max = WEBHOOK_BODY_BYTES_MAX

    def __init__(self, secrets: Sequence[str], directory: LearnerDirectory) -> None:
        self._receiver = IschineseReceiver(secrets, directory)

    async def receive(self, webhook: InboundWebhook, now: datetime) -> Delivery | AccountLink:
        return await self._receiver.receive(webhook.headers, webhook.body, now)

    def show_held(self, record: HeldRecord) -> HeldView:
        """A held completion as it came; a pairwise ``sub`` is no personal data (it names nobody outside the hub)."""
        if record.reason != HoldReason.UNKNOWN_PERSON.value:
            return {"detail": record.detail}
        completion = held_completion(record.payload)
        return {
            "completion_id": completion.completion_id,
            "sub": completion.sub,
            "course": {
                "id": completion.course_id,
                "title": completion.course_title,
                "subject": completion.subject.value,
            },
            "hours": format_hours(parse_hours(completion.hours)),
            "completed_at": completion.completed_at.isoformat(),
        }

    async def translate_held(self, record: HeldRecord) -> Command:
        """A completion held for an unknown ``sub``, as a credit once the ``sub`` names a person."""
        if record.reason != HoldReason.UNKNOWN_PERSON.value:
            raise DeliveryInvalid([FieldError("reason", f"{VENDOR} holds only completions of unknown learners")])
        return await self._receiver.translate(held_completion(record.payload), sha256_hex(record.payload.encode()))


def held_completion(payload: str) -> CompletionCreated:
    """The completion in a held payload, which the receiver wrote (``receiver._unknown_learner``)."""
    document = json.loads(payload)
    return CompletionCreated(
        completion_id=document["completion_id"],
        sub=document["sub"],
        course_id=document["course_id"],
        course_title=document["course_title"],
        subject=Subject(document["subject"]),
        hours=Decimal(document["hours"]) / HUNDREDTHS_PER_HOUR,
        completed_at=datetime.fromisoformat(document["completed_at"]),
    )
