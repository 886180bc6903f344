"""A stage of real processes: ``hub serve`` as a child process on a database of its own, the three
vendors' simulators served in this process on 127.0.0.1, and staff registered and linked to them.

The settings are the demo's (``gateway.demo.stage.settings_text``); the simulators are the ones
beside each adapter, with their retry schedules scaled from hours down to seconds. The hub is
started, killed with SIGKILL and started again as an operator's supervisor would; its log lines go
to a file that the personal-data scan reads at the end of the suite.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Final

import httpx
from aiohttp import web
from argon2 import PasswordHasher

from adapters.hnou import simulated_vendor as hnou
from adapters.ischinese import simulated_vendor as ischinese
from adapters.webtrn import simulated_vendor as webtrn
from config import Settings, load_settings
from gateway.app import create_app
from gateway.bootstrap import Hub, ensure_keyring, open_hub
from gateway.database import create_engine, migrate
from gateway.demo.stage import CLIENT_ID, DEPLOYMENT_ID, ORGANISATION_FILE, VendorSecrets, bind_sockets, settings_text
from gateway.keys import HUB
from ledger.model import PersonId
from sso.handoff import Vendor
from sso.id_numbers import IdNumber, make_id_number
from sso.organisation import load_organisation
from sso.people.service import PeopleService
from sso.units.service import OrganisationService

from ..sso.people.forms import registration_form
from .cluster import free_port
from .evidence import Evidence

HUB_PROGRAM: Final = Path(sys.executable).parent / "hub"
READY_WAIT_SECONDS: Final = 60.0
COMMAND_TIMEOUT_SECONDS: Final = 120
STOP_WAIT_SECONDS: Final = 15
FAST_HASHER: Final = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
"""Staff are registered in this process with a cheap hash: their passwords are not under test."""
PULL_INTERVAL_SECONDS: Final = 1
WEBTRN_PAGE_ITEMS_MAX: Final = 50
# The vendors' retry schedules (vendors.md: "retries for 3 days with growing delays"), scaled down.
RETRY_DELAY_SECONDS_BASE: Final = 0.05
RETRY_DELAY_SECONDS_MAX: Final = 1.0
ATTEMPTS_MAX: Final = 200


class HubNotReady(Exception):
    """The hub process did not become ready, or a command of it failed."""


@dataclass(frozen=True, slots=True)
class Learner:
    """A registered member of staff and what each vendor knows them by."""

    person_id: PersonId
    id_number: IdNumber
    name: str
    ischinese_sub: str
    webtrn_sub: str


@dataclass
class HubProcess:
    """``hub serve`` as a child process: started, killed and started again on the same port."""

    settings_file: Path
    port: int
    log: Path
    environment: Mapping[str, str] = field(default_factory=dict)
    scheduler: bool = True
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    kills: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        arguments = [str(HUB_PROGRAM), "serve", "--config", str(self.settings_file), "--port", str(self.port)]
        if not self.scheduler:
            arguments.append("--no-scheduler")
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603  (our own program)
                arguments, stdout=log, stderr=log, env=hub_environment(self.environment)
            )
        self.starts += 1

    async def ready(self) -> None:
        """Wait until ``/readyz`` answers 200; raises ``HubNotReady`` if the process dies or takes too long."""
        async with httpx.AsyncClient(timeout=2.0) as http:
            for _ in range(int(READY_WAIT_SECONDS * 10)):
                if self.process is None or self.process.poll() is not None:
                    raise HubNotReady(f"hub serve exited; see {self.log}")
                try:
                    if (await http.get(f"{self.url}/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise HubNotReady(f"hub serve was not ready in {READY_WAIT_SECONDS} s; see {self.log}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a power cut of the process."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=STOP_WAIT_SECONDS)
        self.kills += 1

    def stop(self) -> None:
        """A clean stop (SIGINT, as Ctrl-C), killed if it takes too long."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=STOP_WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def hub_environment(extra: Mapping[str, str]) -> dict[str, str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith("HUB")}
    return {**clean, **extra}


