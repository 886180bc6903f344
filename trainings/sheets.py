"""Uploaded tables: a CSV file in UTF-8 (with or without a byte-order mark) or GB18030, or the first
sheet of an Excel workbook (.xlsx), read into lines of text cells.

The format is told by the bytes, not by a name or a media type: an .xlsx file is a ZIP archive; any
other file is CSV (RFC 4180), decoded as UTF-8 when a byte-order mark says so or when the bytes are
valid UTF-8, and as GB18030 otherwise (the encoding Excel writes a Chinese CSV in). Valid UTF-8 is
tried first because a GB18030 decoder accepts most UTF-8 text too, turning it into other characters.

Every line keeps its number in the file (for a sheet, its row number), so that a bad row can be
named. Blank lines are skipped. Everything is bounded: the bytes (checked by the caller, which
reads the upload), the lines read, the rows kept, the cells of a row, and an archive's unpacked size.

openpyxl is imported when the first workbook is read: most processes that import this module (every
``hub`` command, a hub that is never sent a workbook) read none, and it costs a tenth of a second.
"""

from __future__ import annotations

import codecs
import csv
import io
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Final
from xml.etree.ElementTree import ParseError

from trainings.errors import FileUnreadable

__all__ = ["ROWS_MAX", "UPLOAD_BYTES_MAX", "FileFormat", "Line", "Sheet", "read_sheet"]

UPLOAD_BYTES_MAX: Final = 4 * 1024 * 1024
ROWS_MAX: Final = 1000
"""Rows of one file: a file goes into the ledger in one transaction, and the ledger takes at most
this many commands in one (``ledger.service.COMMANDS_PER_BATCH_MAX``)."""
LINES_MAX: Final = 5 * ROWS_MAX
"""Lines read at most, blank ones included: a sheet may claim a million empty rows."""
CELLS_PER_ROW_MAX: Final = 20
ARCHIVE_MEMBERS_MAX: Final = 500
ARCHIVE_UNPACKED_BYTES_MAX: Final = 64 * 1024 * 1024
ZIP_MAGIC: Final = b"PK\x03\x04"
BYTE_ORDER_MARK: Final = "\ufeff"


class FileFormat(StrEnum):
    """What an uploaded file turned out to be."""

    CSV_UTF8 = "csv-utf-8"
    CSV_GB18030 = "csv-gb18030"
    XLSX = "xlsx"


@dataclass(frozen=True, slots=True)
class Line:
    """One non-blank line of a file: its number (from 1) and its cells, stripped of surrounding blanks."""

    number: int
    cells: tuple[str, ...]

    def cell(self, position: int) -> str:
        """The cell at ``position`` (from 0); ``""`` past the end of a short line."""
        return self.cells[position] if position < len(self.cells) else ""


@dataclass(frozen=True, slots=True)
class Sheet:
    """A file read: its format, its first non-blank line (the header) and the lines after it."""

    format: FileFormat
    header: Line
    rows: tuple[Line, ...]


def read_sheet(content: bytes) -> Sheet:
    """The lines of an uploaded file. Raises ``FileUnreadable`` saying why it cannot be read."""
    if content.startswith(ZIP_MAGIC):
        return _sheet(FileFormat.XLSX, _workbook_lines(content))
    file_format, text = _decoded(content)
    return _sheet(file_format, _csv_lines(text))


def _sheet(file_format: FileFormat, lines: Iterable[Line]) -> Sheet:
    kept: list[Line] = []
    for line in lines:
        if len(line.cells) > CELLS_PER_ROW_MAX:
            raise FileUnreadable(f"line {line.number} has more than {CELLS_PER_ROW_MAX} cells")
        if not any(line.cells):
            continue
        if len(kept) > ROWS_MAX:
            raise FileUnreadable(f"the file has more than {ROWS_MAX} rows: split it into several files")
        kept.append(line)
    if len(kept) < 2:
        raise FileUnreadable("the file needs a header line and at least one line after it")
    return Sheet(file_format, kept[0], tuple(kept[1:]))


def _decoded(content: bytes) -> tuple[FileFormat, str]:
    if content.startswith(codecs.BOM_UTF8):
        try:
            return FileFormat.CSV_UTF8, content[len(codecs.BOM_UTF8) :].decode("utf-8")
        except UnicodeDecodeError:
            raise FileUnreadable("the file starts with a UTF-8 byte-order mark but is not UTF-8") from None
    try:
        return FileFormat.CSV_UTF8, content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        text = content.decode("gb18030")
    except UnicodeDecodeError:
        raise FileUnreadable("the file is neither a CSV file in UTF-8 or GB18030 nor an .xlsx workbook") from None
    return FileFormat.CSV_GB18030, text.removeprefix(BYTE_ORDER_MARK)


def _csv_lines(text: str) -> Iterator[Line]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    while True:
        start = reader.line_num + 1
        if start > LINES_MAX:
            raise FileUnreadable(f"the file has more than {LINES_MAX} lines")
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error:
            # The csv module's message may quote the line: name the line only.
            raise FileUnreadable(f"line {start} is not well-formed CSV (RFC 4180 quoting)") from None
        yield Line(start, tuple(cell.strip() for cell in cells))


def _workbook_lines(content: bytes) -> list[Line]:
    from openpyxl import load_workbook  # noqa: PLC0415  (see the module's docstring)
    from openpyxl.utils.exceptions import InvalidFileException  # noqa: PLC0415  (see the module's docstring)

    _check_archive(content)
    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions it does not read; only the values matter here.
            warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
            workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
            try:
                return _first_sheet_lines(workbook.worksheets)
            finally:
                workbook.close()
    except (zipfile.BadZipFile, InvalidFileException, ParseError, KeyError, ValueError, TypeError):
        raise FileUnreadable("the file is not a readable .xlsx workbook") from None


def _check_archive(content: bytes) -> None:
    # An archive's members decompress to at most their declared size (zipfile stops there and
    # checks the CRC), so the declared sizes bound the work before anything is unpacked.
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile:
        raise FileUnreadable("the file is not a readable .xlsx workbook") from None
    if len(members) > ARCHIVE_MEMBERS_MAX or sum(member.file_size for member in members) > ARCHIVE_UNPACKED_BYTES_MAX:
        raise FileUnreadable(f"the workbook unpacks to more than {ARCHIVE_UNPACKED_BYTES_MAX} bytes")


def _first_sheet_lines(worksheets: Sequence[object]) -> list[Line]:
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet  # noqa: PLC0415  (see the module's docstring)

    sheet = worksheets[0] if worksheets else None
    if not isinstance(sheet, ReadOnlyWorksheet):
        raise FileUnreadable("the workbook has no sheet of cells")
    # Some writers record a wrong extent; read the rows that are there instead.
    sheet.reset_dimensions()
    lines = []
    # A read-only sheet gives every row from the first, blank ones as empty tuples: the count is the row number.
    for number, row in enumerate(sheet.values, start=1):
        if number > LINES_MAX:
            raise FileUnreadable(f"the sheet has more than {LINES_MAX} rows")
        lines.append(Line(number, _trimmed(tuple(_text(value) for value in row))))
    return lines


def _trimmed(cells: tuple[str, ...]) -> tuple[str, ...]:
    """A sheet's row without the empty cells after its last value (a wide sheet pads every row)."""
    end = len(cells)
    while end and not cells[end - 1]:
        end -= 1
    return cells[:end]


def _text(value: object) -> str:
    """A cell's value as the text a person typed: numbers without a float's noise, dates as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()
