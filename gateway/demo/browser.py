"""A person's browser, scripted: it keeps cookies, follows redirects when told to, and submits a
page's form as the page's script would. The demo drives the hub and the vendors' sites with it,
exactly as the tests of the handoff do."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

__all__ = ["Browser", "Form", "Page", "UnexpectedPage"]


class UnexpectedPage(Exception):
    """A page is not what the script expected: it has no single form, or no redirect to follow."""


@dataclass(frozen=True, slots=True)
class Form:
    """A form found on a page: where it posts and its fields."""

    action: str
    fields: dict[str, str]


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(Form(attributes.get("action", ""), {}))
        elif tag == "input" and self.forms and "name" in attributes:
            self.forms[-1].fields[attributes["name"]] = attributes.get("value", "")


@dataclass(frozen=True, slots=True)
class Page:
    """An answer as the browser got it."""

    url: URL
    status: int
    headers: CIMultiDictProxy[str]
    text: str

    @property
    def location(self) -> str:
        return self.headers["Location"]

    def form(self) -> Form:
        """The page's one form; raises ``UnexpectedPage`` (with the page's text) when it has none or several."""
        parser = _Forms()
        parser.feed(self.text)
        if len(parser.forms) != 1:
            raise UnexpectedPage(f"{self.status} {self.url} holds {len(parser.forms)} forms: {self.text}")
        return parser.forms[0]


class Browser:
    """A person's browser: keeps cookies (also for 127.0.0.1, given a jar with ``unsafe=True``) and
    follows nothing by itself."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def get(self, url: str | URL) -> Page:
        async with self.session.get(url, allow_redirects=False) as response:
            return Page(response.url, response.status, response.headers, await response.text())

    async def post(self, url: str | URL, data: Mapping[str, str]) -> Page:
        async with self.session.post(url, data=dict(data), allow_redirects=False) as response:
            return Page(response.url, response.status, response.headers, await response.text())

    async def post_json(self, url: str | URL, body: object) -> Page:
        async with self.session.post(url, json=body, allow_redirects=False) as response:
            return Page(response.url, response.status, response.headers, await response.text())

    async def submit(self, page: Page, **changes: str) -> Page:
        """Submit the page's form as its script would, with ``changes`` to its fields."""
        form = page.form()
        return await self.post(page.url.join(URL(form.action)), {**form.fields, **changes})

    async def follow(self, page: Page) -> Page:
        """Follow a redirect; raises ``UnexpectedPage`` when the page is none."""
        if page.status not in {302, 303}:
            raise UnexpectedPage(f"{page.status} {page.url} is not a redirect: {page.text}")
        return await self.get(page.url.join(URL(page.location)))
