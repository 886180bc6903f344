"""Streaming an export: pin the ledger's head, walk the chain verifying it, write the year's rows, sign the manifest.

Memory stays flat whatever the ledger's size: entries are read, labelled and written a page at a
time, and the file's digest is taken as its bytes go out.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import AsyncIterator, Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime

from ledger.exports.model import ExportFormat, ExportLabel, Manifest, csv_header, encode_row, export_row
from ledger.exports.ports import DocumentSigner, PersonLabels
from ledger.exports.store import SqlExportStore
from ledger.exports.tables import LedgerExportRow
from ledger.model import Entry
from ledger.service import Ledger, utc_now

UNKNOWN_PERSON = ExportLabel(id_number_masked="", unit_code="")


@dataclass(frozen=True, slots=True)
class ExportRequest:
    """What to export: the entries of ``year``, of people in ``institutions`` when given (``unit_code`` names them)."""

    year: int
    export_format: ExportFormat
    actor: str
    unit_code: str | None = None
    institutions: Collection[str] | None = None


@dataclass(frozen=True, slots=True)
class ExportSummary:
    """An export as the auditors' list shows it; ``row_count`` and ``finished_at`` are ``None`` until its
    manifest is signed, and stay so for an export that broke off."""

    export_id: str
    export_format: ExportFormat
    year: int
    unit_code: str | None
    through_seq: int
    actor: str
    started_at: datetime
    finished_at: datetime | None
    row_count: int | None


@dataclass(slots=True)
class ExportRun:
    """One export under way: stream ``chunks()`` to its end, then ``signed_manifest`` holds its manifest."""

    export_id: str
    request: ExportRequest
    through_seq: int
    _exports: Exports
    signed_manifest: dict[str, object] | None = field(default=None)
    read_seq: int = 0
    """The last sequence number read so far, for progress."""
    rows: int = 0
    """The rows written so far."""

    async def chunks(self) -> AsyncIterator[bytes]:
        """The file's bytes, a page of rows at a time; the manifest is signed and kept after the last."""
        request, digest = self.request, hashlib.sha256()
        first, last = None, None
        if request.export_format is ExportFormat.CSV:
            header = csv_header()
            digest.update(header)
            yield header
        async for page in self._exports.ledger.verified_entries(self.through_seq):
            self.read_seq = page[-1].seq
            chosen = [entry for entry in page if entry.year == request.year]
            labels = await self._exports.labels.labels({entry.person_id for entry in chosen})
            lines = []
            for entry in chosen:
                label = labels.get(entry.person_id, UNKNOWN_PERSON)
                if request.institutions is not None and label.unit_code not in request.institutions:
                    continue
                lines.append(encode_row(request.export_format, export_row(entry, label)))
                self.rows, first, last = self.rows + 1, first or entry, entry
            if lines:
                chunk = b"".join(lines)
                digest.update(chunk)
                yield chunk
        self.signed_manifest = await self._exports.seal(self, digest.hexdigest(), first, last)


class Exports:
    """Auditor exports of the ledger."""

    def __init__(
        self,
        ledger: Ledger,
        store: SqlExportStore,
        labels: PersonLabels,
        signer: DocumentSigner,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.ledger = ledger
        self.labels = labels
        self._store = store
        self._signer = signer
        self._clock = clock

    async def begin(self, request: ExportRequest) -> ExportRun:
        """Pin the export to the ledger's current head and record that it began."""
        through_seq = await self.ledger.head_seq()
        export_id = secrets.token_hex(16)
        await self._store.begin(
            LedgerExportRow(
                id=export_id,
                format=request.export_format.value,
                year=request.year,
                unit_code=request.unit_code,
                through_seq=through_seq,
                actor=request.actor,
                started_at=self._clock(),
            )
        )
        return ExportRun(export_id, request, through_seq, self)

    async def seal(self, run: ExportRun, sha256: str, first: Entry | None, last: Entry | None) -> dict[str, object]:
        """Sign the finished export's manifest and keep it; the manifest's JSON document, signature included."""
        manifest = Manifest(
            export_id=run.export_id,
            format=run.request.export_format,
            year=run.request.year,
            unit_code=run.request.unit_code,
            through_seq=run.through_seq,
            row_count=run.rows,
            sha256=sha256,
            first_seq=None if first is None else first.seq,
            first_hash=None if first is None else first.hash,
            last_seq=None if last is None else last.seq,
            last_hash=None if last is None else last.hash,
            created_at=self._clock(),
        )
        signed = {**manifest.document(), "signature": await self._signer.sign_document(manifest.signing_input())}
        await self._store.finish(run.export_id, json.dumps(signed, ensure_ascii=False), self._clock())
        return signed

    async def manifest(self, export_id: str) -> dict[str, object] | None:
        """The signed manifest of a finished export; ``None`` while it runs, or if it never finished or never was."""
        row = await self._store.get(export_id)
        if row is None or row.manifest is None:
            return None
        document: dict[str, object] = json.loads(row.manifest)
        return document

    async def recent(self, count: int) -> list[ExportSummary]:
        """The ``count`` exports begun last, newest first, finished or not."""
        summaries = []
        for row in await self._store.recent(count):
            manifest = None if row.manifest is None else json.loads(row.manifest)
            summaries.append(
                ExportSummary(
                    export_id=row.id,
                    export_format=ExportFormat(row.format),
                    year=row.year,
                    unit_code=row.unit_code,
                    through_seq=row.through_seq,
                    actor=row.actor,
                    started_at=row.started_at,
                    finished_at=row.finished_at,
                    row_count=None if manifest is None else int(manifest["row_count"]),
                )
            )
        return summaries
