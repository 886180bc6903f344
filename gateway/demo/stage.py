"""The demo's stage: the hub and the three simulated vendors, each an aiohttp app served on
127.0.0.1 in this process, with the settings that join them.

Each server takes its usual port (the hub 8080, the vendors 9001 to 9003, as in
``hub.example.toml``) when it is free and any free port otherwise. The sockets are bound before the
settings are written, so that the URLs in the settings are the ones served.
"""

from __future__ import annotations

import base64
import json
import secrets
import socket
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Final

from aiohttp import web

from adapters.hnou import simulated_vendor as hnou
from adapters.ischinese import simulated_vendor as ischinese
from adapters.webtrn import simulated_vendor as webtrn
from config import Settings
from gateway.app import create_app
from gateway.bootstrap import Hub
from gateway.demo.cast import MANDATORY
from gateway.keys import HUB

__all__ = [
    "ORGANISATION_FILE",
    "PREFERRED_PORTS",
    "Stage",
    "VendorSecrets",
    "bind_sockets",
    "running_stage",
    "settings_text",
    "url_of",
]

ORGANISATION_FILE: Final = Path(str(resources.files("config") / "organisation" / "hunan.json"))
"""The sample organisation of Hunan that the project ships."""
HOST: Final = "127.0.0.1"
PREFERRED_PORTS: Final = {"hub": 8080, "ischinese": 9001, "webtrn": 9002, "hnou": 9003}
LISTEN_BACKLOG: Final = 128
WEBTRN_PAGE_ITEMS_MAX: Final = 25
"""webtrn sends at most this many items a page in the demo, so that a pull reads several pages."""
CLIENT_ID: Final = "hub-client"
DEPLOYMENT_ID: Final = "hub-deployment-1"
SECRET_BYTES: Final = 24
SETTINGS: Final = """\
[hub]
base_url = {hub}
database_url = {database_url}
data_key_file = {data_key_file}

[vendors.ischinese]
name = "思想天下"
jwt_alg = "EdDSA"
launch_url = {ischinese_launch}
webhook_secrets = [{webhook_secret}]
api_base = {ischinese}
api_key = {api_key}

[vendors.webtrn]
name = "网梯"
jwt_alg = "ES256"
launch_url = {webtrn_launch}
token_url = {webtrn_token}
api_base = {webtrn}
client_id = "hub"
client_secret = {client_secret}
pull_start = 2021-01-01T00:00:00

[vendors.hnou]
name = "湖南开放大学"
jwt_alg = "RS256"
login_url = {hnou_login}
target_link_uri = {hnou_launch}
client_id = "{client_id}"
deployment_id = "{deployment_id}"
redirect_uris = [{hnou_launch}]
appid = "hub"
appsecret = {appsecret}
api_base = {hnou}

[rules.2021]
total_hours = 90
public_hours = 30
professional_hours = 60
hours_per_day = "7.5"

[rules.2021.mandatory]
{mandatory}

[topics]
xi_thought = "习近平新时代中国特色社会主义思想"
party_history = "党史学习教育"
personnel_policy = "人事政策法规"

[organisation]
file = {organisation}
"""


@dataclass(frozen=True, slots=True)
class VendorSecrets:
    """What the hub and the vendors share, made afresh for each run of the demo."""

    webhook_secret: str
    api_key: str
    client_secret: str
    appsecret: str

    @classmethod
    def generate(cls) -> VendorSecrets:
        key = base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()
        return cls(
            webhook_secret=f"whsec_{key}",
            api_key=secrets.token_urlsafe(SECRET_BYTES),
            client_secret=secrets.token_urlsafe(SECRET_BYTES),
            appsecret=secrets.token_urlsafe(SECRET_BYTES),
        )


def bind_sockets(ports: Mapping[str, int] = PREFERRED_PORTS) -> dict[str, socket.socket]:
    """A listening socket on 127.0.0.1 for the hub and each vendor: the port asked for if free, else any."""
    bound: dict[str, socket.socket] = {}
    for name, port in ports.items():
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((HOST, port))
        except OSError:  # taken: another program, or a demo still running
            listener.bind((HOST, 0))
        listener.listen(LISTEN_BACKLOG)
        bound[name] = listener
    return bound


