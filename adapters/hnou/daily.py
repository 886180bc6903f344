"""hnou's daily file (vendors.md, section 3, "Daily file"): fetched signed, read one record at a time.

``GET {api_base}/api/daily?appid=…&date=YYYYMMDD&timestamp=…&nonce=…&sign_type=HMAC-SHA256&sign=…``
answers an RFC 4180 CSV in GB18030 whose header is ``HEADER``, one line per record created or
changed that day. The body is streamed, and memory does not grow with the file:

- physical lines are split on LF in the bytes (GB18030 never uses the bytes of LF, CR, ``"`` or
  ``,`` inside a character), and each is decoded alone: a line that is not GB18030 spoils only itself;
- a record spans physical lines only inside a quoted field, and at most ``RECORD_LINES_MAX`` of
  them: a quote left open longer makes its first line malformed, and reading resumes after it;
- a record that cannot be read becomes a ``Hold`` (``MALFORMED``, with its line number and the
  reason, its text encrypted) and the records around it are delivered as usual.

A file whose first line is not the header is refused whole, before anything is delivered.
"""

from __future__ import annotations

import asyncio
import csv
import secrets
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Final

import httpx

from adapters.hnou.errors import DailyFileInvalid, DailyFileRefused, FieldsInvalid
from adapters.hnou.form import SIGN_TYPE, sign
from adapters.hnou.model import DAILY_FILE, RECORD_NO_CHARACTERS_MAX, read_record
from adapters.hnou.translation import Translator
from ledger.model import REASON_CHARACTERS_MAX, Delivery, EntryKind

DAILY_PATH: Final = "/api/daily"
HEADER: Final = tuple(DAILY_FILE.names.values())
ENCODING: Final = "gb18030"
DAILY_FILE_BYTES_MAX: Final = 256 * 1024 * 1024
LINE_BYTES_MAX: Final = 4 * 1024
RECORD_LINES_MAX: Final = 4
FETCH_ATTEMPTS_MAX: Final = 4
RETRY_DELAY_SECONDS_BASE: Final = 1.0
CONNECT_TIMEOUT_SECONDS: Final = 10.0
READ_TIMEOUT_SECONDS: Final = 60.0
RETRIED_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
HTTP_OK: Final = 200
NONCE_BYTES: Final = 16
REVOKED: Final = "撤销"
BYTE_ORDER_MARK: Final = "\ufeff"


def utc_now() -> datetime:
    return datetime.now(UTC)


class DailyFileClient:
    """Fetches hnou's daily files with an injected ``httpx.AsyncClient`` and reads them into deliveries."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_base: str,
        appid: str,
        appsecret: str,
        translator: Translator,
        clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._http = http
        self._url = api_base.rstrip("/") + DAILY_PATH
        self._appid = appid
        self._appsecret = appsecret
        self._translator = translator
        self._clock = clock
        self._sleep = sleep

    async def deliveries(self, day: date) -> AsyncIterator[Delivery]:
        """Every record of the day's file as a delivery, in file order; a malformed one as a hold.

        Raises ``DailyFileRefused`` when hnou refuses the request or keeps failing, and
        ``DailyFileInvalid`` for a file without the header, over ``DAILY_FILE_BYTES_MAX``, or cut
        off: the deliveries before the break were already given and may be stored; a new fetch
        of the day gives them again, as duplicates.
        """
        async for line in self.lines(day):
            yield line.delivery

    async def lines(self, day: date) -> AsyncGenerator[DailyLine, None]:
        """Every record of the day's file with its fields and its delivery; raises as ``deliveries``."""
        reader = _FileReader(day, self._translator, self._clock())
        async with self._body(day) as chunks:
            try:
                async for line in reader.read(chunks):
                    yield line
            except httpx.HTTPError as exc:
                raise DailyFileInvalid(f"the daily file of {day:%Y%m%d} broke off: {type(exc).__name__}") from exc

    @asynccontextmanager
    async def _body(self, day: date) -> AsyncIterator[AsyncIterator[bytes]]:
        # Budget: FETCH_ATTEMPTS_MAX tries, each signed afresh, waiting 1, 2, 4 s between them;
        # each try connects within CONNECT_TIMEOUT_SECONDS and waits READ_TIMEOUT_SECONDS at most
        # for each part of the body; the body is cut off at DAILY_FILE_BYTES_MAX (in _LineSplitter).
        timeout = httpx.Timeout(READ_TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS)
        failure = "hnou was not asked"
        for attempt in range(FETCH_ATTEMPTS_MAX):
            if attempt:
                await self._sleep(RETRY_DELAY_SECONDS_BASE * 2 ** (attempt - 1))
            request = self._http.build_request("GET", self._url, params=self._signed_query(day), timeout=timeout)
            try:
                response = await self._http.send(request, stream=True)
            except httpx.TransportError as exc:
                failure = f"hnou could not be reached ({type(exc).__name__})"
                continue
            if response.status_code == HTTP_OK:
                try:
                    yield response.aiter_bytes()
                finally:
                    await response.aclose()
                return
            await response.aclose()
            failure = f"hnou answered {response.status_code}"
            if response.status_code not in RETRIED_STATUSES:
                raise DailyFileRefused(f"{failure} to the request for the daily file of {day:%Y%m%d}")
        raise DailyFileRefused(f"{failure} to each of {FETCH_ATTEMPTS_MAX} requests for the daily file of {day:%Y%m%d}")

    def _signed_query(self, day: date) -> dict[str, str]:
        query = {
            "appid": self._appid,
            "date": f"{day:%Y%m%d}",
            "timestamp": str(int(self._clock().timestamp())),
            "nonce": secrets.token_hex(NONCE_BYTES),
            "sign_type": SIGN_TYPE,
        }
        return {**query, "sign": sign(query, self._appsecret)}


