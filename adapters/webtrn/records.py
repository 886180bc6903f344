"""webtrn's records for reconciliation: a full scan of its completions API from the start of the scope,
read item by item with the pull's own parsing and translation (``parse_item``, ``ItemReader``).

The scan asks from ``updated_since`` = the scope's first instant and follows the cursors to the last
page; it never reads or moves the pull's watermark. Items finished outside the scope's days are left
out. A record changed while it is scanned comes again later with its new ``updated_at``: the later
version is the vendor's (the run takes the last version of each record it reads).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Final

from adapters.errors import DeliveryInvalid
from adapters.ports import LearnerDirectory
from adapters.webtrn.errors import PullFailed
from adapters.webtrn.pages import (
    PAGE_ITEMS_MAX,
    Check,
    ItemReader,
    Status,
    WebtrnItem,
    parse_item,
    parse_page,
    raw_hash,
    raw_text,
)
from adapters.webtrn.puller import PAGES_PER_PULL_MAX, PageSource, updated_since
from ledger.model import Command, Credit, Hold, HoldReason, canonical_json, parse_hours, sha256_hex, utc_text
from ledger.reconciliation.errors import VendorReadFailed
from ledger.reconciliation.model import Scope, VendorRecord, VendorState

RECORD_ID_CHARACTERS_MAX: Final = 200

OpenPageSource = Callable[[], AbstractAsyncContextManager[PageSource]]
"""Opens what pages come from for one scan (``adapters.webtrn.client.open_client`` on the hub's account)."""


class WebtrnRecords:
    """``VendorRecords`` of webtrn, through a full scan of its API."""

    def __init__(self, open_source: OpenPageSource, directory: LearnerDirectory, check: Check) -> None:
        self._open_source = open_source
        self._reader = ItemReader(directory, check)

    async def batches(self, scope: Scope) -> AsyncGenerator[Sequence[VendorRecord], None]:
        """Every page from the scope's first instant to the last, as a batch (at most 500 items)."""
        parameters = {"updated_since": updated_since(scope.start), "limit": str(PAGE_ITEMS_MAX)}
        async with self._open_source() as source:
            for _ in range(PAGES_PER_PULL_MAX):
                try:
                    page = parse_page(await source.page(parameters))
                except PullFailed as failure:
                    raise VendorReadFailed(f"webtrn's scan from {scope.first_day}: {failure}") from failure
                records = [await self._record(raw, scope) for raw in page.items]
                yield [record for record in records if record is not None]
                if page.next_cursor is None:
                    return
                parameters = {"cursor": page.next_cursor, "limit": str(PAGE_ITEMS_MAX)}
        raise VendorReadFailed(f"webtrn sent more than {PAGES_PER_PULL_MAX} pages in one scan")

    async def _record(self, raw: object, scope: Scope) -> VendorRecord | None:
        try:
            item = parse_item(raw)
        except DeliveryInvalid:
            return _unreadable(raw)
        if not scope.covers(item.finished_at):
            return None
        shown, fingerprint = raw_text(raw), _fingerprint(item)
        if item.status is Status.REVOKED:
            return VendorRecord(str(item.record_id), VendorState.REVOKED, None, item.finished_at, fingerprint, shown)
        try:
            command = await self._reader.translate(item, raw_hash(raw))
        except DeliveryInvalid:
            return _unreadable(raw)
        return _translated(item, command, fingerprint, shown)


def _translated(item: WebtrnItem, command: Command, fingerprint: str, shown: str) -> VendorRecord:
    record_id = str(item.record_id)
    if isinstance(command, Credit):
        return VendorRecord(record_id, VendorState.COUNTED, command, item.finished_at, fingerprint, shown)
    if isinstance(command, Hold) and command.reason is HoldReason.UNKNOWN_PERSON:
        return VendorRecord(record_id, VendorState.UNKNOWN_LEARNER, None, item.finished_at, fingerprint, shown)
    return VendorRecord(record_id, VendorState.UNREADABLE, None, item.finished_at, fingerprint, shown)


def _fingerprint(item: WebtrnItem) -> str:
    """What webtrn holds of the record: its content and status (names are not content)."""
    return sha256_hex(
        canonical_json(
            {
                "status": item.status.value,
                "sub": item.sub,
                "course_code": item.course_code,
                "subject": item.subject.value,
                "hours": parse_hours(item.hours),
                "finished_at": utc_text(item.finished_at),
            }
        )
    )


def _unreadable(raw: object) -> VendorRecord:
    shown = raw_text(raw)
    digest = hashlib.sha256(shown.encode()).hexdigest()
    fields = raw if isinstance(raw, dict) else {}
    record_id = fields.get("id")
    text = str(record_id) if isinstance(record_id, int | str) and not isinstance(record_id, bool) else ""
    if not 0 < len(text) <= RECORD_ID_CHARACTERS_MAX:
        text = f"unreadable-{digest[:16]}"
    return VendorRecord(text, VendorState.UNREADABLE, None, None, digest, shown)
