"""The console's offline filings, on SQLite and PostgreSQL: the department's supervisor signs in with
their token, approves one filing and rejects another with a reason, as the API's rules allow; an
operator sees every filing waiting and decides none; no form token, no reason, a second decision and
staff are refused; every read and decision is audited as the API audits it."""

from __future__ import annotations

import re

from sso.access.model import AuditAction, AuditOutcome, Role, Target, TargetKind
from trainings.offline import Filing, FilingStatus

from ...trainings.forms import filing_form
from ..access_support import audit_entries, new_token
from .support import Answer, PageBrowser
from .test_console_pages import page_error, sign_in

HEALTH = "430100-health"


async def file_training(browser: PageBrowser, **changes: object) -> Filing:
    hub = browser.hub
    return await hub.offline_trainings.file(filing_form(**changes), await hub.organisation.organisation(), "operator:1")


async def form_token(browser: PageBrowser) -> str:
    """This browser's and console session's form token, from a page that has a form whatever the role."""
    return (await browser.get("/console/logout")).form_token()


def decision_forms(answer: Answer) -> list[str]:
    return re.findall(r'action="/console/filings/([A-Z0-9-]+)/(?:approval|rejection)(?:\?cursor=\d+)?"', answer.text)


async def test_the_departments_supervisor_approves_and_rejects_filings_on_the_page(browser: PageBrowser) -> None:
    first = await file_training(browser, training_name="心血管疾病诊疗新进展 <i>培训班</i>")
    second = await file_training(browser, training_name="护理质量管理培训班")
    secret = await new_token(browser.client, Role.SUPERVISOR, department=HEALTH)

    # A supervisor lands on compliance; sent to sign in from the filings, they go back there.
    signed_in = await browser.submit("/console/login", {"token": secret, "next": "/console/filings"})
    assert (signed_in.status, signed_in.location) == (303, "/console/filings")
    page = await browser.get(signed_in.location)
    assert page.status == 200
    assert f"{first.number}：心血管疾病诊疗新进展 &lt;i&gt;培训班&lt;/i&gt;" in page.text
    assert page.text.index(second.number) < page.text.index(first.number)  # newest first
    assert sorted(set(decision_forms(page))) == sorted([first.number, second.number])
    assert '<a href="/console/filings" aria-current="page">线下培训审批</a>' in page.text
    assert 'href="/console/reconciliations"' not in page.text  # the operators' pages are not a supervisor's
    assert filing_form()["contact_phone"] not in page.text  # masked

    approved = await browser.submit(f"/console/filings/{first.number}/approval", {}, page="/console/filings")
    assert (approved.status, approved.location) == (303, "/console/filings?done=approved")
    no_reason = await browser.submit(
        f"/console/filings/{second.number}/rejection", {"reason": "  "}, page="/console/filings"
    )
    assert no_reason.status == 422
    assert no_reason.error_of("reason") == "请填写驳回理由（1至500个字符）"
    rejected = await browser.submit(
        f"/console/filings/{second.number}/rejection", {"reason": "培训计划不完整"}, page="/console/filings"
    )
    assert (rejected.status, rejected.location) == (303, "/console/filings?done=rejected")
    # Nothing waits now, so no form is left on the page: the token of the page before still holds.
    again = await browser.post(
        f"/console/filings/{first.number}/rejection", {"reason": "迟了", "csrf_token": page.form_token()}
    )
    assert again.status == 409
    assert "已经审批过" in page_error(again)

    after = await browser.get("/console/filings?done=rejected")
    assert "已驳回该线下培训备案。" in after.text
    assert "没有待审批的线下培训备案。" in after.text
    offline = browser.hub.offline_trainings
    assert (await offline.filing(first.number)).status is FilingStatus.APPROVED
    decided = await offline.filing(second.number)
    assert (decided.status, decided.reason) == (FilingStatus.REJECTED, "培训计划不完整")
    assert decided.decided_by is not None
    assert decided.decided_by.startswith("supervisor:")

    entries = await audit_entries(browser.client)
    approvals = [entry for entry in entries if entry.action is AuditAction.OFFLINE_TRAINING_APPROVED]
    assert [(entry.outcome, entry.target) for entry in approvals] == [
        (AuditOutcome.SUCCEEDED, Target(TargetKind.OFFLINE_TRAINING, first.number))
    ]
    rejections = [entry for entry in entries if entry.action is AuditAction.OFFLINE_TRAINING_REJECTED]
    assert [(entry.outcome, entry.details.get("error")) for entry in rejections] == [
        (AuditOutcome.REFUSED, "filing_invalid"),
        (AuditOutcome.SUCCEEDED, None),
        (AuditOutcome.REFUSED, "filing_already_decided"),
    ]
    reads = [entry for entry in entries if entry.action is AuditAction.OFFLINE_TRAINING_READ]
    assert reads
    assert {entry.target for entry in reads} == {Target(TargetKind.OFFLINE_TRAINING, "all")}


