"""ischinese's records for reconciliation: its listing of each year of the scope, read item by item
with the webhook's own parsing and translation (``parse_completion``, ``completion_command``).

A listed item of a learner the hub knows is counted (with the credit the webhook would have made),
one of a ``sub`` the hub never issued is of an unknown learner, a revoked one is revoked, and one
that cannot be read is unreadable. Items completed outside the scope's days are left out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncGenerator, Sequence
from typing import Final

from adapters.errors import DeliveryInvalid
from adapters.ischinese.errors import ListingFailed
from adapters.ischinese.listing import TOTAL_PAGES_MAX, ListingClient
from adapters.ischinese.receiver import completion_command
from adapters.ischinese.webhook import CompletionCreated, parse_completion
from adapters.ports import LearnerDirectory
from ledger.errors import FieldError
from ledger.model import Credit, canonical_json, parse_hours, sha256_hex, utc_text
from ledger.reconciliation.errors import VendorReadFailed
from ledger.reconciliation.model import Scope, VendorRecord, VendorState

STATUSES: Final = ("active", "revoked")
RECORD_ID_CHARACTERS_MAX: Final = 200


class IschineseRecords:
    """``VendorRecords`` of ischinese, through its listing."""

    def __init__(self, client: ListingClient, directory: LearnerDirectory) -> None:
        self._client = client
        self._directory = directory

    async def batches(self, scope: Scope) -> AsyncGenerator[Sequence[VendorRecord], None]:
        """Every page of every year of the scope, as a batch (a page holds at most 500 items)."""
        for year in scope.years:
            page, total_pages = 1, 1
            while page <= total_pages:
                try:
                    listing = await self._client.page(year, page)
                except ListingFailed as failure:
                    raise VendorReadFailed(f"ischinese's listing of {year}, page {page}: {failure}") from failure
                total_pages = listing.total_pages
                records = [await self._record(item) for item in listing.items]
                yield [record for record in records if _within(record, scope)]
                page += 1
                if page > TOTAL_PAGES_MAX:
                    raise VendorReadFailed(f"ischinese's listing of {year} has more than {TOTAL_PAGES_MAX} pages")

    async def _record(self, item: object) -> VendorRecord:
        shown = _shown(item)
        fields = item if isinstance(item, dict) else {}
        errors: list[FieldError] = []
        completion = parse_completion(fields, errors)
        status = fields.get("status")
        if completion is None or status not in STATUSES:
            return _unreadable(fields, shown)
        fingerprint = _fingerprint(completion, str(status))
        if status == "revoked":
            return VendorRecord(
                completion.completion_id, VendorState.REVOKED, None, completion.completed_at, fingerprint, shown
            )
        try:
            command = await completion_command(completion, self._directory, sha256_hex(shown.encode()))
        except DeliveryInvalid:
            return _unreadable(fields, shown)
        if isinstance(command, Credit):
            return VendorRecord(
                completion.completion_id, VendorState.COUNTED, command, completion.completed_at, fingerprint, shown
            )
        return VendorRecord(
            completion.completion_id, VendorState.UNKNOWN_LEARNER, None, completion.completed_at, fingerprint, shown
        )


def _within(record: VendorRecord, scope: Scope) -> bool:
    return record.completed_at is None or scope.covers(record.completed_at)


def _shown(item: object) -> str:
    """The item as ischinese gave it, as JSON text (hours keep their exact text)."""
    return json.dumps(item, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def _fingerprint(completion: CompletionCreated, status: str) -> str:
    """What ischinese holds of the record: its content and status (titles are not content)."""
    return sha256_hex(
        canonical_json(
            {
                "status": status,
                "sub": completion.sub,
                "course_id": completion.course_id,
                "subject": completion.subject.value,
                "hours": parse_hours(completion.hours),
                "completed_at": utc_text(completion.completed_at),
            }
        )
    )


def _unreadable(fields: dict[str, object], shown: str) -> VendorRecord:
    digest = hashlib.sha256(shown.encode()).hexdigest()
    record_id = fields.get("completion_id")
    if not isinstance(record_id, str) or not 0 < len(record_id) <= RECORD_ID_CHARACTERS_MAX:
        record_id = f"unreadable-{digest[:16]}"
    return VendorRecord(record_id, VendorState.UNREADABLE, None, None, digest, shown)
