"""Helpers of the pages' tests: the hub with the sample organisation behind an aiohttp test server, and
a person's browser through it that reads each page's form token and posts forms as a browser does."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from html import unescape
from pathlib import Path

from multidict import CIMultiDictProxy

from gateway.bootstrap import Hub
from gateway.keys import HUB
from gateway.sessions import SESSION_COOKIE

from ...sso.people.forms import ID_NUMBER, PASSWORD, registration_form
from ..access_support import Client, ClientMaker, ischinese_settings, serve_hub, with_vendors

WEBHOOK_SECRET = "whsec_cGxhY2Vob2xkZXItd2ViaG9vay1rZXktb25lIQ=="
FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]*)"')
SCRIPT_TAG = re.compile(r"<script(?P<attributes>[^>]*)>")


@dataclass(frozen=True, slots=True)
class Answer:
    """A page as the browser got it (redirects not followed)."""

    status: int
    headers: CIMultiDictProxy[str]
    text: str

    @property
    def location(self) -> str:
        return self.headers["Location"]

    def form_token(self) -> str:
        found = FORM_TOKEN.search(self.text)
        assert found is not None, self.text
        return found[1]

    def error_of(self, field: str) -> str | None:
        """The text of the error shown beside a field, or ``None``."""
        found = re.search(rf'<p class="field-error" id="{field}-error">(.*?)</p>', self.text, re.DOTALL)
        return None if found is None else unescape(re.sub(r"<[^>]+>", "", found[1])).removeprefix("错误：")

    def errors(self) -> dict[str, str]:
        """Every field's error on the page, by field name."""
        names = re.findall(r'<p class="field-error" id="([a-z_]+)-error">', self.text)
        return {name: self.error_of(name) or "" for name in names}

    def policy(self) -> dict[str, str]:
        directives = self.headers["Content-Security-Policy"].split("; ")
        return dict(directive.split(" ", 1) for directive in directives)  # type: ignore[misc]


class PageBrowser:
    """A person's browser on the test server: it keeps cookies and follows nothing by itself."""

    def __init__(self, client: Client) -> None:
        self.client = client

    @property
    def hub(self) -> Hub:
        return self.client.server.app[HUB]

    async def get(self, path: str) -> Answer:
        async with self.client.get(path, allow_redirects=False) as response:
            return Answer(response.status, response.headers, await response.text())

    async def post(self, path: str, fields: Mapping[str, str]) -> Answer:
        async with self.client.post(path, data=dict(fields), allow_redirects=False) as response:
            return Answer(response.status, response.headers, await response.text())

    async def submit(self, path: str, fields: Mapping[str, str], *, page: str | None = None) -> Answer:
        """Open ``page`` (``path`` unless given), then post ``fields`` to ``path`` with the page's form token."""
        opened = await self.get(page or path)
        assert opened.status == 200, opened.text
        return await self.post(path, {**fields, "csrf_token": opened.form_token()})

    async def register(self, **changes: object) -> Answer:
        form = {name: str(value) for name, value in registration_form(**changes).items()}
        form["password_confirm"] = form["password"]
        return await self.submit("/register", form, page=f"/register?unit={form['unit_code']}")

    async def log_in(self, id_number: str = ID_NUMBER, password: str = PASSWORD) -> Answer:
        return await self.submit("/login", {"id_number": id_number, "password": password})

    def signed_in(self) -> bool:
        return any(cookie.key == SESSION_COOKIE and cookie.value for cookie in self.client.session.cookie_jar)


async def page_browser(aiohttp_client: ClientMaker, settings_file: Path, database_url: str) -> PageBrowser:
    """A browser on the whole hub, with the sample organisation and ischinese configured."""
    with_vendors(settings_file, ischinese_settings(WEBHOOK_SECRET))
    return PageBrowser(await serve_hub(aiohttp_client, settings_file, database_url))


def scripts_without_nonce(answer: Answer) -> list[str]:
    """The script tags of a page that do not carry the nonce its policy allows."""
    nonce = answer.policy()["script-src"].removeprefix("'nonce-").removesuffix("'")
    return [found["attributes"] for found in SCRIPT_TAG.finditer(answer.text) if f'nonce="{nonce}"' not in found[0]]