async def test_a_decision_without_the_form_token_is_refused_and_decides_nothing(browser: PageBrowser) -> None:
    filing = await file_training(browser)
    secret = await new_token(browser.client, Role.SUPERVISOR, department=HEALTH)
    assert (await sign_in(browser, secret)).status == 303
    before_sign_in = "x" * 43
    for fields in ({}, {"csrf_token": before_sign_in}):
        assert (await browser.post(f"/console/filings/{filing.number}/approval", fields)).status == 403
        rejection = await browser.post(f"/console/filings/{filing.number}/rejection", {**fields, "reason": "否"})
        assert rejection.status == 403
    assert (await browser.hub.offline_trainings.filing(filing.number)).status is FilingStatus.FILED


async def test_an_operator_sees_every_filing_waiting_and_decides_none(browser: PageBrowser) -> None:
    professional = await file_training(browser)
    public = await file_training(browser, subject="public", training_name="公需科目专题培训")
    secret = await new_token(browser.client, Role.OPERATOR)
    assert (await sign_in(browser, secret)).status == 303

    page = await browser.get("/console/filings")
    assert page.status == 200
    assert professional.number in page.text
    assert public.number in page.text
    assert decision_forms(page) == []
    assert '<a href="/console/filings" aria-current="page">线下培训</a>' in page.text
    tried = await browser.post(
        f"/console/filings/{professional.number}/approval", {"csrf_token": await form_token(browser)}
    )
    assert tried.status == 404
    assert (await browser.hub.offline_trainings.filing(professional.number)).status is FilingStatus.FILED
    approvals = [
        entry.outcome
        for entry in await audit_entries(browser.client)
        if entry.action is AuditAction.OFFLINE_TRAINING_APPROVED
    ]
    assert approvals == [AuditOutcome.DENIED]


async def test_another_departments_supervisor_sees_none_and_cannot_decide(browser: PageBrowser) -> None:
    filing = await file_training(browser)  # professional: the health department's
    secret = await new_token(browser.client, Role.SUPERVISOR, department="430100-personnel")
    assert (await sign_in(browser, secret)).status == 303
    page = await browser.get("/console/filings")
    assert filing.number not in page.text
    tried = await browser.post(f"/console/filings/{filing.number}/approval", {"csrf_token": await form_token(browser)})
    assert tried.status == 404
    assert (await browser.get("/console")).status == 404  # nor the operators' pages


async def test_filings_are_paged(browser: PageBrowser) -> None:
    filings = [await file_training(browser, training_name=f"培训班{index}") for index in range(23)]
    secret = await new_token(browser.client, Role.SUPERVISOR, department=HEALTH)
    assert (await sign_in(browser, secret)).status == 303
    first = await browser.get("/console/filings")
    shown = set(decision_forms(first))
    assert len(shown) == 20
    next_url = re.search(r'<a href="([^"]+)" rel="next">', first.text)
    assert next_url is not None
    second = await browser.get(next_url[1].replace("&amp;", "&"))
    assert set(decision_forms(second)) == {filing.number for filing in filings} - shown
    assert 'rel="next"' not in second.text
    for cursor in ("abc", "0", "99999999999999999999"):
        assert (await browser.get(f"/console/filings?cursor={cursor}")).status == 404

    # A decision made on the second page comes back to it, refused or done.
    page_two = next_url[1].replace("&amp;", "&")
    cursor = page_two.partition("cursor=")[2]
    number = sorted(set(decision_forms(second)))[0]
    assert f'action="/console/filings/{number}/rejection?cursor={cursor}"' in second.text
    rejection = f"/console/filings/{number}/rejection?cursor={cursor}"
    refused = await browser.submit(rejection, {"reason": ""}, page=page_two)
    assert refused.status == 422
    assert set(decision_forms(refused)) == set(decision_forms(second))
    approved = await browser.submit(f"/console/filings/{number}/approval?cursor={cursor}", {}, page=page_two)
    assert (approved.status, approved.location) == (303, f"/console/filings?done=approved&cursor={cursor}")


async def test_staff_get_404_on_the_filings(browser: PageBrowser) -> None:
    filing = await file_training(browser)
    assert (await browser.register()).status == 303
    assert (await browser.log_in()).status == 303
    assert (await browser.get("/console/filings")).status == 404
    token = (await browser.get("/logout")).form_token()
    assert (await browser.post(f"/console/filings/{filing.number}/approval", {"csrf_token": token})).status == 404
