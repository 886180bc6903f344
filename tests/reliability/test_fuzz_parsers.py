"""The parsers of the three vendor formats and of ID numbers, fed whatever hypothesis makes of them
(mutated valid inputs, random structures, random bytes): each either reads the input or refuses it
with the project's own error, which the hub answers as a 4xx or a ``FAIL:``; nothing else escapes
to become a 500.

- ischinese's JSON events (``parse_event`` over the raw body);
- hnou's forms (``read_form``, then the record in them) and its GB18030 daily files, read whole
  through the daily-file client over a transport that serves the fuzzed file;
- webtrn's pages (``parse_page``, then each item through the item reader);
- GB 11643 ID numbers (``normalise_id_number``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from datetime import UTC, date, datetime

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.errors import AdapterError
from adapters.hnou.daily import DailyFileClient
from adapters.hnou.errors import DailyFileInvalid
from adapters.hnou.form import FORM_CONTENT_TYPE, read_form
from adapters.hnou.model import FORM, read_record
from adapters.hnou.translation import Translator
from adapters.ischinese.webhook import parse_event
from adapters.webtrn.errors import AnswerInvalid
from adapters.webtrn.pages import ItemReader, parse_page
from ledger.errors import LedgerError
from ledger.model import Command
from sso.errors import InvalidIdNumber
from sso.id_numbers import normalise_id_number
from sso.personal_data import DataKeyring

from ..adapters.conftest import FakeLearnerDirectory
from .conftest import Scenario

DAILY_HEADER = "记录编号,身份证号,姓名,课程编号,课程名称,科目类型,学时,完成时间,状态"
VALID_EVENT = {
    "type": "completion.created",
    "timestamp": "2021-06-01T10:00:00+08:00",
    "data": {
        "completion_id": "c-1",
        "sub": "s-1",
        "course": {"id": "XJP-2021-01", "title": "概论", "subject": "public", "hours": "3.5"},
        "completed_at": "2021-06-01T09:58:12+08:00",
    },
}
VALID_ITEM = {
    "id": 88123,
    "learner": {"sub": "s-1"},
    "course_code": "C1001",
    "course_name": "概论",
    "subject": "公共科目",
    "credit_hours": 2.5,
    "finished_at": "2021-06-01 10:00:00",
    "status": "completed",
    "updated_at": "2021-06-01T02:00:05Z",
}
VALID_FORM = {
    "appid": "hub",
    "record_no": "HN-1",
    "idcard": "11010519491231002X",
    "kcbh": "HN-2021-DS01",
    "kcmc": "党史学习教育",
    "kmlx": "1",
    "xs": "2.5",
    "wcsj": "20210601100000",
    "zt": "1",
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


def _mutated(document: dict[str, object]) -> st.SearchStrategy[dict[str, object]]:
    """A valid document with some of its fields replaced by anything, or removed."""
    return st.dictionaries(st.sampled_from(sorted(document)), json_values | st.just(...), max_size=4).map(
        lambda changes: {
            key: changes.get(key, value) for key, value in document.items() if changes.get(key, value) is not ...
        }
    )


def _examples(scenario: Scenario) -> Callable[[Callable[..., None]], Callable[..., None]]:
    return settings(
        max_examples=scenario.sizes.parser_examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


def _check(_command: Command) -> None:
    """The ledger's check of a command against the year's rules: every year is fine here."""


def test_ischinese_events(scenario: Scenario) -> None:
    tried = []

    @_examples(scenario)
    @given(
        body=st.binary(max_size=300)
        | json_values.map(lambda value: json.dumps(value).encode())
        | _mutated(VALID_EVENT).map(lambda event: json.dumps(event, ensure_ascii=False).encode())
        | _mutated(VALID_EVENT["data"]).map(lambda data: json.dumps({**VALID_EVENT, "data": data}).encode())  # type: ignore[arg-type]
    )
    def parse(body: bytes) -> None:
        tried.append(body)
        with contextlib.suppress(AdapterError):
            parse_event(body)

    parse()
    _record(scenario, "ischinese events", len(tried))


def test_hnou_forms(scenario: Scenario) -> None:
    tried = []

    @_examples(scenario)
    @given(
        body=st.binary(max_size=300)
        | _mutated(VALID_FORM).map(lambda form: str(httpx.QueryParams({k: str(v) for k, v in form.items()})).encode())
    )
    def parse(body: bytes) -> None:
        tried.append(body)
        try:
            fields = read_form(body, FORM_CONTENT_TYPE, "utf-8")
            read_record(fields, FORM)
        except (AdapterError, LedgerError):
            pass

    parse()
    _record(scenario, "hnou forms", len(tried))


def test_hnou_daily_files(scenario: Scenario) -> None:
    tried = []
    translator = Translator(FakeLearnerDirectory().person_for_id_number, DataKeyring.generate(), _check)
    text_lines = st.lists(
        st.text(alphabet=st.characters(codec="gb18030"), max_size=60)
        | st.lists(st.text(max_size=12), min_size=9, max_size=9).map(",".join),
        max_size=6,
    )

    @_examples(scenario)
    @given(
        body=st.binary(max_size=400)
        | text_lines.map(lambda lines: "\r\n".join([DAILY_HEADER, *lines]).encode("gb18030", errors="replace"))
    )
    def read(body: bytes) -> None:
        tried.append(body)
        asyncio.run(_read_daily(body, translator))

    read()
    _record(scenario, "hnou daily files", len(tried))


async def _read_daily(body: bytes, translator: Translator) -> None:
    transport = httpx.MockTransport(lambda _request: httpx.Response(200, content=body))
    async with httpx.AsyncClient(transport=transport) as http:
        client = DailyFileClient(
            http, api_base="http://hnou.invalid", appid="hub", appsecret="s", translator=translator
        )
        try:
            async for _delivery in client.deliveries(date(2021, 6, 1)):
                pass
        except (DailyFileInvalid, AdapterError):
            pass


def test_webtrn_pages(scenario: Scenario) -> None:
    tried = []
    reader = ItemReader(FakeLearnerDirectory(), _check)

    @_examples(scenario)
    @given(
        body=st.binary(max_size=300)
        | json_values.map(lambda value: json.dumps(value).encode())
        | st.lists(_mutated(VALID_ITEM), max_size=3).map(
            lambda items: json.dumps({"items": items, "next_cursor": None}).encode()
        )
    )
    def parse(body: bytes) -> None:
        tried.append(body)
        try:
            page = parse_page(body)
        except AnswerInvalid:
            return
        for item in page.items:
            asyncio.run(reader.read(item, datetime.now(UTC)))

    parse()
    _record(scenario, "webtrn pages", len(tried))


def test_id_numbers(scenario: Scenario) -> None:
    tried = []

    @_examples(scenario)
    @given(
        text=st.text(max_size=25)
        | st.text(alphabet="0123456789Xx ", min_size=15, max_size=20)
        | st.from_regex(r"[1-8][0-9]{5}(19|20)[0-9]{2}[01][0-9][0-3][0-9]{4}[0-9Xx]", fullmatch=True)
    )
    def parse(text: str) -> None:
        tried.append(text)
        with contextlib.suppress(InvalidIdNumber):
            normalise_id_number(text)

    parse()
    _record(scenario, "ID numbers", len(tried))


def _record(scenario: Scenario, parser: str, tried: int) -> None:
    scenario.record_figures(
        f"parsers_{parser.replace(' ', '_').lower()}",
        f"Fuzzing the parser of {parser} (hypothesis)",
        {"bad inputs tried": tried, "exceptions escaped": 0},
    )
