"""Quarantine review with the real ledger on SQLite and PostgreSQL and the vendors' adapters: a held
record translated again once what held it has changed (its learner registered, its year given rules),
still refused while it has not, and shown with personal data masked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.hnou.adapter import HnouAdapter
from adapters.hnou.daily import DailyFileClient
from adapters.hnou.model import FORM, read_record
from adapters.hnou.receiver import HnouReceiver
from adapters.hnou.store import SqlNonceRegister
from adapters.hnou.translation import Translator
from adapters.quarantine.errors import PersonStillUnknown, RecordStillInvalid, VendorNotConfigured
from adapters.quarantine.service import Quarantine
from adapters.webtrn.adapter import WebtrnAdapter
from adapters.webtrn.client import WebtrnAccount
from adapters.webtrn.pages import ItemReader
from ledger.model import Balance, Delivery, EntryKind, HeldQuery, Hours, OutcomeKind, PersonId, Source, YearRules
from ledger.service import Ledger
from ledger.store import SqlLedgerStore
from sso.id_numbers import make_id_number
from sso.personal_data import DataKeyring

from ..conftest import FakeLearnerDirectory

RECEIVED_AT = datetime(2022, 6, 1, 3, 0, tzinfo=UTC)
OPERATOR = "operator:token:1"
ID_NUMBER = make_id_number("430102", datetime(1990, 3, 7, tzinfo=UTC).date(), 140)


def rules(*years: int) -> dict[int, YearRules]:
    return {year: YearRules(year, Hours(9000), Hours(3000), Hours(6000), Hours(750)) for year in years}


def webtrn(ledger: Ledger, directory: FakeLearnerDirectory) -> WebtrnAdapter:
    account = WebtrnAccount("http://127.0.0.1:9/token", "http://127.0.0.1:9", "hub", "secret")
    return WebtrnAdapter(account, ledger, directory, start=RECEIVED_AT)


async def test_a_webtrn_item_of_a_year_without_rules_is_released_once_the_year_has_rules(
    engine: AsyncEngine, directory: FakeLearnerDirectory
) -> None:
    before = Ledger(SqlLedgerStore(engine), rules(2021))
    item = {
        "id": 88124,
        "learner": {"sub": "sub-wang-w"},
        "course_code": "C1001",
        "course_name": "课程",
        "subject": "公共科目",
        "credit_hours": Decimal("2.5"),
        "finished_at": "2022-06-01 10:00:00",
        "status": "completed",
        "updated_at": "2022-06-01T02:00:05Z",
    }
    read = await ItemReader(directory, before.check).read(item, RECEIVED_AT)
    await before.receive([read.delivery])
    [held] = await before.held_page(HeldQuery())

    with pytest.raises(RecordStillInvalid) as still:
        await Quarantine(before, {Source.WEBTRN: webtrn(before, directory)}).release(
            held.id, actor=OPERATOR, reason=None
        )
    after = Ledger(SqlLedgerStore(engine), rules(2021, 2022))
    quarantine = Quarantine(after, {Source.WEBTRN: webtrn(after, directory)})
    [shown] = (await quarantine.page(HeldQuery())).items
    _item, outcome = await quarantine.release(held.id, actor=OPERATOR, reason="2022 has rules now")

    assert [error.field for error in still.value.errors] == ["finished_at"]
    assert '"credit_hours":2.5' in str(shown.view["item"])  # the item as it came, its hours exact
    assert outcome.kind is OutcomeKind.APPENDED
    assert await after.balance("person-wang", 2022) == Balance(public=250)


@dataclass
class Hnou:
    ledger: Ledger
    translator: Translator
    adapter: HnouAdapter


@pytest.fixture
async def hnou(engine: AsyncEngine, keyring: DataKeyring, directory: FakeLearnerDirectory) -> AsyncIterator[Hnou]:
    ledger = Ledger(SqlLedgerStore(engine), rules(2021))
    translator = Translator(directory.person_for_id_number, keyring, ledger.check)
    receiver = HnouReceiver(None, SqlNonceRegister(engine), translator)
    async with httpx.AsyncClient() as http:
        files = DailyFileClient(http, api_base="http://127.0.0.1:9", appid="a", appsecret="s", translator=translator)
        yield Hnou(ledger, translator, HnouAdapter(receiver, files, translator))


async def test_a_malformed_hnou_line_is_shown_masked_and_still_refused(hnou: Hnou) -> None:
    ledger = hnou.ledger
    line = f"HN-7,{ID_NUMBER},王小芳,HN-2021-DS01,党史学习教育,公共,-1,2021-06-01 10:00:00,完成"
    hold = hnou.translator.malformed(record_id="HN-7", kind=EntryKind.CREDIT, raw=line, detail="学时 must be more")
    await ledger.receive([Delivery(hold, "daily:20210601:line:2", RECEIVED_AT)])
    quarantine = Quarantine(ledger, {Source.HNOU: hnou.adapter})
    [item] = (await quarantine.page(HeldQuery())).items

    with pytest.raises(RecordStillInvalid) as still:
        await quarantine.release(item.held.id, actor=OPERATOR, reason=None)

    shown = str(item.view["line"])
    assert ID_NUMBER not in shown
    assert "王小芳" not in shown
    assert "王**" in shown
    assert ID_NUMBER[:6] + "********" + ID_NUMBER[-4:] in shown
    assert [error.field for error in still.value.errors] == ["学时"]
    assert (await ledger.held(item.held.id)).decision is None


async def test_an_unknown_hnou_id_number_is_released_once_registered(
    hnou: Hnou, directory: FakeLearnerDirectory
) -> None:
    ledger = hnou.ledger
    form = {
        "record_no": "HN-8",
        "idcard": ID_NUMBER,
        "kcbh": "HN-2021-DS01",
        "kcmc": "党史学习教育",
        "kmlx": "1",
        "xs": "3.5",
        "wcsj": "20210601095812",
        "zt": "1",
    }
    command = await hnou.translator.command(read_record(form, FORM), FORM)
    await ledger.receive([Delivery(command, "form:1", RECEIVED_AT)])
    quarantine = Quarantine(ledger, {Source.HNOU: hnou.adapter})
    [item] = (await quarantine.page(HeldQuery())).items

    with pytest.raises(PersonStillUnknown):
        await quarantine.release(item.held.id, actor=OPERATOR, reason=None)
    with pytest.raises(VendorNotConfigured):
        await Quarantine(ledger, {}).release(item.held.id, actor=OPERATOR, reason=None)
    directory.id_numbers[ID_NUMBER] = PersonId("person-new")
    _released, outcome = await quarantine.release(item.held.id, actor=OPERATOR, reason=None)

    assert item.view["id_number_masked"] == ID_NUMBER[:6] + "********" + ID_NUMBER[-4:]
    assert ID_NUMBER not in str(item.view)
    assert outcome.kind is OutcomeKind.APPENDED
    assert await ledger.balance("person-new", 2021) == Balance(public=350)
