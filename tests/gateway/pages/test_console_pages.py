"""The operators' console pages, on SQLite and PostgreSQL: signing in with a bearer token and out,
the form token, 404 for anyone but operators, escaping, and the reconciliation and quarantine forms
against the ischinese simulator, audited as the API audits."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from html import unescape
from pathlib import Path

import httpx
import pytest

from gateway.sessions import CONSOLE_COOKIE
from ledger.reconciliation.model import Discrepancy, DiscrepancyQuery, DiscrepancyStatus
from sso.access.model import AuditAction, AuditOutcome, Role

from ..access_support import Client, ClientMaker, audit_entries, new_token, register, serve_hub
from ..reconciliation_support import ServerMaker, Vendors, finished_run, seed_ischinese, serve_vendors, with_vendors
from .support import Answer, PageBrowser


def console_cookie(browser: PageBrowser) -> str | None:
    return next((cookie.value for cookie in browser.client.session.cookie_jar if cookie.key == CONSOLE_COOKIE), None)


async def sign_in(browser: PageBrowser, secret: str) -> Answer:
    return await browser.submit("/console/login", {"token": secret})


def page_error(answer: Answer) -> str:
    """The error summary's text."""
    found = re.search(r'<div class="error-summary".*?</div>', answer.text, re.DOTALL)
    assert found is not None, answer.text
    return unescape(re.sub(r"<[^>]+>", "", found[0]))


async def test_an_operator_signs_in_with_their_token_sees_the_vendors_and_signs_out(browser: PageBrowser) -> None:
    before = await browser.get("/console/reconciliations")
    assert (before.status, before.location) == (303, "/console/login?next=/console/reconciliations")
    secret = await new_token(browser.client, Role.OPERATOR)

    signed_in = await browser.post(
        "/console/login",
        {
            "token": secret,
            "next": "/console/reconciliations",
            "csrf_token": (await browser.get(before.location)).form_token(),
        },
    )
    assert (signed_in.status, signed_in.location) == (303, "/console/reconciliations")
    set_cookie = signed_in.headers["Set-Cookie"]
    assert "HttpOnly" in set_cookie
    assert "SameSite=Strict" in set_cookie
    assert "Path=/console" in set_cookie
    assert secret not in set_cookie  # sealed, never the token itself

    dashboard = await browser.get("/console")
    assert dashboard.status == 200
    assert re.search(r"<th scope=\"row\">思想天下（ischinese）</th>\s*<td>是</td>", dashboard.text)
    assert re.search(r"<th scope=\"row\">网梯（webtrn）</th>\s*<td>否</td>", dashboard.text)

    signed_out = await browser.submit("/console/logout", {})
    assert (signed_out.status, signed_out.location) == (303, "/console/login")
    assert console_cookie(browser) is None
    assert (await browser.get("/console")).status == 303
    actions = [(entry.action, entry.outcome) for entry in await audit_entries(browser.client)]
    assert actions == [
        (AuditAction.CONSOLE_SIGNED_IN, AuditOutcome.SUCCEEDED),
        (AuditAction.CONSOLE_SIGNED_OUT, AuditOutcome.SUCCEEDED),
    ]


async def test_an_unknown_token_and_a_revoked_one_are_refused_alike(browser: PageBrowser) -> None:
    revoked = await new_token(browser.client, Role.OPERATOR)
    tokens = browser.hub.access.tokens
    await tokens.revoke((await tokens.authenticate(revoked)).id)
    unknown = await sign_in(browser, "hub_" + "x" * 40)
    refused = await sign_in(browser, revoked)
    assert unknown.status == refused.status == 401
    assert page_error(unknown) == page_error(refused)
    assert console_cookie(browser) is None
    blank = await sign_in(browser, "  ")
    assert blank.status == 422
    assert AuditAction.CONSOLE_SIGNED_IN not in [entry.action for entry in await audit_entries(browser.client)]


async def test_a_revoked_token_ends_the_console_session(browser: PageBrowser) -> None:
    secret = await new_token(browser.client, Role.OPERATOR)
    assert (await sign_in(browser, secret)).status == 303
    assert (await browser.get("/console")).status == 200
    tokens = browser.hub.access.tokens
    await tokens.revoke((await tokens.authenticate(secret)).id)
    assert (await browser.get("/console")).status == 303


async def test_staff_and_other_roles_sessions_get_404(browser: PageBrowser) -> None:
    assert (await browser.register()).status == 303
    assert (await browser.log_in()).status == 303
    for path in ("/console", "/console/reconciliations", "/console/discrepancies", "/console/quarantine"):
        assert (await browser.get(path)).status == 404, path

    auditor = await new_token(browser.client, Role.AUDITOR)
    sealed = browser.hub.keyring.encrypt(
        json.dumps({"token": auditor, "signed_in_at": time.time()}), context="console.session"
    )
    browser.client.session.cookie_jar.clear()
    browser.client.session.cookie_jar.update_cookies({CONSOLE_COOKIE: sealed}, browser.client.make_url("/console"))
    answer = await browser.get("/console")
    assert answer.status == 404
    assert "运行概况" not in answer.text


async def test_a_form_without_this_sessions_token_is_refused_and_starts_nothing(browser: PageBrowser) -> None:
    secret = await new_token(browser.client, Role.OPERATOR)
    before_sign_in = (await browser.get("/console/login")).form_token()
    assert (await sign_in(browser, secret)).status == 303
    for fields in (
        {"vendor": "ischinese", "year": "2021"},
        {"vendor": "ischinese", "year": "2021", "csrf_token": before_sign_in},
    ):
        refused = await browser.post("/console/reconciliations", fields)
        assert refused.status == 403
    assert await browser.hub.reconciliations.recent_runs() == ()
    assert AuditAction.RECONCILIATION_STARTED not in [entry.action for entry in await audit_entries(browser.client)]


