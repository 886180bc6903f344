"""Staff at work in their browsers: registering at the hub, signing in, and going over to their
vendors through the real SSO flows (the consent page, then a jwt-post form or an LTI 1.3 launch)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Final

import aiohttp

from gateway.demo.browser import Browser, Page, UnexpectedPage
from gateway.demo.cast import PASSWORD, StaffMember

__all__ = ["PEOPLE_AT_ONCE", "Arrival", "hand_over", "register_and_visit"]

REDIRECTS_MAX: Final = 5
"""An LTI launch takes three: the hub to the tool's login, the tool to the hub's authorization, and the hub's answer."""
PEOPLE_AT_ONCE: Final = 4
CONSENT_ACTION: Final = "/api/v1/me/consents"


@dataclass(frozen=True, slots=True)
class Arrival:
    """A person registered at the hub and logged in at each of their vendors."""

    member: StaffMember
    person_id: str


async def register_and_visit(hub_url: str, members: list[StaffMember]) -> list[Arrival]:
    """Each member registers, signs in and goes to each of their vendors, a few people at a time (a
    password's argon2id hash keeps both cores busy for a while).

    Raises ``UnexpectedPage`` when the hub or a vendor answers otherwise than a person expects.
    """
    gate = asyncio.Semaphore(PEOPLE_AT_ONCE)

    async def one(member: StaffMember) -> Arrival:
        async with gate:
            return await _register_and_visit(hub_url, member)

    return list(await asyncio.gather(*(one(member) for member in members)))


async def _register_and_visit(hub_url: str, member: StaffMember) -> Arrival:
    jar = aiohttp.CookieJar(unsafe=True)  # the demo's sites are all on 127.0.0.1
    async with aiohttp.ClientSession(cookie_jar=jar) as session:
        browser = Browser(session)
        registered = _expect(await browser.post_json(f"{hub_url}/api/v1/register", member.registration()), 201)
        if member.vendors:  # only to go to a vendor: each login checks the password, as long as a hash takes
            login = {"id_number": member.id_number, "password": PASSWORD}
            _expect(await browser.post_json(f"{hub_url}/api/v1/login", login), 200)
        for vendor in member.vendors:
            await hand_over(browser, hub_url, vendor)
        return Arrival(member, str(json.loads(registered.text)["id"]))


async def hand_over(browser: Browser, hub_url: str, vendor: str) -> Page:
    """Launch ``vendor`` from the hub as a signed-in person: consent on the first launch, follow the
    redirects of an LTI launch, then submit the hub's self-submitting form to the vendor. Returns
    the vendor's page, which must welcome the person."""
    page = await browser.get(f"{hub_url}/sso/launch/{vendor}")
    if page.status == 200 and page.form().action == CONSENT_ACTION:
        page = await browser.submit(page)  # 同意并进入: back to the launch
    for _ in range(REDIRECTS_MAX):
        if page.status not in {302, 303}:
            break
        page = await browser.follow(page)
    return _expect(await browser.submit(page), 200)


def _expect(page: Page, status: int) -> Page:
    if page.status != status:
        raise UnexpectedPage(f"{page.url} answered {page.status}, not {status}: {page.text[:500]}")
    return page