def url_of(listener: socket.socket) -> str:
    port: int = listener.getsockname()[1]
    return f"http://{HOST}:{port}"


def settings_text(
    urls: Mapping[str, str], database_url: str, data_key_file: Path, organisation: Path, shared: VendorSecrets
) -> str:
    """The hub's settings for this stage, every string quoted as TOML wants it."""

    def quoted(text: str) -> str:
        return json.dumps(text, ensure_ascii=False)  # a JSON string is a TOML basic string

    mandatory = "\n".join(f"{topic} = {json.dumps(list(courses))}" for topic, courses in MANDATORY.items())
    return SETTINGS.format(
        hub=quoted(urls["hub"]),
        database_url=quoted(database_url),
        data_key_file=quoted(str(data_key_file.resolve())),
        ischinese=quoted(urls["ischinese"]),
        ischinese_launch=quoted(f"{urls['ischinese']}/sso/launch"),
        webhook_secret=quoted(shared.webhook_secret),
        api_key=quoted(shared.api_key),
        webtrn=quoted(urls["webtrn"]),
        webtrn_launch=quoted(f"{urls['webtrn']}/sso/launch"),
        webtrn_token=quoted(f"{urls['webtrn']}/oauth/token"),
        client_secret=quoted(shared.client_secret),
        hnou=quoted(urls["hnou"]),
        hnou_login=quoted(f"{urls['hnou']}/lti/login"),
        hnou_launch=quoted(f"{urls['hnou']}/lti/launch"),
        client_id=CLIENT_ID,
        deployment_id=DEPLOYMENT_ID,
        appsecret=quoted(shared.appsecret),
        mandatory=mandatory,
        organisation=quoted(str(organisation.resolve())),
    )


@dataclass(frozen=True, slots=True)
class Stage:
    """Everything running: the hub's services, the three vendors, and where each is served."""

    settings: Settings
    hub: Hub
    ischinese: ischinese.SimulatedIschinese
    webtrn: webtrn.SimulatedWebtrn
    hnou: hnou.SimulatedHnou
    urls: Mapping[str, str]
    shared: VendorSecrets

    @property
    def hub_url(self) -> str:
        return self.urls["hub"]


def vendor_apps(hub_url: str, shared: VendorSecrets) -> dict[str, web.Application]:
    """The three simulated vendors, each one app with its SSO side and its hours side."""
    return {
        "ischinese": ischinese.create_vendor_simulator(
            hub_url, webhook_secret=shared.webhook_secret, api_key=shared.api_key
        ),
        "webtrn": webtrn.create_vendor_simulator(
            hub_url, client_id="hub", client_secret=shared.client_secret, page_size_max=WEBTRN_PAGE_ITEMS_MAX
        ),
        "hnou": hnou.create_vendor_simulator(
            hub_url, client_id=CLIENT_ID, deployment_id=DEPLOYMENT_ID, appid="hub", appsecret=shared.appsecret
        ),
    }


@asynccontextmanager
async def running_stage(
    settings: Settings, sockets: Mapping[str, socket.socket], shared: VendorSecrets, *, scheduler: bool
) -> AsyncIterator[Stage]:
    """Serve the hub (with its scheduled jobs if ``scheduler``) and the vendors on their sockets
    until the context ends."""
    apps = {"hub": create_app(settings, scheduler=scheduler), **vendor_apps(settings.hub.base_url, shared)}
    runners: list[web.AppRunner] = []
    try:
        for name, app in apps.items():
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            runners.append(runner)
            await web.SockSite(runner, sockets[name]).start()
        yield Stage(
            settings=settings,
            hub=apps["hub"][HUB],
            ischinese=apps["ischinese"][ischinese.VENDOR],
            webtrn=apps["webtrn"][webtrn.VENDOR],
            hnou=apps["hnou"][hnou.VENDOR],
            urls={name: url_of(listener) for name, listener in sockets.items()},
            shared=shared,
        )
    finally:
        for runner in reversed(runners):
            await runner.cleanup()
        for listener in sockets.values():
            with suppress(OSError):
                listener.close()
