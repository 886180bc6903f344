"""From a signed webhook to what the ledger should decide about: verify, parse, translate."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime

from adapters.errors import DeliveryInvalid
from adapters.ischinese.webhook import (
    VENDOR,
    AccountLinked,
    CompletionCreated,
    CompletionRevoked,
    parse_event,
    signing_key,
    verify_signature,
)
from adapters.ports import AccountLink, LearnerDirectory
from ledger.errors import FieldError, InvalidCommand
from ledger.model import (
    Command,
    Credit,
    Delivery,
    EntryKind,
    Hold,
    HoldReason,
    Source,
    canonical_json,
    new_credit,
    new_reversal,
    parse_hours,
    sha256_hex,
    utc_text,
)

ACTOR = f"vendor:{VENDOR}"


class IschineseReceiver:
    """Turns ischinese's webhooks into ledger deliveries (or account links)."""

    def __init__(self, secrets: Sequence[str], directory: LearnerDirectory) -> None:
        self._keys = [signing_key(secret) for secret in secrets]
        self._directory = directory

    async def receive(self, headers: Mapping[str, str], body: bytes, now: datetime) -> Delivery | AccountLink:
        """Raises ``SignatureRefused`` or ``DeliveryInvalid``; nothing is stored here."""
        message_id = verify_signature(headers, body, self._keys, now)
        event = parse_event(body)
        if isinstance(event, AccountLinked):
            return AccountLink(message_id, event.sub, event.account_id)
        payload_hash = hashlib.sha256(body).hexdigest()
        command = await self.translate(event, payload_hash)
        return Delivery(command, message_id, now)

    async def translate(self, event: CompletionCreated | CompletionRevoked, payload_hash: str) -> Command:
        """The ledger command an event asks for: a hold while its learner is unknown. Raises
        ``DeliveryInvalid`` naming the fields at fault as the body names them."""
        if isinstance(event, CompletionCreated):
            return await completion_command(event, self._directory, payload_hash)
        try:
            return new_reversal(
                source=VENDOR,
                record_id=event.completion_id,
                reason=event.reason,
                actor=ACTOR,
                payload_hash=payload_hash,
            )
        except InvalidCommand as invalid:
            raise DeliveryInvalid([_on_the_wire(error) for error in invalid.errors]) from None


async def completion_command(event: CompletionCreated, directory: LearnerDirectory, payload_hash: str) -> Credit | Hold:
    """The ledger's command for a completion: a credit of the learner the ``sub`` names, or a hold
    when the hub never issued the ``sub`` to ischinese. Raises ``DeliveryInvalid``."""
    person_id = await directory.person_for_subject(VENDOR, event.sub)
    if person_id is None:
        return _unknown_learner(event)
    try:
        return new_credit(
            person_id=person_id,
            source=VENDOR,
            record_id=event.completion_id,
            course_code=event.course_id,
            course_title=event.course_title,
            subject=event.subject.value,
            hours=event.hours,
            completed_at=event.completed_at,
            actor=ACTOR,
            payload_hash=payload_hash,
        )
    except InvalidCommand as invalid:
        raise DeliveryInvalid([_on_the_wire(error) for error in invalid.errors]) from None


def _unknown_learner(event: CompletionCreated) -> Hold:
    """A completion for a ``sub`` the hub never issued to ischinese: held, never dropped."""
    content = {
        "completion_id": event.completion_id,
        "sub": event.sub,
        "course_id": event.course_id,
        "subject": event.subject.value,
        "hours": parse_hours(event.hours),
        "completed_at": utc_text(event.completed_at),
    }
    return Hold(
        source=Source.ISCHINESE,
        record_id=event.completion_id,
        kind=EntryKind.CREDIT,
        reason=HoldReason.UNKNOWN_PERSON,
        payload=canonical_json({**content, "course_title": event.course_title}).decode(),
        payload_hash=sha256_hex(canonical_json(content)),  # titles are not content (vendors.md)
        detail="the sub was never issued to ischinese",
    )


WIRE_FIELDS = {
    "record_id": "data.completion_id",
    "course_code": "data.course.id",
    "course_title": "data.course.title",
    "hours": "data.course.hours",
    "completed_at": "data.completed_at",
    "reason": "data.reason",
}


def _on_the_wire(error: FieldError) -> FieldError:
    """A ledger field's name as the vendor's body names it."""
    return FieldError(WIRE_FIELDS.get(error.field, f"data.{error.field}"), error.message)
