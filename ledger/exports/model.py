"""Auditor exports of the ledger: the row format, the manifest, and the offline check of both.

An export is a file of ledger entries (CSV or JSON Lines) and a manifest that describes it. Each
row carries every field the hash chain covers, so an auditor can recompute each entry's ``hash``
with nothing but a JSON library and SHA-256, plus two labels the chain does not cover: the
person's masked ID number and institution code, for reading.

Rows are in sequence order. An export of one year (or one unit) leaves out the entries of other
years (or units), so consecutive rows need not have consecutive sequence numbers; where they do,
the later row's ``prev_hash`` must be the earlier row's ``hash``. The manifest pins the export to
the last sequence number when it began (``through_seq``), and gives the row count, the SHA-256 of
the file, and the first and last rows' sequence numbers and hashes. Its ``signature`` is a
compact JWS over the manifest's canonical JSON without the ``signature`` member, signed by a
document-signing key of the hub's JWKS; checking it is the caller's (this package signs nothing).

Hours are decimal strings in the file (``"3.50"``); the chain hashes them as integer hundredths.
``revision`` is in the chain document of a record's later revisions only (``Entry.chain_document``):
a JSON Lines row holds it exactly then, and a CSV row leaves its column empty otherwise.
"""

from __future__ import annotations

import csv
import enum
import hashlib
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from ledger.model import Entry, canonical_json, chain_hash, format_hours, parse_hours, utc_text

__all__ = [
    "CSV_BOM",
    "EXPORT_FIELDS",
    "LABEL_FIELDS",
    "ExportFormat",
    "ExportLabel",
    "ExportProblem",
    "Manifest",
    "check_export",
    "csv_header",
    "encode_row",
    "export_row",
]

CHAIN_FIELDS: Final = (
    "seq",
    "kind",
    "person_id",
    "year",
    "subject",
    "hours",
    "source",
    "record_id",
    "course_code",
    "course_title",
    "completed_at",
    "recorded_at",
    "actor",
    "payload_hash",
    "content_hash",
    "reverses_seq",
    "reason",
    "prev_hash",
)
LATER_REVISION_FIELD: Final = "revision"
"""Hashed in the chain only for a record's later revisions; absent (JSON Lines) or empty (CSV) otherwise."""
LABEL_FIELDS: Final = ("id_number_masked", "unit_code")
EXPORT_FIELDS: Final = (*CHAIN_FIELDS, LATER_REVISION_FIELD, "hash", *LABEL_FIELDS)
INTEGER_FIELDS: Final = frozenset({"seq", "year", "reverses_seq", LATER_REVISION_FIELD})
CSV_BOM: Final = "\ufeff".encode()
"""Excel reads a CSV file as UTF-8 only when it starts with this mark."""
MANIFEST_VERSION: Final = 1


class ExportFormat(enum.StrEnum):
    CSV = "csv"
    JSONL = "jsonl"

    @property
    def media_type(self) -> str:
        return "text/csv" if self is ExportFormat.CSV else "application/jsonl"


@dataclass(frozen=True, slots=True)
class ExportLabel:
    """What an export shows of a person beside the pseudonymous ``person_id``."""

    id_number_masked: str
    unit_code: str


def export_row(entry: Entry, label: ExportLabel) -> dict[str, object]:
    """One row: the entry's chain fields with hours as a decimal string, its hash, and the labels."""
    document = entry.chain_document()
    document["hours"] = format_hours(entry.hours)
    return {
        **document,
        "hash": entry.hash,
        "id_number_masked": label.id_number_masked,
        "unit_code": label.unit_code,
    }


def csv_header() -> bytes:
    """The first bytes of a CSV export: the byte-order mark and the header line."""
    return CSV_BOM + _csv_line(EXPORT_FIELDS)


def encode_row(export_format: ExportFormat, row: Mapping[str, object]) -> bytes:
    """One row as the bytes of one line of the file."""
    if export_format is ExportFormat.JSONL:
        return json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
    return _csv_line(tuple("" if row.get(field) is None else str(row[field]) for field in EXPORT_FIELDS))