def run_hub_command(*arguments: str, environment: Mapping[str, str] | None = None) -> str:
    """Run ``hub`` to its end and return what it printed; raises ``HubNotReady`` on a non-zero exit."""
    done = subprocess.run(  # noqa: S603  (our own program)
        [str(HUB_PROGRAM), *arguments],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
        env=hub_environment(environment or {}),
        check=False,
    )
    if done.returncode != 0:
        raise HubNotReady(f"hub {' '.join(arguments)} failed: {done.stderr.strip()}")
    return done.stdout


async def migrated_schema(database_url: str) -> None:
    """The schema, migrated with Alembic in a thread (Alembic drives its own event loop)."""
    await asyncio.to_thread(migrate, database_url)


async def migrated(settings: Settings) -> None:
    """What ``hub migrate`` does, in this process (a process start costs more than the work): the
    schema, the personal-data key, the organisation."""
    await migrated_schema(settings.hub.database_url)
    ensure_keyring(settings.hub.data_key_file)
    engine = create_engine(settings.hub.database_url)
    try:
        await OrganisationService(engine).replace(load_organisation(ORGANISATION_FILE))
    finally:
        await engine.dispose()


def vendor_apps(hub_url: str, shared: VendorSecrets) -> dict[str, web.Application]:
    """The three simulated vendors, retrying as the contract says, on a schedule of seconds."""
    retries = {
        "retry_delay_seconds_base": RETRY_DELAY_SECONDS_BASE,
        "retry_delay_seconds_max": RETRY_DELAY_SECONDS_MAX,
        "attempts_max": ATTEMPTS_MAX,
    }
    return {
        "ischinese": ischinese.create_vendor_simulator(
            hub_url, webhook_secret=shared.webhook_secret, api_key=shared.api_key, **retries
        ),
        "webtrn": webtrn.create_vendor_simulator(
            hub_url, client_id="hub", client_secret=shared.client_secret, page_size_max=WEBTRN_PAGE_ITEMS_MAX
        ),
        "hnou": hnou.create_vendor_simulator(
            hub_url,
            client_id=CLIENT_ID,
            deployment_id=DEPLOYMENT_ID,
            appid="hub",
            appsecret=shared.appsecret,
            **retries,
        ),
    }


@dataclass
class Stage:
    """The hub process, the three vendors and the staff they know."""

    hub: HubProcess
    settings: Settings
    shared: VendorSecrets
    ischinese: ischinese.SimulatedIschinese
    webtrn: webtrn.SimulatedWebtrn
    hnou: hnou.SimulatedHnou
    learners: list[Learner]
    folder: Path

    @property
    def database_url(self) -> str:
        return self.settings.hub.database_url


async def register_learners(hub: Hub, count: int, evidence: Evidence) -> list[Learner]:
    """``count`` members of staff of the sample organisation, with their pairwise subjects at ischinese and webtrn."""
    people = PeopleService(hub.engine, hub.keyring, hub.organisation, password_hasher=FAST_HASHER)
    learners = []
    for number in range(count):
        id_number = make_id_number("430102", date(1980 + number % 20, 1 + number % 12, 1 + number % 28), number)
        name = "测试学员" + "甲乙丙丁戊己庚辛壬癸"[number % 10]
        form = registration_form(
            name=name,
            id_number=id_number,
            phone=f"137{number:08d}",
            email=f"learner{number}@example.cn",
            gender="男" if number % 2 else "女",
        )
        person_id = await people.register(form)
        evidence.id_number(id_number)
        learners.append(
            Learner(
                person_id=person_id,
                id_number=id_number,
                name=name,
                ischinese_sub=await hub.handoff.subject_for(person_id, Vendor.ISCHINESE),
                webtrn_sub=await hub.handoff.subject_for(person_id, Vendor.WEBTRN),
            )
        )
    return learners


