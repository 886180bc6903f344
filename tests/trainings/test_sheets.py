"""Reading uploaded tables: CSV in UTF-8 with or without a byte-order mark, CSV in GB18030, and .xlsx
sheets; every line keeps its number, and anything unreadable is refused saying why."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest
from openpyxl import Workbook

from trainings.errors import FileUnreadable
from trainings.sheets import LINES_MAX, ROWS_MAX, FileFormat, Line, read_sheet

ROWS = [["身份证号", "姓名", "学时"], ["430102199003071245", "欧阳娜娜", "7.5"], ["43010219900307124X", "王芳", "3"]]


def csv_text(rows: list[list[str]]) -> str:
    return "".join(",".join(row) + "\r\n" for row in rows)


def workbook(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "expected_format"),
    [
        (csv_text(ROWS).encode("utf-8"), FileFormat.CSV_UTF8),
        (b"\xef\xbb\xbf" + csv_text(ROWS).encode("utf-8"), FileFormat.CSV_UTF8),
        (csv_text(ROWS).encode("gb18030"), FileFormat.CSV_GB18030),
        (workbook(ROWS), FileFormat.XLSX),  # type: ignore[arg-type]
    ],
    ids=["utf-8", "utf-8 with BOM", "gb18030", "xlsx"],
)
def test_each_format_reads_to_the_same_lines(content: bytes, expected_format: FileFormat) -> None:
    sheet = read_sheet(content)

    assert sheet.format is expected_format
    assert sheet.header == Line(1, ("身份证号", "姓名", "学时"))
    assert sheet.rows == (
        Line(2, ("430102199003071245", "欧阳娜娜", "7.5")),
        Line(3, ("43010219900307124X", "王芳", "3")),
    )


def test_a_gb18030_name_outside_gbk_reads_back() -> None:
    # 䶮 (U+4DAE) is in GB18030 but not in GBK: a name that an older encoder would have lost.
    sheet = read_sheet(csv_text([["身份证号", "姓名", "学时"], ["430102199003071245", "刘䶮", "2"]]).encode("gb18030"))

    assert sheet.format is FileFormat.CSV_GB18030
    assert sheet.rows[0].cells[1] == "刘䶮"


def test_lines_keep_their_numbers_across_blank_lines_and_quoted_breaks() -> None:
    text = '身份证号,姓名,学时\r\n\r\n430102199003071245,"王\r\n芳",1\r\n,,\r\n43010219900307124X, 李强 ,2\r\n'

    sheet = read_sheet(text.encode("utf-8"))

    assert [(line.number, line.cells) for line in sheet.rows] == [
        (3, ("430102199003071245", "王\r\n芳", "1")),
        (6, ("43010219900307124X", "李强", "2")),
    ]


def test_a_sheet_gives_row_numbers_numbers_without_float_noise_and_dates_as_days() -> None:
    content = workbook(
        [["身份证号", "姓名", "学时", "完成日期"], [], ["430102199003071245", "王芳", 7.5, date(2021, 5, 2)]]
    )

    sheet = read_sheet(content)

    assert sheet.rows == (Line(3, ("430102199003071245", "王芳", "7.5", "2021-05-02")),)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "needs a header line"),
        ("身份证号,姓名,学时\r\n".encode(), "needs a header line and at least one line"),
        (b"\xff\xfe\x00a\x00b", "neither a CSV file in UTF-8 or GB18030 nor an .xlsx workbook"),
        (b"\xef\xbb\xbf\xff\xff", "starts with a UTF-8 byte-order mark but is not UTF-8"),
        ('身份证号,姓名\r\n"430102,王芳\r\n'.encode(), "line 2 is not well-formed CSV"),
        (b"PK\x03\x04 not really a zip", "not a readable .xlsx workbook"),
        (",".join(["x"] * 21).encode(), "line 1 has more than 20 cells"),
    ],
)
def test_an_unreadable_file_is_refused_saying_why(content: bytes, reason: str) -> None:
    with pytest.raises(FileUnreadable) as refused:
        read_sheet(content)

    assert reason in str(refused.value)
    assert [error.field for error in refused.value.errors] == ["file"]


def test_a_zip_that_is_no_workbook_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")

    with pytest.raises(FileUnreadable, match=r"not a readable \.xlsx workbook"):
        read_sheet(buffer.getvalue())


def test_an_archive_that_unpacks_too_large_is_refused_before_it_is_read() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * (65 * 1024 * 1024))

    with pytest.raises(FileUnreadable, match="unpacks to more than"):
        read_sheet(buffer.getvalue())


def test_more_rows_than_one_transaction_takes_are_refused() -> None:
    rows = [["身份证号", "姓名", "学时"], *([["430102199003071245", "王芳", "1"]] * (ROWS_MAX + 1))]

    with pytest.raises(FileUnreadable, match=f"more than {ROWS_MAX} rows"):
        read_sheet(csv_text(rows).encode())
    read_sheet(csv_text(rows[:-1]).encode())  # exactly the limit is fine


def test_a_sheet_of_endless_blank_rows_is_refused() -> None:
    with pytest.raises(FileUnreadable, match=f"more than {LINES_MAX} rows"):
        read_sheet(workbook([["身份证号", "姓名", "学时"], *([[]] * LINES_MAX), ["430102199003071245", "王芳", 1]]))