async def test_what_is_typed_comes_back_escaped_with_the_422(browser: PageBrowser) -> None:
    secret = await new_token(browser.client, Role.OPERATOR)
    assert (await sign_in(browser, secret)).status == 303
    answer = await browser.submit("/console/reconciliations", {"vendor": "ischinese", "year": '"><script>x()</script>'})
    assert answer.status == 422
    assert "<script>x()" not in answer.text
    assert 'value="&#34;&gt;&lt;script&gt;x()&lt;/script&gt;"' in answer.text
    assert "培训年度" in page_error(answer)


# ---------------------------------------------------------------- against the ischinese simulator


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
async def vendors(aiohttp_server: ServerMaker, http: httpx.AsyncClient) -> Vendors:
    return await serve_vendors(aiohttp_server, http)


@pytest.fixture
async def client(aiohttp_client: ClientMaker, settings_file: Path, database_url: str, vendors: Vendors) -> Client:
    client = await serve_hub(aiohttp_client, with_vendors(settings_file, vendors), database_url)
    vendors.point_at(str(client.make_url("")).rstrip("/"))
    return client


async def test_an_operator_reconciles_resolves_and_decides_held_records_on_the_pages(
    client: Client, vendors: Vendors
) -> None:
    staff = await register(client, 1, "430100-0001")
    await seed_ischinese(client, vendors, staff)
    secret = await new_token(client, Role.OPERATOR)
    browser = PageBrowser(client)
    assert (await sign_in(browser, secret)).status == 303

    started = await browser.submit("/console/reconciliations", {"vendor": "ischinese", "year": "2021"})
    assert (started.status, started.location) == (303, "/console/reconciliations?done=started")
    (run,) = await browser.hub.reconciliations.recent_runs()
    await finished_run(client, secret, run.id)
    assert "已完成" in (await browser.get("/console/reconciliations")).text

    open_page = await browser.get("/console/discrepancies")
    lost = next(item for item in await _open(browser) if item.record_id == "c-lost")
    assert f"差异 {lost.id}：台账缺少" in open_page.text

    unfitting = await browser.submit(
        f"/console/discrepancies/{lost.id}/resolve", {"action": "reverse", "reason": "x"}, page="/console/discrepancies"
    )
    assert unfitting.status == 422
    assert "处理方式" in page_error(unfitting)
    resolved = await browser.submit(
        f"/console/discrepancies/{lost.id}/resolve",
        {"action": "ingest", "reason": "webhook 丢失 <b>补录</b>"},
        page="/console/discrepancies",
    )
    assert (resolved.status, resolved.location) == (303, "/console/discrepancies?status=resolved&done=resolved")
    shown = await browser.get(resolved.location)
    assert f"差异 {lost.id}：台账缺少" in shown.text
    assert "webhook 丢失 &lt;b&gt;补录&lt;/b&gt;" in shown.text
    again = await browser.submit(
        f"/console/discrepancies/{lost.id}/resolve",
        {"action": "ingest", "reason": "再次"},
        page="/console/discrepancies",
    )
    assert again.status == 409
    assert "已经处理过" in page_error(again)
    assert (
        await browser.submit("/console/discrepancies/0/resolve", {"action": "ingest"}, page="/console/discrepancies")
    ).status == 404

    held = await browser.get("/console/quarantine")
    held_ids = re.findall(r'action="/console/quarantine/(\d+)/reject"', held.text)
    assert held_ids, held.text
    held_id = held_ids[0]
    still_unknown = await browser.submit(
        f"/console/quarantine/{held_id}/release", {"reason": ""}, page="/console/quarantine"
    )
    assert still_unknown.status == 422
    assert "仍未在平台注册" in page_error(still_unknown)
    no_reason = await browser.submit(
        f"/console/quarantine/{held_id}/reject", {"reason": ""}, page="/console/quarantine"
    )
    assert no_reason.status == 422
    rejected = await browser.submit(
        f"/console/quarantine/{held_id}/reject", {"reason": "非本平台学员"}, page="/console/quarantine"
    )
    assert (rejected.status, rejected.location) == (303, "/console/quarantine?done=rejected")
    assert f"/console/quarantine/{held_id}/reject" not in (await browser.get("/console/quarantine")).text

    audited = [(entry.action, entry.outcome) for entry in await audit_entries(client)]
    assert (AuditAction.RECONCILIATION_STARTED, AuditOutcome.SUCCEEDED) in audited
    resolutions = [outcome for action, outcome in audited if action is AuditAction.DISCREPANCY_RESOLVED]
    assert resolutions == [AuditOutcome.REFUSED, AuditOutcome.SUCCEEDED, AuditOutcome.REFUSED, AuditOutcome.DENIED]
    rejections = [outcome for action, outcome in audited if action is AuditAction.HELD_RECORD_REJECTED]
    assert rejections == [AuditOutcome.REFUSED, AuditOutcome.SUCCEEDED]
    entry = next(
        entry
        for entry in await audit_entries(client)
        if entry.action is AuditAction.DISCREPANCY_RESOLVED and entry.outcome is AuditOutcome.SUCCEEDED
    )
    assert dict(entry.details) == {"vendor": "ischinese", "kind": "missing_in_ledger", "action": "ingest", "entries": 1}


async def _open(browser: PageBrowser) -> tuple[Discrepancy, ...]:
    page = await browser.hub.reconciliations.discrepancies(DiscrepancyQuery(status=DiscrepancyStatus.OPEN, limit=50))
    return page.items