def _csv_line(values: tuple[str, ...]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(values)
    return buffer.getvalue().encode()


@dataclass(frozen=True, slots=True)
class Manifest:
    """What an export holds, for checking it offline. ``signature`` is added once it is signed."""

    export_id: str
    format: ExportFormat
    year: int
    unit_code: str | None
    through_seq: int
    row_count: int
    sha256: str
    first_seq: int | None
    first_hash: str | None
    last_seq: int | None
    last_hash: str | None
    created_at: datetime

    def document(self) -> dict[str, object]:
        """The manifest as JSON, without its signature."""
        return {
            "version": MANIFEST_VERSION,
            "export_id": self.export_id,
            "format": self.format.value,
            "year": self.year,
            "unit_code": self.unit_code,
            "through_seq": self.through_seq,
            "row_count": self.row_count,
            "sha256": self.sha256,
            "first": None if self.first_seq is None else {"seq": self.first_seq, "hash": self.first_hash},
            "last": None if self.last_seq is None else {"seq": self.last_seq, "hash": self.last_hash},
            "created_at": utc_text(self.created_at),
        }

    def signing_input(self) -> bytes:
        """The bytes the signature covers: the canonical JSON of ``document()``."""
        return canonical_json(self.document())


class ExportProblem(Exception):
    """An export that does not match its manifest or whose rows do not hash; ``where`` names the place."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem


def check_export(lines: Iterable[bytes], manifest: Mapping[str, object]) -> int:
    """The number of rows of an export, read as the lines of its file, once it matches ``manifest``.

    ``manifest`` is the manifest's document (its signature is checked by the caller). Raises
    ``ExportProblem`` at the first row that does not hash or link, or when the count, the digest or
    the first and last rows differ from the manifest.
    """
    export_format = ExportFormat(str(manifest.get("format")))
    digest = hashlib.sha256()

    def texts() -> Iterator[str]:
        for number, line in enumerate(lines, start=1):
            digest.update(line)
            try:
                yield line.decode()
            except UnicodeDecodeError as exc:
                raise ExportProblem(f"line {number}", "is not UTF-8") from exc

    rows = _csv_rows(texts()) if export_format is ExportFormat.CSV else _jsonl_rows(texts())
    count, first, last = 0, None, None
    for row in rows:
        last = _checked(row, manifest, last)
        first, count = first or last, count + 1
    if digest.hexdigest() != manifest.get("sha256"):
        raise ExportProblem("file", "its SHA-256 differs from the manifest's")
    if count != manifest.get("row_count"):
        raise ExportProblem("file", f"holds {count} rows, the manifest says {manifest.get('row_count')}")
    for name, seen in (("first", first), ("last", last)):
        if manifest.get(name) != (None if seen is None else {"seq": seen[0], "hash": seen[1]}):
            raise ExportProblem("file", f"its {name} row differs from the manifest's")
    return count


def _jsonl_rows(texts: Iterator[str]) -> Iterator[dict[str, object]]:
    for number, text in enumerate(texts, start=1):
        try:
            row = json.loads(text)
        except ValueError as exc:
            raise ExportProblem(f"line {number}", "is not JSON") from exc
        if not isinstance(row, dict) or set(row) | {LATER_REVISION_FIELD} != set(EXPORT_FIELDS):
            raise ExportProblem(f"line {number}", "does not hold the fields of a ledger export row")
        yield row


def _csv_rows(texts: Iterator[str]) -> Iterator[dict[str, object]]:
    reader = csv.reader(texts)
    header = next(reader, None)
    if header is None or [header[0].removeprefix("\ufeff"), *header[1:]] != list(EXPORT_FIELDS):
        raise ExportProblem("line 1", "is not the header of a ledger export")
    for values in reader:
        where = f"line {reader.line_num}"
        if len(values) != len(EXPORT_FIELDS):
            raise ExportProblem(where, f"has {len(values)} columns, not {len(EXPORT_FIELDS)}")
        yield _typed_csv_row(dict(zip(EXPORT_FIELDS, values, strict=True)), where)


def _checked(
    row: Mapping[str, object], manifest: Mapping[str, object], last: tuple[int, str] | None
) -> tuple[int, str]:
    """The row's sequence number and hash, once it hashes, links and belongs to the export."""
    seq = row.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise ExportProblem("a row", "has no sequence number")
    where = f"row with sequence number {seq}"
    if seq > _integer(manifest.get("through_seq")):
        raise ExportProblem(where, "comes after the sequence number the export is pinned to")
    if row.get("year") != manifest.get("year"):
        raise ExportProblem(where, "belongs to another year")
    if last is not None and seq <= last[0]:
        raise ExportProblem(where, "is out of order")
    if last is not None and seq == last[0] + 1 and row.get("prev_hash") != last[1]:
        raise ExportProblem(where, "does not link to the row before it")
    document = {field: row.get(field) for field in CHAIN_FIELDS}
    revision = row.get(LATER_REVISION_FIELD)
    if revision is not None:
        if not isinstance(revision, int) or isinstance(revision, bool) or revision < 2:
            raise ExportProblem(where, "has a revision that is not a later revision's number")
        document[LATER_REVISION_FIELD] = revision
    try:
        document["hours"] = parse_hours(str(row.get("hours")))
    except ValueError as exc:
        raise ExportProblem(where, "has hours that are not a decimal") from exc
    if chain_hash(document) != row.get("hash"):
        raise ExportProblem(where, "its content does not match its hash")
    return seq, str(row["hash"])


def _typed_csv_row(row: dict[str, object], where: str) -> dict[str, object]:
    """A CSV row's texts as the JSON values the chain hashes: integers, and ``None`` for empty optionals."""
    for field in ("reverses_seq", "reason", LATER_REVISION_FIELD):
        if row[field] == "":
            row[field] = None
    for field in INTEGER_FIELDS:
        value = row[field]
        if value is not None:
            try:
                row[field] = int(str(value))
            except ValueError as exc:
                raise ExportProblem(where, f"its {field} is not a number") from exc
    return row


def _integer(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else -1
