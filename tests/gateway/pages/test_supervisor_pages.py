"""The supervisors' pages, on SQLite and PostgreSQL: compliance of a seeded organisation with its chart and
table, the people short of the rules, the vendors' shares, the scope of the token (404 outside it alike),
and feedback answered through the form, refused without the form token, with errors beside the field."""

from __future__ import annotations

import re
from html import unescape

import pytest

from gateway.pages.share_charts import BAR_WIDTH
from gateway.pages.supervisors import UNITS_PER_PAGE
from ledger.model import PersonId
from sso.access.model import AuditAction, AuditOutcome, Role, Scope, ScopeKind
from sso.id_numbers import mask_id_number, normalise_id_number
from supervision.feedback.model import FeedbackStatus
from supervision.reports.model import report_for

from ..access_support import audit_entries, new_token
from ..supervision_support import credit, enrol, id_number, record
from .support import Answer, PageBrowser

CHANGSHA_PERSONNEL = "430100-personnel"
SEGMENT = re.compile(r'<rect class="segment" x="(\d+)" y="\d+" width="(\d+)" [^>]*><title>([^<]*)</title>')


@pytest.fixture
async def people(browser: PageBrowser) -> dict[str, str]:
    """Four people and their 2021: two of 长沙市中心医院, one of 浏阳市人民医院, one of Zhuzhou (outside the scope)."""
    client = browser.client
    ids = {
        "zhang": await enrol(client, 1, "430100-0001", "张伟"),
        "ouyang": await enrol(client, 2, "430100-0001", "欧阳娜娜"),
        "zhao": await enrol(client, 3, "430181-0001", "赵敏"),
        "chen": await enrol(client, 4, "430200-0001", "陈静"),
    }
    await record(
        client,
        credit(ids["zhang"], "z-1", "ischinese:XJP-2021-01", "public", "30"),
        credit(ids["zhang"], "z-2", "webtrn:C2001", "professional", "60"),
        # 欧阳娜娜 misses 17.50 public and 20 professional.
        credit(ids["ouyang"], "o-1", "ischinese:XJP-2021-01", "public", "12.5"),
        credit(ids["ouyang"], "o-2", "webtrn:C2002", "professional", "40"),
        credit(ids["zhao"], "m-1", "hnou:DS-2021", "public", "30"),
        credit(ids["zhao"], "m-2", "continuing_ed:CE-1", "professional", "60"),
        credit(ids["chen"], "c-1", "hnou:DS-2021", "public", "5"),
    )
    return ids


async def sign_in_as_supervisor(browser: PageBrowser, department: str = CHANGSHA_PERSONNEL) -> Answer:
    secret = await new_token(browser.client, Role.SUPERVISOR, department=department)
    return await browser.submit("/console/login", {"token": secret})


def cells(answer: Answer, name: str) -> list[str]:
    """The cells of the table row headed ``name``, as text."""
    found = re.search(
        rf"<tr>\s*<th scope=\"row\">(?:<a [^>]*>)?{re.escape(name)}(?:</a>)?</th>(.*?)</tr>", answer.text, re.S
    )
    assert found is not None, answer.text
    return [
        unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", found[1], re.S)
    ]


def segments(answer: Answer) -> dict[str, tuple[int, int]]:
    """Each bar segment of the page's chart by its tooltip: where it starts and how wide it is."""
    return {unescape(title): (int(x), int(width)) for x, width, title in SEGMENT.findall(answer.text)}


