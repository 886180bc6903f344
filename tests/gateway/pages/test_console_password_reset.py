"""The console's one-time password-reset links, on SQLite and PostgreSQL: an operator finds a person
by ID number and issues a link that the page shows once, which sets a new password once; the link
and the ID number reach no log and no audit entry; staff and other roles get 404."""

from __future__ import annotations

import re
from html import unescape

import pytest

from sso.access.model import AuditAction, AuditOutcome, Role, Target
from sso.id_numbers import mask_id_number, normalise_id_number

from ...sso.people.forms import ID_NUMBER
from ..access_support import audit_entries, new_token
from .support import PageBrowser
from .test_console_pages import sign_in

NEW_PASSWORD = "battery9staple"
RESET_LINK = re.compile(r'<p class="reset-link" id="reset-link">([^<]+)</p>')


async def test_an_operator_issues_a_link_that_works_once(
    browser: PageBrowser, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (await browser.register()).status == 303
    person_id = await browser.hub.people.find_by_id_number(ID_NUMBER)
    assert person_id is not None
    browser.client.session.cookie_jar.clear()
    secret = await new_token(browser.client, Role.OPERATOR)
    assert (await sign_in(browser, secret)).status == 303

    found = await browser.submit("/console/password-reset", {"id_number": f" {ID_NUMBER.lower()} "})
    assert found.status == 200
    assert mask_id_number(normalise_id_number(ID_NUMBER)) in found.text
    assert ID_NUMBER not in found.text
    assert f'action="/console/people/{person_id}/password-reset"' in found.text
    issued = await browser.post(f"/console/people/{person_id}/password-reset", {"csrf_token": found.form_token()})
    assert issued.status == 200
    assert issued.headers["Cache-Control"] == "no-store"
    shown = RESET_LINK.search(issued.text)
    assert shown is not None, issued.text
    url = unescape(shown[1])
    base_url = browser.hub.settings.hub.base_url
    assert url.startswith(f"{base_url}/password-reset#token=")
    token = url.partition("#token=")[2]
    assert "生成一次性重置链接</button>" not in issued.text  # issued: no second button on this page

    browser.client.session.cookie_jar.clear()
    fields = {"token": token, "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD}
    used = await browser.submit("/password-reset", fields)
    assert (used.status, used.location) == (303, "/login?done=reset")
    assert await browser.hub.people.authenticate(ID_NUMBER, NEW_PASSWORD) == person_id
    again = await browser.submit("/password-reset", fields)
    assert again.status == 410

    entries = await audit_entries(browser.client)
    issues = [entry for entry in entries if entry.action is AuditAction.PASSWORD_RESET_ISSUED]
    assert [(entry.outcome, entry.target) for entry in issues] == [(AuditOutcome.SUCCEEDED, Target.person(person_id))]
    reads = [entry for entry in entries if entry.action is AuditAction.PERSON_READ]
    assert [(entry.outcome, entry.target) for entry in reads] == [(AuditOutcome.SUCCEEDED, Target.person(person_id))]
    recorded = capsys.readouterr()
    for text in (token, ID_NUMBER):
        assert text not in recorded.out + recorded.err
        assert all(text not in str(entry) for entry in entries)


async def test_a_wrong_or_unknown_id_number_stands_beside_the_field(browser: PageBrowser) -> None:
    secret = await new_token(browser.client, Role.OPERATOR)
    assert (await sign_in(browser, secret)).status == 303
    invalid = await browser.submit("/console/password-reset", {"id_number": "43010219900307124"})
    assert invalid.status == 422
    assert invalid.error_of("id_number") == "请填写有效的18位居民身份证号码（最后一位可以是X）"
    unknown = await browser.submit("/console/password-reset", {"id_number": ID_NUMBER})
    assert unknown.status == 404
    assert unknown.error_of("id_number") == "没有使用该身份证号注册的人员，请核对后重试。"
    no_one = await browser.submit(
        "/console/people/0123456789abcdef0123456789abcdef/password-reset", {}, page="/console/password-reset"
    )
    assert no_one.status == 404
    issues = [
        (entry.outcome, entry.details.get("reason"))
        for entry in await audit_entries(browser.client)
        if entry.action in {AuditAction.PERSON_READ, AuditAction.PASSWORD_RESET_ISSUED}
    ]
    assert issues == [(AuditOutcome.DENIED, "unknown_person"), (AuditOutcome.DENIED, "unknown_person")]


async def test_staff_supervisors_and_forms_without_a_token_are_refused(browser: PageBrowser) -> None:
    assert (await browser.register()).status == 303
    person_id = await browser.hub.people.find_by_id_number(ID_NUMBER)
    assert (await browser.log_in()).status == 303
    assert (await browser.get("/console/password-reset")).status == 404
    browser.client.session.cookie_jar.clear()

    supervisor = await new_token(browser.client, Role.SUPERVISOR, department="430100-health")
    assert (await sign_in(browser, supervisor)).status == 303
    assert (await browser.get("/console/password-reset")).status == 404
    browser.client.session.cookie_jar.clear()

    operator = await new_token(browser.client, Role.OPERATOR)
    assert (await sign_in(browser, operator)).status == 303
    refused = await browser.post(f"/console/people/{person_id}/password-reset", {})
    assert refused.status == 403
    assert not [
        entry for entry in await audit_entries(browser.client) if entry.action is AuditAction.PASSWORD_RESET_ISSUED
    ]
