"""hnou's adapter: its signed forms received, its daily files fetched, and the records it held
translated again (an ID number registered since, or a daily file's line the hub can now read).

A held record's payload is encrypted (it holds an ID number); it is decrypted here only to be
translated, and nothing of it is logged.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import date, datetime
from decimal import Decimal

from adapters.errors import DeliveryInvalid
from adapters.hnou.daily import HEADER, DailyFileClient
from adapters.hnou.form import FORM_BODY_BYTES_MAX
from adapters.hnou.model import DAILY_FILE, FORM, Completion, Field, Revocation, read_record
from adapters.hnou.receiver import HnouReceiver
from adapters.hnou.translation import Translator
from adapters.ports import AccountLink, HeldView, InboundWebhook
from ledger.errors import FieldError
from ledger.model import Command, Delivery, HeldRecord, HoldReason, Subject, format_hours, parse_hours
from sso.id_numbers import IdNumber, mask_id_number, mask_id_numbers_in, mask_name


class HnouAdapter:
    """A ``WebhookReceiver``, ``BatchFetcher`` and ``HeldRecordTranslator`` for hnou."""

    body_bytes_max = FORM_BODY_BYTES_MAX

    def __init__(self, receiver: HnouReceiver, daily_files: DailyFileClient, translator: Translator) -> None:
        self._receiver = receiver
        self._daily_files = daily_files
        self._translator = translator

    async def receive(self, webhook: InboundWebhook, now: datetime) -> Delivery | AccountLink:
        return await self._receiver.receive(webhook.body, webhook.content_type, webhook.charset, now)

    def deliveries(self, day: date) -> AsyncIterator[Delivery]:
        return self._daily_files.deliveries(day)

    def show_held(self, record: HeldRecord) -> HeldView:
        """A held record decrypted, its ID number and the learner's name masked."""
        plaintext = self._translator.unseal(record.payload)
        if record.reason == HoldReason.UNKNOWN_PERSON.value:
            completion = held_completion(plaintext)
            return {
                "record_no": completion.record_no,
                "id_number_masked": mask_id_number(completion.id_number),
                "learner_name_masked": mask_name(completion.learner_name),
                "course_code": completion.course_code,
                "course_title": completion.course_title,
                "subject": completion.subject.value,
                "hours": format_hours(parse_hours(completion.hours)),
                "completed_at": completion.completed_at.isoformat(),
            }
        return {"line": masked_line(plaintext)}

    async def translate_held(self, record: HeldRecord) -> Command:
        if record.reason == HoldReason.UNKNOWN_PERSON.value:
            return await self._translator.command(held_completion(self._translator.unseal(record.payload)), FORM)
        if record.reason == HoldReason.MALFORMED.value:
            return await self._translator.command(held_line(self._translator.unseal(record.payload)), DAILY_FILE)
        raise DeliveryInvalid([FieldError("reason", "hnou holds only unknown ID numbers and malformed lines")])


def held_completion(plaintext: str) -> Completion:
    """The completion in a held payload of an unknown ID number (``Translator._unknown_person``)."""
    document = json.loads(plaintext)
    return Completion(
        record_no=document["record_no"],
        id_number=IdNumber(document["id_number"]),
        course_code=document["course_code"],
        course_title=document["course_title"],
        subject=Subject(document["subject"]),
        hours=Decimal(document["hours"]),
        completed_at=datetime.fromisoformat(document["completed_at"]),
        learner_name=document["learner_name"],
    )


def masked_line(plaintext: str) -> str:
    """A daily file's line with its name column (the third field, even of a line with too few or too
    many) masked, and anything shaped like an ID number masked."""
    try:
        fields = next(csv.reader([plaintext.replace("\n", " ")]), [])
    except csv.Error:
        fields = []
    name_column = HEADER.index(DAILY_FILE.name(Field.NAME))
    if len(fields) > name_column:
        fields[name_column] = mask_name(fields[name_column])
        text = io.StringIO()
        csv.writer(text, lineterminator="").writerow(fields)
        plaintext = text.getvalue()
    return mask_id_numbers_in(plaintext)


def held_line(plaintext: str) -> Completion | Revocation:
    """The record on a held line of a daily file; raises ``DeliveryInvalid`` naming what is wrong."""
    try:
        fields = next(csv.reader([plaintext], strict=True), [])
    except csv.Error:
        raise DeliveryInvalid([FieldError("line", "is not an RFC 4180 CSV record")]) from None
    if len(fields) != len(HEADER):
        raise DeliveryInvalid([FieldError("line", f"has {len(fields)} fields, not {len(HEADER)}")])
    return read_record(dict(zip(HEADER, fields, strict=True)), DAILY_FILE)
