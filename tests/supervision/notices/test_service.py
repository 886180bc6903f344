"""Notices on both databases: sent to every active person a report covers, a roster page per delivery,
counted as they go, limited per token and day, and listed for the sender's unit."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy.ext.asyncio import AsyncEngine

from sso.access.model import Scope, ScopeKind, TokenId
from sso.id_numbers import make_id_number
from sso.organisation import load_organisation
from sso.people.service import PeopleService
from sso.personal_data import DataKeyring
from sso.units.service import OrganisationService
from supervision.errors import InvalidSupervisionRequest, NoticeLimitReached
from supervision.model import StaffMessageKind
from supervision.notices.model import NOTICES_PER_WINDOW_MAX, NoticeForm, parse_notice
from supervision.notices.service import NoticeBoard
from supervision.notices.store import SqlNoticeStore
from supervision.reports import service as reports_service
from supervision.reports.model import report_for

from ...sso.clock import Clock
from ...sso.people.forms import registration_form
from ..conftest import RecordingMessages

ORGANISATION_FILE = Path(__file__).parents[3] / "config" / "organisation" / "hunan.json"
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
LIUYANG = Scope(ScopeKind.DEPARTMENT, "430181-personnel")
NOTICE = NoticeForm("关于完成2021年度培训的通知", "请各单位职工于12月31日前完成学时。", None)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2021, 12, 1, 8, 0, tzinfo=UTC))


@pytest.fixture
async def people(engine: AsyncEngine) -> PeopleService:
    organisation = OrganisationService(engine)
    await organisation.replace(load_organisation(ORGANISATION_FILE))
    return PeopleService(engine, DataKeyring.generate(), organisation, password_hasher=FAST_HASHER)


async def _enrol(people: PeopleService, sequence: int, unit_code: str) -> str:
    id_number = make_id_number("430102", date(1990, 1, 1), sequence, today=date(2021, 12, 1))
    return await people.register(registration_form(id_number=id_number, unit_code=unit_code))


async def test_a_notice_reaches_every_active_person_of_the_unit_page_by_page(
    engine: AsyncEngine,
    people: PeopleService,
    clock: Clock,
    messages: RecordingMessages,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(reports_service, "ROSTER_PAGE_SIZE", 2)  # three pages of Liuyang's five people
    liuyang = [await _enrol(people, n, f"430181-000{n % 3 + 1}") for n in range(1, 7)]
    await people.deactivate(liuyang[0])
    elsewhere = await _enrol(people, 7, "430100-0001")
    board = NoticeBoard(SqlNoticeStore(engine), people, messages, clock)
    report = report_for(load_organisation(ORGANISATION_FILE), LIUYANG, "430181")
    assert report is not None

    notice = await board.send(report, NOTICE, scope=LIUYANG, by=TokenId(5))

    assert [len(call) for call in messages.calls] == [2, 2, 1]
    delivered = messages.sent
    assert sorted(message.person_id for message in delivered) == sorted(liuyang[1:])
    assert elsewhere not in {message.person_id for message in delivered}
    assert {(message.kind, message.title, message.body) for message in delivered} == {
        (StaffMessageKind.SUPERVISOR_NOTICE, NOTICE.title, NOTICE.body)
    }
    assert (notice.recipients, notice.unit_code, notice.scope_code, notice.sent_by) == (
        5,
        "430181",
        "430181-personnel",
        5,
    )
    listed = await board.sent_from(LIUYANG, None, 10)
    assert listed.items == (notice,)


async def test_a_token_sends_at_most_ten_notices_a_day(
    engine: AsyncEngine, people: PeopleService, clock: Clock
) -> None:
    board = NoticeBoard(SqlNoticeStore(engine), people, RecordingMessages(), clock)
    report = report_for(load_organisation(ORGANISATION_FILE), LIUYANG, "430181-0002")
    assert report is not None
    for _ in range(NOTICES_PER_WINDOW_MAX):
        await board.send(report, NOTICE, scope=LIUYANG, by=TokenId(5))
        clock.advance(60)

    with pytest.raises(NoticeLimitReached) as limited:
        await board.send(report, NOTICE, scope=LIUYANG, by=TokenId(5))
    await board.send(report, NOTICE, scope=LIUYANG, by=TokenId(6))  # another token of the same unit

    assert limited.value.retry_after_seconds == 24 * 3600 - NOTICES_PER_WINDOW_MAX * 60
    first = await board.sent_from(LIUYANG, None, 4)
    rest = await board.sent_from(LIUYANG, first.next_before, 100)
    assert len(first.items) + len(rest.items) == NOTICES_PER_WINDOW_MAX + 1
    assert rest.next_before is None
    assert (await board.sent_from(Scope(ScopeKind.DEPARTMENT, "430100-personnel"), None, 10)).items == ()


def test_a_notice_names_every_field_at_fault() -> None:
    with pytest.raises(InvalidSupervisionRequest) as refused:
        parse_notice({"title": "a\nb", "body": "x" * 1001, "unit": 430181, "to": "all"})

    assert [error.field for error in refused.value.errors] == ["to", "title", "body", "unit"]
    assert parse_notice({"title": " 通知 ", "body": "第一行\n第二行", "unit": "430181"}) == NoticeForm(
        "通知", "第一行\n第二行", "430181"
    )
