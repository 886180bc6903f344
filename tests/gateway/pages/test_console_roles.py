"""One sign-in page for operators, supervisors and auditors, on SQLite and PostgreSQL: each role lands on its
own first page, its navigation shows its own pages, it opens them, and it gets 404 on the others' pages;
a member of staff gets 404 on all of them, and a browser without a console session the sign-in page."""

from __future__ import annotations

import re
from typing import Final

import pytest

from sso.access.model import Role

from ..access_support import new_token
from .support import PageBrowser

PAGES: Final = {
    Role.OPERATOR: ("/console", "/console/reconciliations", "/console/discrepancies", "/console/quarantine"),
    Role.SUPERVISOR: ("/console/compliance", "/console/compliance/short", "/console/vendor-share", "/console/feedback"),
    Role.AUDITOR: ("/console/exports", "/console/verification"),
}
FORMS: Final = {
    Role.OPERATOR: ("/console/reconciliations", "/console/discrepancies/1/resolve", "/console/quarantine/1/reject"),
    Role.SUPERVISOR: ("/console/feedback/1/answer",),
    Role.AUDITOR: ("/console/exports", "/console/verification"),
}
MENUS: Final = {
    Role.OPERATOR: ("/console", "/console/reconciliations", "/console/discrepancies", "/console/quarantine"),
    Role.SUPERVISOR: ("/console/compliance", "/console/vendor-share", "/console/feedback"),
    Role.AUDITOR: ("/console/exports", "/console/verification"),
}
LANDING: Final = {
    Role.OPERATOR: "/console?done=signed_in",
    Role.SUPERVISOR: "/console/compliance?done=signed_in",
    Role.AUDITOR: "/console/exports?done=signed_in",
}


def navigation(text: str) -> list[str]:
    found = re.search(r'<nav aria-label="主导航">(.*?)</nav>', text, re.S)
    assert found is not None, text
    return re.findall(r'<a href="([^"]+)"', found[1])


@pytest.mark.parametrize("role", list(Role))
async def test_each_role_lands_on_its_own_pages_and_gets_404_on_the_others(browser: PageBrowser, role: Role) -> None:
    secret = await new_token(browser.client, role, department="430100-personnel" if role is Role.SUPERVISOR else None)

    # Sent to sign in from the console's front door, each role goes on to its own first page.
    signed_in = await browser.submit("/console/login", {"token": secret, "next": "/console"})

    assert (signed_in.status, signed_in.location) == (303, LANDING[role].partition("?")[0])
    landing = await browser.get(signed_in.location)
    assert landing.status == 200
    links = navigation(landing.text)
    assert set(MENUS[role]) | {"/console/logout"} <= set(links)
    assert not set(links) & {path for other, paths in PAGES.items() if other is not role for path in paths}
    token = (await browser.get("/console/logout")).form_token()
    for other, paths in PAGES.items():
        for path in paths:
            assert (await browser.get(path)).status == (200 if other is role else 404), path
    for other, paths in FORMS.items():
        if other is not role:
            for path in paths:
                assert (await browser.post(path, {"csrf_token": token})).status == 404, path


async def test_staff_get_404_and_a_browser_without_a_console_session_the_sign_in_page(browser: PageBrowser) -> None:
    everything = [path for paths in PAGES.values() for path in paths]
    for path in everything:
        answer = await browser.get(path)
        assert (answer.status, answer.location.split("?")[0]) == (303, "/console/login"), path
    assert (await browser.register()).status == 303
    assert (await browser.log_in()).status == 303
    for path in everything:
        assert (await browser.get(path)).status == 404, path
