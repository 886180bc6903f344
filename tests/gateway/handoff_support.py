"""A world for handoff tests: the hub and the three vendor simulators as real aiohttp servers on
127.0.0.1, the sample organisation, a registered and signed-in person, and a browser that follows
redirects and submits the pages' forms as a person's browser would (the demo's, ``gateway.demo.browser``)."""

from __future__ import annotations

import json
import shutil
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from argon2 import PasswordHasher
from yarl import URL

from adapters.hnou import simulator as hnou_simulator
from adapters.ischinese import simulator as ischinese_simulator
from adapters.webtrn import simulator as webtrn_simulator
from config import load_settings
from gateway.app import create_app
from gateway.bootstrap import Hub, ensure_keyring
from gateway.database import create_engine
from gateway.demo.browser import Browser, Page  # noqa: F401  (Page: for the handoff tests, which import it from here)
from gateway.demo.stage import bind_sockets, url_of
from gateway.keys import HUB
from gateway.sessions import SESSION_COOKIE
from sso.id_numbers import make_id_number
from sso.organisation import load_organisation
from sso.people.service import PeopleService
from sso.units.service import OrganisationService

from ..sso.people.forms import PASSWORD, registration_form

ORGANISATION_FILE = Path(__file__).parents[2] / "config" / "organisation" / "hunan.json"
ID_NUMBER = make_id_number("430102", date(1988, 5, 20), 246)
CLIENT_ID = "hub-client"
DEPLOYMENT_ID = "hub-deployment-1"
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
SETTINGS = """\
[hub]
base_url = "{hub}"
database_url = "{database_url}"
data_key_file = "{directory}/data.key"
key_activation_delay_seconds = {delay}

[vendors.ischinese]
name = "思想天下"
jwt_alg = "EdDSA"
launch_url = "{ischinese}/sso/launch"
webhook_secrets = ["whsec_cGxhY2Vob2xkZXItd2ViaG9vay1rZXktb25lIQ=="]
api_base = "{ischinese}/api"
api_key = "test-ischinese-api-key"

[vendors.webtrn]
name = "网梯"
jwt_alg = "ES256"
launch_url = "{webtrn}/sso/launch"
token_url = "{webtrn}/oauth/token"
api_base = "{webtrn}/api"
client_id = "hub"
client_secret = "test-webtrn-secret"
pull_start = 2021-01-01T00:00:00

[vendors.hnou]
name = "湖南开放大学"
jwt_alg = "RS256"
login_url = "{hnou}/lti/login"
target_link_uri = "{hnou}/lti/launch"
client_id = "{client_id}"
deployment_id = "{deployment_id}"
redirect_uris = ["{hnou}/lti/launch"]
appid = "hub"
appsecret = "test-hnou-appsecret"
api_base = "{hnou}/api"

# The cheapest argon2id: the tests register and log in hundreds of times (the hub's default costs ~0.2 s each).
[passwords]
time_cost = 1
memory_kib = 1024
parallelism = 1

[rules.2021]
total_hours = 90
public_hours = 30
professional_hours = 60
hours_per_day = "7.5"
"""


def registration() -> dict[str, object]:
    return registration_form(
        name="欧阳娜娜",
        id_number=ID_NUMBER,
        phone="13912345678",
        email="ouyang@example.cn",
        education="硕士研究生",
    )


@dataclass
class World:
    """The hub, the three simulators and a browser; ``person_id`` is registered and signed in."""

    hub_url: str
    hub: Hub
    ischinese: ischinese_simulator.JwtPostVendor
    webtrn: ischinese_simulator.JwtPostVendor
    hnou: hnou_simulator.LtiTool
    browser: Browser
    person_id: str
    settings_file: Path
    vendor_urls: dict[str, str]

    def url(self, path: str) -> str:
        return f"{self.hub_url}{path}"

    @property
    def ischinese_launch(self) -> str:
        return f"{self.vendor_urls['ischinese']}/sso/launch"

    @property
    def webtrn_launch(self) -> str:
        return f"{self.vendor_urls['webtrn']}/sso/launch"

    @property
    def hnou_login(self) -> str:
        return f"{self.vendor_urls['hnou']}/lti/login"

    @property
    def hnou_launch(self) -> str:
        return f"{self.vendor_urls['hnou']}/lti/launch"

    async def consent(self, vendor: str) -> None:
        page = await self.browser.post_json(self.url("/api/v1/me/consents"), {"vendor": vendor})
        assert page.status == 201, page.text