def _keep_secrets(shared: VendorSecrets, evidence: Evidence) -> None:
    evidence.secret(shared.webhook_secret.removeprefix("whsec_"), "ischinese webhook secret")
    evidence.secret(shared.api_key, "ischinese API key")
    evidence.secret(shared.client_secret, "webtrn client secret")
    evidence.secret(shared.appsecret, "hnou appsecret")


@asynccontextmanager
async def running_stage(
    folder: Path,
    database_url: str,
    evidence: Evidence,
    *,
    learners: int,
    environment: Mapping[str, str] | None = None,
    scheduler: bool = True,
) -> AsyncIterator[Stage]:
    """Migrate the database as ``hub migrate`` does, register the staff, serve the vendors, and start
    ``hub serve``; stop it all at the end. The hub's log and its database are kept as evidence."""
    sockets = bind_sockets(dict.fromkeys(("ischinese", "webtrn", "hnou"), 0))
    port = free_port()
    urls = {"hub": f"http://127.0.0.1:{port}"} | {
        name: f"http://127.0.0.1:{listener.getsockname()[1]}" for name, listener in sockets.items()
    }
    shared = VendorSecrets.generate()
    _keep_secrets(shared, evidence)
    settings_file = folder / "hub.toml"
    settings_file.write_text(
        settings_text(urls, database_url, folder / "data.key", ORGANISATION_FILE, shared), encoding="utf-8"
    )
    hub_environment_extra = {"HUB__VENDORS__WEBTRN__PULL_INTERVAL_SECONDS": str(PULL_INTERVAL_SECONDS)}
    hub_environment_extra.update(environment or {})
    settings = load_settings(settings_file)
    await migrated(settings)
    evidence.keep_database(database_url)
    async with open_hub(settings) as hub:
        staff = await register_learners(hub, learners, evidence)
    apps = vendor_apps(urls["hub"], shared)
    runners = []
    process = HubProcess(settings_file, port, folder / "hub.log", hub_environment_extra, scheduler=scheduler)
    evidence.keep_log(process.log)
    try:
        for name, app in apps.items():
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            runners.append(runner)
            await web.SockSite(runner, sockets[name]).start()
        process.start()
        await process.ready()
        yield Stage(
            hub=process,
            settings=settings,
            shared=shared,
            ischinese=apps["ischinese"][ischinese.VENDOR],
            webtrn=apps["webtrn"][webtrn.VENDOR],
            hnou=apps["hnou"][hnou.VENDOR],
            learners=staff,
            folder=folder,
        )
    finally:
        process.stop()
        for runner in reversed(runners):
            await runner.cleanup()


@dataclass
class HubInProcess:
    """The hub's app served in this process (``create_app``), for scenarios that need no process of
    their own: its URL, its services, and the secrets it shares with the vendors."""

    url: str
    hub: Hub
    settings_file: Path
    shared: VendorSecrets
    learners: list[Learner]


@asynccontextmanager
async def hub_in_this_process(
    folder: Path, database_url: str, evidence: Evidence, *, learners: int, vendor_urls: Mapping[str, str] | None = None
) -> AsyncIterator[HubInProcess]:
    """The hub on 127.0.0.1 in this process, its database migrated and ``learners`` staff registered.
    The vendors' URLs lead nowhere unless given."""
    listener = bind_sockets({"hub": 0})["hub"]
    urls = {"hub": f"http://127.0.0.1:{listener.getsockname()[1]}"}
    urls |= vendor_urls or dict.fromkeys(("ischinese", "webtrn", "hnou"), "http://127.0.0.1:9")
    shared = VendorSecrets.generate()
    _keep_secrets(shared, evidence)
    settings_file = folder / "hub.toml"
    settings_file.write_text(
        settings_text(urls, database_url, folder / "data.key", ORGANISATION_FILE, shared), encoding="utf-8"
    )
    settings = load_settings(settings_file)
    await migrated(settings)
    evidence.keep_database(database_url)
    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.SockSite(runner, listener).start()
        hub = app[HUB]
        staff = await register_learners(hub, learners, evidence)
        yield HubInProcess(urls["hub"], hub, settings_file, shared, staff)
    finally:
        await runner.cleanup()
