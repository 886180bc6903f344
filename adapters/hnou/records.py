"""hnou's records for reconciliation: its daily files of each day of the scope, read line by line with
the daily file's own parsing and translation (``DailyFileClient.lines``).

The scope's days are change dates (vendors.md §3): a file lists the records created or changed that
day, so a record may come on several days, its last the vendor's current version, and a record
completed before the scope comes when it is revoked within it. What is shown of a record masks the
ID number and the name; what identifies its content is the translation's keyed hash.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import aclosing
from datetime import datetime
from typing import Final

from adapters.hnou.daily import DailyFileClient, DailyLine
from adapters.hnou.errors import DailyFileFailed
from adapters.hnou.model import DAILY_FILE, Field
from adapters.wire import beijing_time
from ledger.model import Credit, Hold, HoldReason, Replacement, Reversal, canonical_json
from ledger.reconciliation.errors import VendorReadFailed
from ledger.reconciliation.model import Scope, VendorRecord, VendorState
from ledger.reconciliation.ports import VENDOR_BATCH_RECORDS_MAX
from sso.errors import InvalidIdNumber
from sso.id_numbers import mask_id_number, normalise_id_number

ID_NUMBER: Final = DAILY_FILE.name(Field.ID_NUMBER)
NAME: Final = DAILY_FILE.name(Field.NAME)
COMPLETED_AT: Final = DAILY_FILE.name(Field.COMPLETED_AT)


class HnouRecords:
    """``VendorRecords`` of hnou, through its daily files."""

    def __init__(self, files: DailyFileClient) -> None:
        self._files = files

    async def batches(self, scope: Scope) -> AsyncGenerator[Sequence[VendorRecord], None]:
        """The records of every day's file of the scope, in file order, in batches of up to 500."""
        batch: list[VendorRecord] = []
        for day in scope.days():
            async with aclosing(self._files.lines(day)) as lines:
                while True:
                    try:
                        line = await anext(lines)
                    except StopAsyncIteration:
                        break
                    except DailyFileFailed as failure:
                        raise VendorReadFailed(f"hnou's daily file of {day:%Y%m%d}: {failure}") from failure
                    batch.append(vendor_record(line))
                    if len(batch) == VENDOR_BATCH_RECORDS_MAX:
                        yield batch
                        batch = []
        if batch:
            yield batch


def vendor_record(line: DailyLine) -> VendorRecord:
    """What a line of a daily file says of its record."""
    command = line.delivery.command
    shown = _shown(line.fields)
    completed_at = _completed_at(line.fields)
    if isinstance(command, Credit):
        return VendorRecord(
            command.record_id, VendorState.COUNTED, command, command.completed_at, command.payload_hash, shown
        )
    if isinstance(command, Reversal):
        return VendorRecord(command.record_id, VendorState.REVOKED, None, completed_at, command.payload_hash, shown)
    return _held(command, completed_at, shown)


def _held(hold: Hold | Replacement, completed_at: datetime | None, shown: str) -> VendorRecord:
    if isinstance(hold, Replacement):  # a daily file's line is never a replacement: read as unreadable
        return VendorRecord(hold.record_id, VendorState.UNREADABLE, None, None, hold.credit.payload_hash, shown)
    if hold.reason is HoldReason.UNKNOWN_PERSON:
        return VendorRecord(hold.record_id, VendorState.UNKNOWN_LEARNER, None, completed_at, hold.payload_hash, shown)
    return VendorRecord(hold.record_id, VendorState.UNREADABLE, None, None, hold.payload_hash, shown)


def _shown(fields: Mapping[str, str]) -> str:
    """The line's fields with the ID number and the name masked; nothing of a line that could not be split."""
    masked = dict(fields)
    if ID_NUMBER in masked:
        masked[ID_NUMBER] = _masked_id_number(masked[ID_NUMBER])
    if masked.get(NAME):
        masked[NAME] = masked[NAME][:1] + "*" * (len(masked[NAME]) - 1)
    return canonical_json(masked).decode()


def _masked_id_number(text: str) -> str:
    try:
        return mask_id_number(normalise_id_number(text))
    except InvalidIdNumber:
        return "*" * len(text)


def _completed_at(fields: Mapping[str, str]) -> datetime | None:
    text = fields.get(COMPLETED_AT, "")
    if DAILY_FILE.time_pattern.fullmatch(text) is None:
        return None
    return beijing_time(text, DAILY_FILE.time_layout, COMPLETED_AT, [])
