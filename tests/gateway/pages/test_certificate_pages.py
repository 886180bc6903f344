"""The year's records ticked, the certificate applied for with them, and the certificates' page, through
an aiohttp test server on SQLite and PostgreSQL.

Records are appended through a ledger of its own engine, as another hub process would: its appends do
not wake the served hub's review worker, which would otherwise issue the certificate of a met year by
itself before the application is made."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest

from gateway.bootstrap import ledger_rules
from gateway.database import create_engine
from ledger.model import Entry, PersonId, new_credit, new_reversal
from ledger.service import Ledger
from ledger.store import SqlLedgerStore
from sso.certificates.model import CertificateStatus
from sso.people.model import Person

from ...sso.people.forms import ID_NUMBER
from ..access_support import registration
from .support import Answer, PageBrowser

START = datetime(2021, 3, 1, 2, 0, tzinfo=UTC)
CHECKBOX = re.compile(r'<input type="checkbox" name="tick" value="(\d+)"[^>]*?( checked)?>')
KEPT = re.compile(r'<input type="hidden" name="kept" value="([0-9,]*)">')


@pytest.fixture
async def elsewhere(browser: PageBrowser, database_url: str) -> AsyncIterator[Ledger]:
    """The ledger as another hub process sees it."""
    engine = create_engine(database_url)
    yield Ledger(SqlLedgerStore(engine), ledger_rules(browser.hub.settings.rules))
    await engine.dispose()


async def _person(browser: PageBrowser) -> Person:
    await browser.register()
    person_id = await browser.hub.people.find_by_id_number(ID_NUMBER)
    assert person_id is not None
    await browser.log_in()
    return await browser.hub.people.get(person_id)


async def _credit(ledger: Ledger, person_id: PersonId, record_id: str, subject: str, hours: str, *, day: int) -> Entry:
    outcome = await ledger.record(
        new_credit(
            person_id=person_id,
            source="ischinese",
            record_id=record_id,
            course_code=f"C-{record_id}",
            course_title=f"课程 {record_id}",
            subject=subject,
            hours=hours,
            completed_at=START + timedelta(days=day),
            actor="vendor:ischinese",
            payload_hash=hashlib.sha256(record_id.encode()).hexdigest(),
        )
    )
    return outcome.entries[0]


def _ticks(page: Answer) -> dict[int, bool]:
    """Each checkbox of the training page: its record's id, and whether it is ticked."""
    return {int(seq): bool(checked) for seq, checked in CHECKBOX.findall(page.text)}


def _kept(page: Answer) -> str:
    found = KEPT.search(page.text)
    assert found is not None, page.text
    return found[1]


async def test_every_counted_record_is_ticked_at_first_and_ticks_carry_across_pages(
    browser: PageBrowser, elsewhere: Ledger
) -> None:
    person = await _person(browser)
    credits = [await _credit(elsewhere, person.id, f"r{day:02d}", "public", "1.5", day=day) for day in range(25)]
    await elsewhere.record(
        new_reversal(
            source="ischinese", record_id="r24", reason="撤销", actor="vendor:ischinese", payload_hash="f" * 64
        )
    )
    newest_first = [credit.seq for credit in reversed(credits)]

    first = await browser.get("/me/training?year=2021")
    assert "培训合格证书已签发" not in first.text
    # Untick the second record of page one, then turn to page two, as the pager's button sends the form.
    ticked_on_one = newest_first[2:20]
    kept = _kept(first)
    query = [("year", "2021"), ("kept", kept), *(("tick", str(seq)) for seq in ticked_on_one), ("page", "2")]
    second = await browser.get(f"/me/training?{urlencode(query)}")
    # Back on page one from page two, with its first record unticked there.
    back = [
        ("year", "2021"),
        ("kept", _kept(second)),
        *(("tick", str(seq)) for seq in newest_first[21:]),
        ("page", "1"),
    ]
    again = await browser.get(f"/me/training?{urlencode(back)}")

    assert first.status == second.status == again.status == 200
    # The reversed record (the newest) has no checkbox; every other one of the page is ticked.
    assert _ticks(first) == dict.fromkeys(newest_first[1:20], True)
    assert kept == ",".join(str(seq) for seq in sorted(newest_first[20:]))
    assert _ticks(second) == dict.fromkeys(newest_first[20:], True)
    assert _kept(second) == ",".join(str(seq) for seq in sorted(ticked_on_one))
    assert _ticks(again) == {newest_first[1]: False, **dict.fromkeys(ticked_on_one, True)}
    assert _kept(again) == ",".join(str(seq) for seq in sorted(newest_first[21:]))
    assert "申请证书" in first.text