async def _serve(app: web.Application, listener: socket.socket) -> web.AppRunner:
    """Serve the app on a socket bound beforehand: no other program can take its port meanwhile."""
    runner = web.AppRunner(app)
    await runner.setup()
    await web.SockSite(runner, listener).start()
    return runner


def sqlite_copy(directory: Path, template: Path) -> str:
    """The URL of a fresh copy of the migrated SQLite template, for tests that store nothing of note."""
    path = directory / "hub.db"
    shutil.copy(template, path)
    return f"sqlite+aiosqlite:///{path}"


async def _sign_in(browser: Browser, hub: Hub, hub_url: str, *, through_the_api: bool) -> str:
    """Register the person and sign them in: through the hub's API, or (faster, with a cheap password
    hash) through its people service, handing the browser the session cookie the API would have."""
    if through_the_api:
        registered = await browser.post_json(f"{hub_url}/api/v1/register", registration())
        assert registered.status == 201, registered.text
        signed_in = await browser.post_json(f"{hub_url}/api/v1/login", {"id_number": ID_NUMBER, "password": PASSWORD})
        assert signed_in.status == 200, signed_in.text
        return str(json.loads(registered.text)["id"])
    people = PeopleService(hub.engine, hub.keyring, hub.organisation, password_hasher=FAST_HASHER)
    person_id = await people.register(registration())
    token = await hub.people.open_session(person_id)
    browser.session.cookie_jar.update_cookies({SESSION_COOKIE: token}, URL(hub_url))
    return person_id


@asynccontextmanager
async def handoff_world(
    directory: Path,
    database_url: str,
    *,
    delay_seconds: int = 86_400,
    vendor_clock: Callable[[], float] | None = None,
    through_the_api: bool = False,
) -> AsyncIterator[World]:
    """Start everything, register and sign in a person, and stop it all at the end."""
    listeners = bind_sockets(dict.fromkeys(("hub", "ischinese", "webtrn", "hnou"), 0))
    urls = {name: url_of(listener) for name, listener in listeners.items()}
    settings_file = directory / "handoff.toml"
    settings_file.write_text(
        SETTINGS.format(
            **urls,
            database_url=database_url,
            directory=directory,
            delay=delay_seconds,
            client_id=CLIENT_ID,
            deployment_id=DEPLOYMENT_ID,
        ),
        encoding="utf-8",
    )
    ensure_keyring(directory / "data.key")
    engine = create_engine(database_url)
    await OrganisationService(engine).replace(load_organisation(ORGANISATION_FILE))
    await engine.dispose()
    clock: dict[str, Any] = {} if vendor_clock is None else {"clock": vendor_clock}
    apps = {
        "hub": create_app(load_settings(settings_file)),
        "ischinese": ischinese_simulator.create_simulator(urls["hub"], **clock),
        "webtrn": webtrn_simulator.create_simulator(urls["hub"], **clock),
        "hnou": hnou_simulator.create_simulator(urls["hub"], client_id=CLIENT_ID, deployment_id=DEPLOYMENT_ID),
    }
    runners = [await _serve(app, listeners[name]) for name, app in apps.items()]
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    try:
        browser = Browser(session)
        person_id = await _sign_in(browser, apps["hub"][HUB], urls["hub"], through_the_api=through_the_api)
        yield World(
            hub_url=urls["hub"],
            hub=apps["hub"][HUB],
            ischinese=apps["ischinese"][ischinese_simulator.SIMULATOR],
            webtrn=apps["webtrn"][webtrn_simulator.SIMULATOR],
            hnou=apps["hnou"][hnou_simulator.SIMULATOR],
            browser=browser,
            person_id=person_id,
            settings_file=settings_file,
            vendor_urls={name: url for name, url in urls.items() if name != "hub"},
        )
    finally:
        await session.close()
        for runner in reversed(runners):
            await runner.cleanup()