@dataclass(frozen=True, slots=True)
class DailyLine:
    """One record of a daily file: the physical line it starts on (the header is 1), its fields by
    the header's names (none when the line could not be split into them: it may still hold an ID
    number, so it is never shown), and the delivery the hub makes of it."""

    number: int
    fields: Mapping[str, str]
    delivery: Delivery


@dataclass(frozen=True, slots=True)
class _Line:
    """One physical line: its number (the header is 1), its bytes without the line break, at most
    ``LINE_BYTES_MAX`` of them; ``too_long`` when the line had more."""

    number: int
    data: bytes
    too_long: bool


class _LineSplitter:
    """Splits a byte stream into physical lines, holding at most one line's bytes at a time."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._too_long = False
        self._number = 0
        self._total_bytes = 0

    def feed(self, chunk: bytes) -> list[_Line]:
        self._total_bytes += len(chunk)
        if self._total_bytes > DAILY_FILE_BYTES_MAX:
            raise DailyFileInvalid(f"the daily file is over {DAILY_FILE_BYTES_MAX} bytes")
        lines = []
        start = 0
        while (end := chunk.find(b"\n", start)) != -1:
            self._append(chunk[start:end])
            lines.append(self._take())
            start = end + 1
        self._append(chunk[start:])
        return lines

    def close(self) -> list[_Line]:
        return [self._take()] if self._buffer or self._too_long else []

    def _append(self, part: bytes) -> None:
        room = LINE_BYTES_MAX - len(self._buffer)
        if len(part) > room:
            self._too_long = True
        self._buffer += part[:room]

    def _take(self) -> _Line:
        self._number += 1
        data = bytes(self._buffer).removesuffix(b"\r")
        line = _Line(self._number, data, self._too_long)
        self._buffer.clear()
        self._too_long = False
        return line


@dataclass(frozen=True, slots=True)
class _Record:
    """The text of one CSV record, which starts on physical line ``number``."""

    number: int
    text: str


@dataclass(frozen=True, slots=True)
class _Unreadable:
    """A physical line that cannot be part of any record."""

    number: int
    text: str
    reason: str


class _RecordAssembler:
    """Joins physical lines into CSV records: a record goes on while a quoted field is open."""

    def __init__(self) -> None:
        self._open: list[tuple[int, str]] = []
        self._quotes = 0

    def feed(self, number: int, text: str) -> list[_Record | _Unreadable]:
        found: list[_Record | _Unreadable] = []
        self._push(number, text, found)
        return found

    def interrupt(self) -> list[_Record | _Unreadable]:
        """Give up the open record (before an unreadable line, and at the end of the file)."""
        found: list[_Record | _Unreadable] = []
        while self._open:
            self._give_up_first_line(found)
        return found

    def _push(self, number: int, text: str, found: list[_Record | _Unreadable]) -> None:
        self._open.append((number, text))
        self._quotes += text.count('"')
        if self._quotes % 2 == 0:
            found.append(_Record(self._open[0][0], "\n".join(line for _number, line in self._open)))
            self._open, self._quotes = [], 0
        elif len(self._open) > RECORD_LINES_MAX:
            self._give_up_first_line(found)

    def _give_up_first_line(self, found: list[_Record | _Unreadable]) -> None:
        (number, text), rest = self._open[0], self._open[1:]
        found.append(_Unreadable(number, text, "a quoted field is not closed"))
        self._open, self._quotes = [], 0
        for later_number, later_text in rest:
            self._push(later_number, later_text, found)


class _FileReader:
    """Reads one day's file into deliveries."""

    def __init__(self, day: date, translator: Translator, received_at: datetime) -> None:
        self._day = day
        self._translator = translator
        self._received_at = received_at
        self._header_seen = False

    async def read(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[DailyLine]:
        async for piece in self._pieces_of(chunks):
            line = await self._line(piece)
            if line is not None:
                yield line
        if not self._header_seen:
            raise DailyFileInvalid(f"the daily file of {self._day:%Y%m%d} is empty: not even its header line")

    async def _pieces_of(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[_Record | _Unreadable]:
        splitter, assembler = _LineSplitter(), _RecordAssembler()
        async for chunk in chunks:
            for line in splitter.feed(chunk):
                for piece in self._pieces(line, assembler):
                    yield piece
        for line in splitter.close():
            for piece in self._pieces(line, assembler):
                yield piece
        for piece in assembler.interrupt():
            yield piece

    @staticmethod
    def _pieces(line: _Line, assembler: _RecordAssembler) -> list[_Record | _Unreadable]:
        """What one physical line adds: the records it completes, or itself as unreadable (which
        ends any record left open before it)."""
        text = _decoded(line)
        if isinstance(text, str):
            return assembler.feed(line.number, text)
        return [*assembler.interrupt(), text]

    async def _line(self, piece: _Record | _Unreadable) -> DailyLine | None:
        if not self._header_seen:
            self._check_header(piece)
            return None
        if isinstance(piece, _Unreadable):
            return self._malformed(piece.number, piece.text, [], piece.reason)
        if not piece.text.strip():
            return None  # a blank line between records says nothing
        return await self._record_line(piece)

    async def _record_line(self, piece: _Record) -> DailyLine:
        try:
            fields = next(csv.reader([piece.text], strict=True))
        except csv.Error:
            return self._malformed(piece.number, piece.text, [], "is not an RFC 4180 CSV record")
        if len(fields) != len(HEADER):
            return self._malformed(piece.number, piece.text, fields, f"has {len(fields)} fields, not {len(HEADER)}")
        named = dict(zip(HEADER, fields, strict=True))
        try:
            record = read_record(named, DAILY_FILE)
            command = await self._translator.command(record, DAILY_FILE)
        except FieldsInvalid as invalid:
            reason = "; ".join(f"{error.field} {error.message}" for error in invalid.errors)
            return self._malformed(piece.number, piece.text, fields, reason)
        return DailyLine(piece.number, named, Delivery(command, self._delivery_id(piece.number), self._received_at))

    def _check_header(self, piece: _Record | _Unreadable) -> None:
        if isinstance(piece, _Record) and not piece.text.strip():
            return
        if not isinstance(piece, _Record) or _fields_of(piece.text) != HEADER:
            raise DailyFileInvalid(
                f"the daily file of {self._day:%Y%m%d} does not start with the header {','.join(HEADER)}"
            )
        self._header_seen = True

    def _malformed(self, number: int, text: str, fields: list[str], reason: str) -> DailyLine:
        fields = fields or _loose_fields_of(text)  # the best guess at the record number and status
        record_no = fields[0] if fields else ""
        sane = 0 < len(record_no) <= RECORD_NO_CHARACTERS_MAX and record_no.isprintable() and record_no.strip()
        detail = f"daily file {self._day:%Y%m%d} line {number}: {reason}"
        hold = self._translator.malformed(
            record_id=record_no if sane else self._delivery_id(number),
            kind=EntryKind.REVERSAL if fields[-1:] == [REVOKED] else EntryKind.CREDIT,
            raw=text,
            detail=detail[:REASON_CHARACTERS_MAX],
        )
        return DailyLine(number, {}, Delivery(hold, self._delivery_id(number), self._received_at))

    def _delivery_id(self, number: int) -> str:
        return f"daily:{self._day:%Y%m%d}:line:{number}"


def _decoded(line: _Line) -> str | _Unreadable:
    """The line's text, or why it has none."""
    if line.too_long:
        reason = f"is longer than {LINE_BYTES_MAX} bytes"
    else:
        try:
            text = line.data.decode(ENCODING)
        except UnicodeDecodeError:
            reason = "is not GB18030 text"
        else:
            return text.removeprefix(BYTE_ORDER_MARK) if line.number == 1 else text
    return _Unreadable(line.number, line.data.decode(ENCODING, errors="replace"), reason)


def _fields_of(text: str) -> tuple[str, ...]:
    try:
        return tuple(next(csv.reader([text], strict=True), []))
    except csv.Error:
        return ()


def _loose_fields_of(text: str) -> list[str]:
    try:
        return next(csv.reader([text.replace("\n", " ")]), [])
    except csv.Error:
        return []