async def test_an_application_short_of_hours_shows_what_is_missing_and_issues_nothing(
    browser: PageBrowser, elsewhere: Ledger
) -> None:
    person = await _person(browser)
    await _credit(elsewhere, person.id, "pub", "public", "30", day=1)
    professional = await _credit(elsewhere, person.id, "pro", "professional", "60", day=2)
    other = await browser.hub.people.register(registration(2, "430100-0001"))
    foreign = await _credit(elsewhere, other, "other", "public", "5", day=3)
    query = urlencode([("year", "2021"), ("kept", ""), ("tick", str(professional.seq))])

    preview = await browser.get(f"/me/certificates/apply?{query}")
    short = await browser.submit(
        "/me/certificates",
        {"year": "2021", "entry_ids": f"{professional.seq},{foreign.seq}"},
        page=f"/me/certificates/apply?{query}",
    )
    no_rules = await browser.submit(
        "/me/certificates", {"year": "2020", "entry_ids": str(professional.seq)}, page=f"/me/certificates/apply?{query}"
    )
    none = await browser.submit(
        "/me/certificates", {"year": "2021", "entry_ids": ""}, page=f"/me/certificates/apply?{query}"
    )

    assert preview.status == 200
    assert re.search(
        r'<th scope="row">公共科目</th><td>30.00</td><td>0.00</td><td class="missing">30.00</td>', preview.text
    )
    assert "课程 pro" in preview.text
    assert "课程 pub" not in preview.text  # not ticked
    assert short.status == 422
    assert "申请未通过：勾选的记录尚未达到年度学时要求" in short.text
    assert "总学时还差30.00学时（要求90.00学时）" in short.text
    assert "公共科目还差30.00学时（要求30.00学时）" in short.text
    assert "专业科目还差" not in short.text
    assert "有勾选的记录已被撤销或不属于您本年度" in short.text
    assert "课程 other" not in short.text  # another person's record is not shown
    assert no_rules.status == 422
    assert "2020年度暂无学时要求，无需申请证书。" in no_rules.text
    assert none.status == 422
    assert "请至少勾选一条学时记录后再申请。" in none.text
    assert await browser.hub.certificates.history(person.id) == []


