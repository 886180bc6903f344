"""What protects every page: the form token on every POST, the security headers and policy on every
page, and escaping of what people typed. Through an aiohttp test server on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.pages import messages, staff, training
from gateway.pages.rendering import FORM_COOKIE

from ...sso.people.forms import ID_NUMBER, PASSWORD
from ..access_support import ClientMaker
from .support import Answer, PageBrowser, scripts_without_nonce

STAFF_PATHS = {**staff.openapi_paths, **training.openapi_paths, **messages.openapi_paths}
FORM_POSTS = sorted(path for path, item in STAFF_PATHS.items() if "post" in item)  # type: ignore[operator]
PAGES = sorted(path for path, item in STAFF_PATHS.items() if "get" in item)  # type: ignore[operator]
STAFF_PAGES = [path for path in PAGES if path.startswith("/me")]


# ---------------------------------------------------------------- the form token


def test_every_form_of_the_staff_pages_is_checked_below() -> None:
    expected = [
        *("/login", "/logout", "/me/certificates", "/me/feedback", "/me/messages/{message_id}/read"),
        *("/me/password", "/me/profile", "/password-reset", "/register"),
    ]
    assert expected == FORM_POSTS


@pytest.mark.parametrize("path", FORM_POSTS)
async def test_a_form_without_its_token_is_refused_and_changes_nothing(browser: PageBrowser, path: str) -> None:
    await browser.register()
    await browser.log_in()
    await browser.get("/me")  # the browser has its form cookie
    fields = {"id_number": ID_NUMBER, "password": PASSWORD, "name": "改名", "subject": "主题", "text": "内容"}

    refused = await browser.post(path.format(message_id=1), {**fields, "year": "2021", "entry_ids": "1"})

    assert refused.status == 403
    assert refused.headers["Content-Type"].startswith("text/html")
    assert "页面已过期" in refused.text
    assert "Content-Security-Policy" in refused.headers
    assert browser.signed_in()
    assert (await browser.get("/me")).status == 200  # still signed in: the logout form did nothing
    person_id = await browser.hub.people.find_by_id_number(ID_NUMBER)
    assert person_id is not None
    assert (await browser.hub.people.get(person_id)).name == "王芳"  # the profile form did nothing
    assert await browser.hub.supervision.feedback.all_of(person_id) == []  # the feedback form did nothing


async def test_a_token_of_another_browser_is_refused(
    browser: PageBrowser, aiohttp_client: ClientMaker, settings_file: Path
) -> None:
    await browser.register()
    other = PageBrowser(await aiohttp_client(browser.client.server))
    stolen = (await other.get("/login")).form_token()
    await browser.get("/login")

    refused = await browser.post("/login", {"id_number": ID_NUMBER, "password": PASSWORD, "csrf_token": stolen})

    assert refused.status == 403
    assert not browser.signed_in()
    await other.client.close()


async def test_a_token_from_before_signing_in_is_refused_after(browser: PageBrowser) -> None:
    await browser.register()
    before = (await browser.get("/login")).form_token()
    await browser.log_in()

    refused = await browser.post("/logout", {"csrf_token": before})
    after = (await browser.get("/logout")).form_token()

    assert refused.status == 403
    assert after != before  # the token follows the session
    assert (await browser.post("/logout", {"csrf_token": after})).status == 303


async def test_a_form_without_the_browsers_cookie_is_refused(browser: PageBrowser) -> None:
    token = (await browser.get("/login")).form_token()
    browser.client.session.cookie_jar.clear(lambda cookie: cookie.key == FORM_COOKIE)

    refused = await browser.post("/login", {"id_number": ID_NUMBER, "password": PASSWORD, "csrf_token": token})

    assert refused.status == 403


async def test_the_form_cookie_is_httponly_and_samesite_lax(browser: PageBrowser) -> None:
    page = await browser.get("/login")

    cookie = page.headers["Set-Cookie"]
    assert cookie.startswith(f"{FORM_COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Path=/" in cookie


async def test_a_form_that_is_not_a_form_or_too_large_is_refused(browser: PageBrowser) -> None:
    token = (await browser.get("/login")).form_token()

    as_json = await browser.client.post("/login", json={"id_number": ID_NUMBER, "csrf_token": token})
    too_large = await browser.post("/login", {"csrf_token": token, "id_number": "1" * 20_000})

    assert as_json.status == 400
    assert too_large.status == 413
    assert "Content-Security-Policy" in too_large.headers


# ---------------------------------------------------------------- headers and policy on every page


def _assert_protected(path: str, answer: Answer) -> None:
    headers = answer.headers
    assert headers["Content-Type"].startswith("text/html"), path
    policy = answer.policy()
    assert policy["default-src"] == "'self'", path
    assert policy["frame-ancestors"] == "'none'", path
    assert policy["form-action"] == "'self'", path
    assert policy["base-uri"] == "'none'", path
    assert re.fullmatch(r"'nonce-[A-Za-z0-9_-]{16,}'", policy["script-src"]), path
    assert "unsafe" not in headers["Content-Security-Policy"], path
    assert headers["X-Content-Type-Options"] == "nosniff", path
    assert headers["Referrer-Policy"] == "no-referrer", path
    assert headers["Cache-Control"] == "no-store", path
    assert scripts_without_nonce(answer) == [], path
    assert '<html lang="zh-CN">' in answer.text, path
    assert '<main id="main"' in answer.text, path


async def test_every_page_for_visitors_sends_the_policy_and_headers(browser: PageBrowser) -> None:
    seen = 0
    for path in [*PAGES, "/register?unit=430100-0001", "/register/unit?region=430100", "/register/unit?region=nowhere"]:
        page = await browser.get(path)
        if page.status == 303:
            assert path == "/" or path.startswith(("/me", "/logout", "/register")), path
            continue
        _assert_protected(path, page)
        seen += 1
    assert seen >= 7


async def test_every_page_for_staff_sends_the_policy_and_headers(browser: PageBrowser) -> None:
    await browser.register()
    await browser.log_in()

    for path in [*STAFF_PAGES, "/logout", "/me/training?year=2021&page=3", "/sso/launch/ischinese"]:
        page = await browser.get(path)
        assert page.status == 200, (path, page.text)
        _assert_protected(path, page)


async def test_a_nonce_is_fresh_for_each_answer(browser: PageBrowser) -> None:
    first, second = await browser.get("/password-reset"), await browser.get("/password-reset")

    assert first.policy()["script-src"] != second.policy()["script-src"]
    assert scripts_without_nonce(first) == []
    assert "<script nonce=" in first.text  # the page's one script fills the token from the link


async def test_the_stylesheet_is_served_by_the_hub_and_versioned(browser: PageBrowser) -> None:
    page = await browser.get("/login")
    [url] = re.findall(r'<link rel="stylesheet" href="([^"]+)">', page.text)

    sheet = await browser.client.get(url)
    unversioned = await browser.client.get("/static/hub.css")

    assert url.startswith("/static/hub.css?v=")
    assert sheet.status == 200
    assert sheet.content_type == "text/css"
    assert "immutable" in sheet.headers["Cache-Control"]
    assert "immutable" not in unversioned.headers["Cache-Control"]
    assert "@media" in await sheet.text()  # the phone-width rules


# ---------------------------------------------------------------- escaping


async def test_what_people_type_is_escaped_on_every_page_that_shows_it(browser: PageBrowser) -> None:
    name, major = "<script>alert(1)</script>", '"><img src=x onerror=alert(2)>'
    registered = await browser.register(name=name, major=major, school="a & b")
    assert registered.status == 303, registered.errors()
    await browser.log_in()

    for path in ("/me", "/me/profile"):
        page = await browser.get(path)
        assert "<script>alert(1)" not in page.text, path
        assert "<img src=x" not in page.text, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text, path
        assert "a &amp; b" in page.text, path


async def test_typed_values_coming_back_on_a_form_are_escaped(browser: PageBrowser) -> None:
    typed = '"><script>alert(3)</script>'

    page = await browser.submit("/login", {"id_number": typed, "password": ""})
    next_page = await browser.get("/login?next=/me%22%3E%3Cscript%3Ealert(4)%3C/script%3E")

    assert page.status == 422
    assert "<script>alert(3)" not in page.text
    assert "&#34;&gt;&lt;script&gt;alert(3)&lt;/script&gt;" in page.text
    assert "<script>alert(4)" not in next_page.text
