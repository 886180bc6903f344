"""The export's rows and their offline check: what an auditor recomputes with a JSON library and SHA-256."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from ledger.exports.model import (
    CSV_BOM,
    EXPORT_FIELDS,
    ExportFormat,
    ExportLabel,
    ExportProblem,
    Manifest,
    check_export,
    csv_header,
    encode_row,
    export_row,
)
from ledger.model import (
    GENESIS_HASH,
    Entry,
    EntryKind,
    Hours,
    PersonId,
    SequenceNumber,
    Source,
    Subject,
    sealed,
)

LABEL = ExportLabel(id_number_masked="430102********1234", unit_code="430100-0001")
START = datetime(2021, 3, 2, 1, 58, tzinfo=UTC)


def chain(count: int, *, title: str = "临床合理用药", revision_of: int | None = None) -> list[Entry]:
    """``count`` linked entries of 2021; every third is a reversal of the credit before it; with
    ``revision_of``, the last entry is the second revision's credit of that entry's record."""
    entries: list[Entry] = []
    prev_hash = GENESIS_HASH
    for number in range(1, count + 1):
        reversal = number % 3 == 0
        revised = number == count and revision_of is not None
        record_number = revision_of if revised else number - 1 if reversal else number
        entry = sealed(
            Entry(
                seq=SequenceNumber(number),
                kind=EntryKind.REVERSAL if reversal else EntryKind.CREDIT,
                person_id=PersonId(f"{number % 4:032x}"),
                year=2021,
                subject=Subject.PROFESSIONAL,
                hours=Hours(350 + number),
                source=Source.ISCHINESE,
                record_id=f"c-{record_number}",
                course_code="C1",
                course_title=title,
                completed_at=START + timedelta(hours=number),
                recorded_at=START + timedelta(days=1, seconds=number),
                actor="vendor:ischinese",
                payload_hash="a" * 64,
                content_hash="b" * 64,
                reverses_seq=SequenceNumber(number - 1) if reversal else None,
                reason="vendor revoked" if reversal else None,
                prev_hash=prev_hash,
                hash="",
                revision=2 if revised else 1,
            )
        )
        entries.append(entry)
        prev_hash = entry.hash
    return entries


def export_file(export_format: ExportFormat, entries: list[Entry]) -> tuple[bytes, dict[str, object]]:
    """The file's bytes and its manifest's document, as the service writes them."""
    head = csv_header() if export_format is ExportFormat.CSV else b""
    data = head + b"".join(encode_row(export_format, export_row(entry, LABEL)) for entry in entries)
    manifest = Manifest(
        export_id="e" * 32,
        format=export_format,
        year=2021,
        unit_code=None,
        through_seq=entries[-1].seq if entries else 0,
        row_count=len(entries),
        sha256=hashlib.sha256(data).hexdigest(),
        first_seq=entries[0].seq if entries else None,
        first_hash=entries[0].hash if entries else None,
        last_seq=entries[-1].seq if entries else None,
        last_hash=entries[-1].hash if entries else None,
        created_at=datetime(2022, 1, 5, tzinfo=UTC),
    )
    return data, manifest.document()


def check(data: bytes, manifest: dict[str, object]) -> int:
    return check_export(io.BytesIO(data), manifest)


@pytest.mark.parametrize("export_format", list(ExportFormat))
def test_an_untouched_export_checks_whole(export_format: ExportFormat) -> None:
    entries = chain(7, title='内科, "急诊"\n轮训')  # a comma, quotes and a line break in one field

    data, manifest = export_file(export_format, entries)

    assert check(data, manifest) == 7


def test_an_empty_export_checks() -> None:
    data, manifest = export_file(ExportFormat.CSV, [])

    assert check(data, manifest) == 0
    assert manifest["first"] is None


@pytest.mark.parametrize("export_format", list(ExportFormat))
def test_a_later_revision_of_a_record_checks_with_its_revision(export_format: ExportFormat) -> None:
    entries = chain(4, revision_of=1)  # the last entry: c-1 credited again, as its second revision

    data, manifest = export_file(export_format, entries)

    assert check(data, manifest) == 4
    if export_format is ExportFormat.JSONL:
        rows = [json.loads(line) for line in data.splitlines()]
        assert [row.get("revision") for row in rows] == [None, None, None, 2]
        assert ["revision" in row for row in rows] == [False, False, False, True]
    *rows_before, last = data.splitlines(keepends=True)
    renumbered = b"".join([*rows_before, last.replace(b'"revision":2', b'"revision":3').replace(b",2,", b",3,")])
    manifest["sha256"] = hashlib.sha256(renumbered).hexdigest()
    with pytest.raises(ExportProblem, match="sequence number 4: its content does not match its hash"):
        check(renumbered, manifest)


def test_an_auditor_recomputes_each_hash_with_json_and_sha256_alone() -> None:
    data, _manifest = export_file(ExportFormat.JSONL, chain(4, revision_of=1))

    for line in data.splitlines():
        row = json.loads(line)
        document = {key: value for key, value in row.items() if key not in {"hash", "id_number_masked", "unit_code"}}
        whole, hundredths = row["hours"].split(".")
        document["hours"] = int(whole) * 100 + int(hundredths)
        encoded = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        assert hashlib.sha256(encoded).hexdigest() == row["hash"]


def test_a_csv_export_opens_in_excel_as_utf8() -> None:
    data, _manifest = export_file(ExportFormat.CSV, chain(1))

    assert data.startswith(CSV_BOM)
    assert data[len(CSV_BOM) :].decode().splitlines()[0].split(",") == list(EXPORT_FIELDS)


@pytest.mark.parametrize("export_format", list(ExportFormat))
def test_a_changed_row_is_named_by_its_sequence_number(export_format: ExportFormat) -> None:
    entries = chain(5)
    data, manifest = export_file(export_format, entries)
    tampered = data.replace(b"3.54", b"9.54")  # the hours of entry 4
    manifest["sha256"] = hashlib.sha256(tampered).hexdigest()  # a forger who also rewrote the manifest

    with pytest.raises(ExportProblem) as refused:
        check(tampered, manifest)

    assert refused.value.where == "row with sequence number 4"
    assert refused.value.problem == "its content does not match its hash"


def test_a_row_left_out_breaks_the_count_and_the_digest() -> None:
    entries = chain(5)
    data, manifest = export_file(ExportFormat.JSONL, entries)
    lines = data.splitlines(keepends=True)

    with pytest.raises(ExportProblem, match="SHA-256"):
        check(b"".join(lines[:2] + lines[3:]), manifest)


def test_a_row_whose_predecessor_was_replaced_does_not_link() -> None:
    entries = chain(3)
    other = chain(3, title="另一门课")
    data, manifest = export_file(ExportFormat.JSONL, [entries[0], other[1], entries[2]])

    with pytest.raises(ExportProblem) as refused:
        check(data, manifest)

    assert refused.value.where == "row with sequence number 2"
    assert refused.value.problem == "does not link to the row before it"


def test_rows_beyond_the_pinned_sequence_number_are_refused() -> None:
    data, manifest = export_file(ExportFormat.CSV, chain(3))
    manifest["through_seq"] = 2

    with pytest.raises(ExportProblem, match="pinned"):
        check(data, manifest)


def test_a_manifest_naming_other_first_or_last_rows_is_refused() -> None:
    data, manifest = export_file(ExportFormat.CSV, chain(3))
    manifest["last"] = {"seq": 2, "hash": "0" * 64}

    with pytest.raises(ExportProblem, match="last row"):
        check(data, manifest)


def test_a_file_that_is_not_an_export_is_refused() -> None:
    _data, manifest = export_file(ExportFormat.CSV, chain(1))

    with pytest.raises(ExportProblem, match="header"):
        check(b"name,hours\r\n", manifest)