async def test_an_application_that_meets_the_rules_lists_the_certificate_with_its_pdf_and_verify_page(
    browser: PageBrowser, elsewhere: Ledger
) -> None:
    person = await _person(browser)
    ticked = [
        await _credit(elsewhere, person.id, "pub", "public", "30", day=1),
        await _credit(elsewhere, person.id, "pro", "professional", "60.5", day=2),
    ]
    fields = {"year": "2021", "entry_ids": ",".join(str(entry.seq) for entry in ticked)}

    applied = await browser.submit("/me/certificates", fields, page="/me/certificates/apply?year=2021")
    page = await browser.get(applied.location)
    again = await browser.submit("/me/certificates", fields, page="/me/certificates/apply?year=2021")

    assert (applied.status, applied.location) == (303, "/me/certificates?done=applied")
    (item,) = await browser.hub.certificates.history(person.id)
    number = item.certificate.number
    assert "证书已签发" in page.text
    assert f"<code>{number}</code>" in page.text
    assert "合计 90.50 学时（公共科目 30.00，专业科目 60.50）" in page.text
    assert "本人申请签发" in page.text
    assert re.search(r'<span class="status valid">有效</span>', page.text)
    links = dict(re.findall(r'<a (?:class="[a-z]+" )?href="([^"]+)"[^>]*>([^<]+)<', page.text))
    assert links[f"/api/v1/certificates/{number}.pdf"] == "下载证书（PDF）"
    assert links[f"http://127.0.0.1:8080/verify/{number}"] == "核验页面"
    pdf = await browser.client.get(f"/api/v1/certificates/{number}.pdf")
    assert (await pdf.read()).startswith(b"%PDF")
    assert (again.status, again.location) == (303, "/me/certificates?done=held")
    training = await browser.get("/me/training?year=2021")
    assert f"2021年度培训合格证书已签发（编号 {number}）" in training.text
    assert len(await browser.hub.certificates.history(person.id)) == 1
    verify = await browser.get(f"/verify/{number}")
    assert "有效" in verify.text


async def test_another_persons_certificate_is_neither_listed_nor_downloadable(
    browser: PageBrowser, elsewhere: Ledger
) -> None:
    owner = await browser.hub.people.register(registration(2, "430100-0001"))
    await _credit(elsewhere, owner, "pub", "public", "30", day=1)
    await _credit(elsewhere, owner, "pro", "professional", "60", day=2)
    await browser.hub.certificates.review_due()
    (item,) = await browser.hub.certificates.history(owner)
    await _person(browser)

    page = await browser.get("/me/certificates")
    pdf = await browser.client.get(f"/api/v1/certificates/{item.certificate.number}.pdf")

    assert page.status == 200
    assert item.certificate.number not in page.text
    assert "您还没有培训合格证书" in page.text
    assert pdf.status == 404


async def test_the_certificates_are_paged_newest_first_with_the_revoked_ones_marked(browser: PageBrowser) -> None:
    person = await _person(browser)
    hub = browser.hub
    await _credit(hub.ledger, person.id, "pro", "professional", "60", day=0)
    # Eleven times the year is met and its certificate issued; ten times a record is withdrawn again.
    for number in range(11):
        await _credit(hub.ledger, person.id, f"pub-{number:02d}", "public", "30", day=number + 1)
        await hub.certificates.review_due()
        if number < 10:
            await hub.ledger.record(
                new_reversal(
                    source="ischinese",
                    record_id=f"pub-{number:02d}",
                    reason="撤销",
                    actor="vendor:ischinese",
                    payload_hash=hashlib.sha256(f"revoked {number}".encode()).hexdigest(),
                )
            )
            await hub.certificates.review_due()
    history = await hub.certificates.history(person.id)

    first = await browser.get("/me/certificates")
    second = await browser.get("/me/certificates?page=2")

    statuses = re.compile(r"<code>([^<]+)</code>.*?<dt>状态</dt><dd>([^<（]+)", re.DOTALL)
    assert [number for number, _status in statuses.findall(first.text)] == [
        item.certificate.number for item in history[:10]
    ]
    assert [number for number, _status in statuses.findall(second.text)] == [history[10].certificate.number]
    # Issued within one second, the history's order among them is the numbers' (the store's tie-break).
    shown = dict(statuses.findall(first.text + second.text))
    names = {CertificateStatus.VALID: "有效", CertificateStatus.REVOKED: "已撤销"}
    assert shown == {item.certificate.number: names[item.certificate.status] for item in history}
    assert sorted(shown.values()) == sorted(["有效", *["已撤销"] * 10])
    assert "第 1 / 2 页（共 11 条）" in first.text
    assert 'href="/me/certificates?page=2"' in first.text
    assert (first.text + second.text).count(
        "撤销：有培训记录被撤销，2021年度学时已不再达到要求（总学时差30.00学时；公共科目差30.00学时）"
    ) == 10