async def test_a_supervisor_lands_on_the_compliance_of_their_unit_with_a_chart_and_a_table_of_the_same_figures(
    browser: PageBrowser, people: dict[str, str]
) -> None:
    signed_in = await sign_in_as_supervisor(browser)
    assert (signed_in.status, signed_in.location) == (303, "/console/compliance?done=signed_in")

    page = await browser.get("/console/compliance?year=2021")

    assert page.status == 200, page.text
    assert "<h1>长沙市人力资源和社会保障局2021年度达标情况</h1>" in page.text
    for label, value in (("total-people", "3"), ("total-met", "2")):
        assert f'<dd id="{label}">{value}</dd>' in page.text
    # 长沙市中心医院: 张伟 met, 欧阳娜娜 did not; 142.50 hours, 42.50 of them public.
    assert cells(page, "长沙市中心医院") == ["单位", "2", "1", "1", "50.00%", "142.50", "42.50", "100.00"]
    assert cells(page, "浏阳市人民医院") == ["单位", "1", "1", "0", "100.00%", "90.00", "30.00", "60.00"]
    assert cells(page, "浏阳市") == ["地区", "1", "1", "0", "100.00%", "90.00", "30.00", "60.00"]
    assert cells(page, "长沙县") == ["地区", "0", "0", "0", "—", "0.00", "0.00", "0.00"]
    assert "株洲" not in page.text
    assert '<title id="compliance-chart-title">达标与未达标人数</title>' in page.text
    assert '<desc id="compliance-chart-desc">长沙市人力资源和社会保障局共3人，其中2人达标、1人未达标' in page.text
    two_thirds = BAR_WIDTH * 2 // 3
    assert segments(page) == {
        "长沙市人力资源和社会保障局（合计）：已达标 2人（66.67%）": (0, two_thirds),
        "长沙市人力资源和社会保障局（合计）：未达标 1人（33.33%）": (two_thirds, BAR_WIDTH - two_thirds),
        "长沙市中心医院（1/2）：已达标 1人（50.00%）": (0, BAR_WIDTH // 2),
        "长沙市中心医院（1/2）：未达标 1人（50.00%）": (BAR_WIDTH // 2, BAR_WIDTH // 2),
        "长沙市（2/3）：已达标 2人（66.67%）": (0, two_thirds),
        "长沙市（2/3）：未达标 1人（33.33%）": (two_thirds, BAR_WIDTH - two_thirds),
        "浏阳市（1/1）：已达标 1人（100.00%）": (0, BAR_WIDTH),
        "浏阳市人民医院（1/1）：已达标 1人（100.00%）": (0, BAR_WIDTH),
    }
    assert [entry.action for entry in await audit_entries(browser.client)][-1] is AuditAction.COMPLIANCE_READ


async def test_the_people_short_of_the_rules_are_listed_masked(browser: PageBrowser, people: dict[str, str]) -> None:
    await sign_in_as_supervisor(browser)

    page = await browser.get("/console/compliance/short?unit=430100&year=2021")

    assert page.status == 200
    masked = mask_id_number(normalise_id_number(id_number(2)))
    row = re.search(r"<tr>\s*<th scope=\"row\">欧\*\*\*</th>(.*?)</tr>", page.text, re.S)
    assert row is not None, page.text
    shown = [unescape(re.sub(r"<[^>]+>", "", cell)) for cell in re.findall(r"<td>(.*?)</td>", row[1], re.S)]
    assert shown == [masked, "长沙市中心医院", "52.50", "37.50", "17.50", "20.00", "—"]
    assert "欧阳娜娜" not in page.text
    assert id_number(2) not in page.text
    assert "张*" not in page.text  # he met the rules


async def test_a_unit_outside_the_scope_and_an_unknown_one_get_404_alike(
    browser: PageBrowser, people: dict[str, str]
) -> None:
    await sign_in_as_supervisor(browser)
    for path in (
        "/console/compliance?unit=430200&year=2021",
        "/console/compliance?unit=430200-0001&year=2021",
        "/console/compliance/short?unit=430000&year=2021",
        "/console/vendor-share?unit=430200-0001&year=2021",
        "/console/compliance?unit=nowhere&year=2021",
    ):
        refused = await browser.get(path)
        assert refused.status == 404, path
        assert refused.headers["Content-Type"].startswith("text/html"), path
        assert "株洲" not in refused.text
    outcomes = [entry.outcome for entry in await audit_entries(browser.client)][-5:]
    assert outcomes == [AuditOutcome.DENIED] * 5


async def test_a_year_without_rules_is_refused_beside_the_year(browser: PageBrowser, people: dict[str, str]) -> None:
    await sign_in_as_supervisor(browser)

    page = await browser.get("/console/compliance?year=1999")

    assert page.status == 422
    assert page.error_of("year") == "请选择有学时规则的培训年度"
    assert "<table" not in page.text
    audited = (await audit_entries(browser.client))[-1]
    assert (audited.action, audited.outcome) == (AuditAction.COMPLIANCE_READ, AuditOutcome.REFUSED)


async def test_the_vendors_shares_of_each_institution_in_a_chart_and_a_table(
    browser: PageBrowser, people: dict[str, str]
) -> None:
    await sign_in_as_supervisor(browser)

    page = await browser.get("/console/vendor-share?year=2021")

    assert page.status == 200
    # 张伟 and 欧阳娜娜: 42.50 hours from ischinese and 100.00 from webtrn.
    assert cells(page, "长沙市中心医院") == [
        "2",
        "142.50",
        "42.50（29.82%）",
        "100.00（70.18%）",
        "0.00（0.00%）",
        "—",
        "—",
    ]
    # 赵敏's 30 hours from hnou (continuing education is not online): one vendor over 90 %, but of one person.
    assert cells(page, "浏阳市人民医院") == [
        "1",
        "30.00",
        "0.00（0.00%）",
        "0.00（0.00%）",
        "30.00（100.00%）",
        "湖南开放大学",
        "—",
    ]
    assert cells(page, "长沙市第一中学") == ["0", "0.00", "0.00（—）", "0.00（—）", "0.00（—）", "—", "—"]
    ischinese_end = BAR_WIDTH * 4250 // 14250
    hospital = {title: box for title, box in segments(page).items() if title.startswith("长沙市中心医院")}
    assert hospital == {
        "长沙市中心医院：思想天下 42.50学时（29.82%）": (0, ischinese_end),
        "长沙市中心医院：网梯 100.00学时（70.18%）": (ischinese_end, BAR_WIDTH - ischinese_end),
    }
    assert f'<line x1="{BAR_WIDTH * 9 // 10}"' in page.text


async def test_an_institution_where_one_vendor_gives_over_90_percent_is_flagged(browser: PageBrowser) -> None:
    for sequence in range(10, 30):
        person = await enrol(browser.client, sequence, "430181-0001")
        await record(browser.client, credit(person, f"x-{sequence}", "ischinese:XJP-2021-01", "public", "5"))
    await sign_in_as_supervisor(browser)

    page = await browser.get("/console/vendor-share?unit=430181-0001&year=2021")

    assert cells(page, "浏阳市人民医院") == [
        "20",
        "100.00",
        "100.00（100.00%）",
        "0.00（0.00%）",
        "0.00（0.00%）",
        "思想天下",
        "已标记",
    ]


async def test_feedback_in_the_scope_is_answered_through_the_form(browser: PageBrowser, people: dict[str, str]) -> None:
    desk = browser.hub.supervision.feedback
    ours = await desk.submit(
        PersonId(people["zhang"]), "430100-0001", {"subject": "<script>x()</script>培训", "text": "签到后不计学时"}
    )
    theirs = await desk.submit(PersonId(people["chen"]), "430200-0001", {"subject": "株洲的反馈", "text": "别处"})
    await sign_in_as_supervisor(browser)

    listed = await browser.get("/console/feedback")
    assert listed.status == 200
    assert "<script>x()" not in listed.text
    assert "&lt;script&gt;x()&lt;/script&gt;培训" in listed.text
    assert "株洲的反馈" not in listed.text
    path = f"/console/feedback/{ours.id}/answer"

    without_token = await browser.post(path, {"text": "已核实"})
    blank = await browser.submit(path, {"text": "  "}, page="/console/feedback")
    outside = await browser.submit(f"/console/feedback/{theirs.id}/answer", {"text": "x"}, page="/console/feedback")
    answered = await browser.submit(path, {"text": "已核实，学时已补录"}, page="/console/feedback")
    again = await browser.post(path, {"text": "再次答复", "csrf_token": listed.form_token()})

    assert without_token.status == 403
    assert blank.status == 422
    assert blank.error_of(f"answer-{ours.id}") == "请填写答复（1至2000个字符）"
    assert outside.status == 404
    assert (answered.status, answered.location) == (303, "/console/feedback?status=answered&done=answered")
    assert again.status == 409
    assert (await desk.get(theirs.id)).status is FeedbackStatus.OPEN
    kept = await desk.get(ours.id)
    assert kept.answer is not None
    assert kept.answer.text == "已核实，学时已补录"
    shown = await browser.get(answered.location)
    assert "答复已发送" in shown.text
    assert '<dd class="answer">已核实，学时已补录</dd>' in shown.text
    assert [
        (entry.action, entry.outcome)
        for entry in await audit_entries(browser.client)
        if entry.action is AuditAction.FEEDBACK_ANSWERED
    ] == [
        (AuditAction.FEEDBACK_ANSWERED, AuditOutcome.REFUSED),
        (AuditAction.FEEDBACK_ANSWERED, AuditOutcome.DENIED),
        (AuditAction.FEEDBACK_ANSWERED, AuditOutcome.SUCCEEDED),
        (AuditAction.FEEDBACK_ANSWERED, AuditOutcome.REFUSED),
    ]


async def test_a_province_wide_report_is_paged_and_its_chart_shows_the_page(browser: PageBrowser) -> None:
    organisation = await browser.hub.organisation.organisation()
    report = report_for(organisation, Scope(ScopeKind.DEPARTMENT, "430000-personnel"), "430000-personnel")
    assert report is not None
    units = len(report.regions) + len(report.institutions)
    pages = -(-units // UNITS_PER_PAGE)
    await sign_in_as_supervisor(browser, "430000-personnel")

    seen: list[str] = []
    path: str | None = "/console/compliance?year=2021"
    while path is not None:
        page = await browser.get(unescape(path))
        assert page.status == 200
        names = re.findall(r'<th scope="row"><a href="[^"]*">([^<]*)</a></th>', page.text)
        assert len(bar_labels(page)) == len(names) + 1  # the whole unit's bar, then one a row of the page
        seen += names
        found = re.search(r'<a href="([^"]*)" rel="next">', page.text)
        path = None if found is None else found[1]
    assert len(seen) == units
    assert f"第 {pages} / {pages} 页（共 {units} 条）" in page.text
    for bad_cursor in ("/console/compliance/short?year=2021&cursor=bm90LWEtY3Vyc29y", "/console/vendor-share?cursor=!"):
        assert (await browser.get(bad_cursor)).status == 404
    # A cursor no page gave is the not-found page, as on the console's other lists, not a failed read.
    assert AuditOutcome.FAILED not in {entry.outcome for entry in await audit_entries(browser.client)}


def bar_labels(answer: Answer) -> list[str]:
    """The labels of the chart's bars."""
    return re.findall(r'<g>\s*<text x="0" y="\d+">([^<]*)</text>', answer.text)
