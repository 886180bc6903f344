"""webtrn's adapter: its pages pulled over OAuth 2.0, and the items it held translated again (an
unknown learner who has entered webtrn through the hub since, or a malformed item that the hub can
now read, such as one of a training year that has rules since)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from adapters.errors import DeliveryInvalid
from adapters.ports import HeldView, LearnerDirectory, PullReport
from adapters.webtrn.client import WebtrnAccount, open_client
from adapters.webtrn.pages import ItemReader, Status, WebtrnItem
from adapters.webtrn.puller import Recorder, WebtrnPuller
from ledger.errors import FieldError
from ledger.model import (
    HUNDREDTHS_PER_HOUR,
    Command,
    HeldRecord,
    HoldReason,
    Subject,
    format_hours,
    parse_hours,
    sha256_hex,
)
from sso.id_numbers import mask_id_numbers_in


class WebtrnAdapter:
    """A ``PagePuller`` and ``HeldRecordTranslator`` for webtrn."""

    def __init__(
        self, account: WebtrnAccount, ledger: Recorder, directory: LearnerDirectory, *, start: datetime
    ) -> None:
        self._account = account
        self._ledger = ledger
        self._directory = directory
        self._start = start
        self._reader = ItemReader(directory, ledger.check)

    async def pull(self, progress: Callable[[PullReport], None] | None = None) -> PullReport:
        """One pull to the last page, with a client of its own (its token lives as long as the pull)."""
        async with open_client(self._account) as client:
            puller = WebtrnPuller(client, self._ledger, self._directory, start=self._start)
            return await puller.pull(progress)

    def show_held(self, record: HeldRecord) -> HeldView:
        """A held item: an unknown learner's fields, or a malformed item's text with anything shaped
        like an ID number masked (the vendor may have put one anywhere)."""
        if record.reason == HoldReason.UNKNOWN_PERSON.value:
            item = held_item(record.payload)
            return {
                "id": item.record_id,
                "sub": item.sub,
                "course_code": item.course_code,
                "course_name": item.course_name,
                "subject": item.subject.value,
                "hours": format_hours(parse_hours(item.hours)),
                "finished_at": item.finished_at.isoformat(),
            }
        return {"item": mask_id_numbers_in(record.payload)}

    async def translate_held(self, record: HeldRecord) -> Command:
        if record.reason == HoldReason.UNKNOWN_PERSON.value:
            return await self._reader.translate(held_item(record.payload), sha256_hex(record.payload.encode()))
        if record.reason == HoldReason.MALFORMED.value:
            return await self._reader.command(json.loads(record.payload, parse_float=Decimal))
        raise DeliveryInvalid([FieldError("reason", "webtrn holds only unknown learners and malformed items")])


def held_item(payload: str) -> WebtrnItem:
    """The item in a held payload of an unknown learner, which the reader wrote (``pages._unknown_learner``)."""
    document = json.loads(payload)
    finished_at = datetime.fromisoformat(document["finished_at"])
    return WebtrnItem(
        record_id=document["id"],
        sub=document["sub"],
        course_code=document["course_code"],
        course_name=document["course_name"],
        subject=Subject(document["subject"]),
        hours=Decimal(document["hours"]) / HUNDREDTHS_PER_HOUR,
        finished_at=finished_at,
        status=Status.COMPLETED,
        updated_at=finished_at,  # not kept in the hold, and not needed to translate
    )
