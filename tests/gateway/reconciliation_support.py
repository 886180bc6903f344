"""The three vendors' simulators on real servers, a hub configured for them, and for each vendor records
of every discrepancy kind delivered the vendor's own way (webhooks, pulled pages, signed forms)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.hnou.simulator_hours import HoursSimulator as HnouSimulator
from adapters.hnou.simulator_hours import SimulatedCompletion as HnouCompletion
from adapters.ischinese.simulator_hours import HoursSimulator as IschineseSimulator
from adapters.ischinese.simulator_hours import SimulatedCompletion as IschineseCompletion
from adapters.webtrn.simulator_api import WebtrnApiSimulator
from gateway.jobs import pull_webtrn
from ledger.model import EntryKind, PersonId, Source, new_credit
from ledger.reconciliation.model import DiscrepancyKind, ResolutionAction
from sso.handoff import Vendor

from .access_support import Client, Staff, bearer, hub_of, ischinese_settings

ServerMaker = Callable[[web.Application], Awaitable[TestServer]]

WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"reconciliation tests' webhook key").decode()
API_KEY = "ischinese-api-key-for-reconciliation"
CLIENT_SECRET = "webtrn-client-secret-for-reconciliation"
APPID, APPSECRET = "hub-test", "the-app-secret"
STRANGER_ID_NUMBER = "110105194912310011"
DAY = date(2021, 6, 1)
COMPLETED = datetime(2021, 6, 1, 1, 58, 12, tzinfo=UTC)
WEBTRN = """
[vendors.webtrn]
name = "网梯"
jwt_alg = "ES256"
launch_url = "http://127.0.0.1:9/sso/launch"
token_url = "{base}/oauth/token"
api_base = "{base}"
client_id = "hub"
client_secret = "{secret}"
pull_start = 2021-01-01T00:00:00
"""
HNOU = """
[vendors.hnou]
name = "湖南开放大学"
jwt_alg = "RS256"
login_url = "http://127.0.0.1:9/lti/login"
target_link_uri = "http://127.0.0.1:9/lti/launch"
client_id = "hub-client"
deployment_id = "hub-deployment-1"
redirect_uris = ["http://127.0.0.1:9/lti/launch"]
appid = "{appid}"
appsecret = "{appsecret}"
api_base = "{base}"
"""

# What every scenario finds: the vendor's record ids by their role, and what each resolution appends.
EXPECTED_KINDS = {
    "lost": (DiscrepancyKind.MISSING_IN_LEDGER, []),
    "gone": (DiscrepancyKind.MISSING_AT_VENDOR, []),
    "hours": (DiscrepancyKind.DIFFERENT, ["hours"]),
    "revoked": (DiscrepancyKind.DIFFERENT, ["status"]),
    "stranger": (DiscrepancyKind.UNKNOWN_PERSON, []),
}
RESOLUTIONS = {
    "lost": (ResolutionAction.INGEST, [(EntryKind.CREDIT, 1)]),
    "gone": (ResolutionAction.REVERSE, [(EntryKind.REVERSAL, 1)]),
    "hours": (ResolutionAction.INGEST, [(EntryKind.REVERSAL, 1), (EntryKind.CREDIT, 2)]),
    "revoked": (ResolutionAction.INGEST, [(EntryKind.REVERSAL, 1)]),
    "stranger": (ResolutionAction.ACCEPT, []),
}


async def no_sleep(_seconds: float) -> None:
    return None


@dataclass
class Vendors:
    """The simulators and where they are served."""

    ischinese: IschineseSimulator
    webtrn: WebtrnApiSimulator
    hnou: HnouSimulator
    urls: dict[str, str] = field(default_factory=dict)

    def settings(self) -> str:
        return (
            ischinese_settings(WEBHOOK_SECRET, api_base=self.urls["ischinese"], api_key=API_KEY)
            + WEBTRN.format(base=self.urls["webtrn"], secret=CLIENT_SECRET)
            + HNOU.format(appid=APPID, appsecret=APPSECRET, base=self.urls["hnou"])
        )

    def point_at(self, hub_url: str) -> None:
        self.ischinese.hub_url = hub_url
        self.hnou.hub_url = hub_url


async def serve_vendors(aiohttp_server: ServerMaker, http: httpx.AsyncClient) -> Vendors:
    vendors = Vendors(
        ischinese=IschineseSimulator(
            hub_url="", webhook_secret=WEBHOOK_SECRET, api_key=API_KEY, http=http, sleep=no_sleep, attempts_max=3
        ),
        webtrn=WebtrnApiSimulator(client_id="hub", client_secret=CLIENT_SECRET, page_size_max=3),
        hnou=HnouSimulator(appid=APPID, appsecret=APPSECRET, hub_url="", http=http, sleep=no_sleep, attempts_max=3),
    )
    for name, app in (
        ("ischinese", vendors.ischinese.app()),
        ("webtrn", vendors.webtrn.app()),
        ("hnou", vendors.hnou.app()),
    ):
        vendors.urls[name] = str((await aiohttp_server(app)).make_url("")).rstrip("/")
    return vendors


def with_vendors(settings_file: Path, vendors: Vendors) -> Path:
    settings_file.write_text(settings_file.read_text(encoding="utf-8") + vendors.settings(), encoding="utf-8")
    return settings_file


@dataclass(frozen=True, slots=True)
class Scenario:
    """A vendor seeded with one agreed record and one of each discrepancy; ``ids`` by role."""

    vendor: Source
    request: dict[str, object]
    ids: dict[str, str]


async def record_in_ledger_only(client: Client, staff: Staff, vendor: Source, record_id: str) -> None:
    """A credit the ledger holds and the vendor does not list (as if delivered, then lost at the vendor)."""
    await hub_of(client).ledger.record(
        new_credit(
            person_id=staff.id,
            source=vendor.value,
            record_id=record_id,
            course_code="GONE-01",
            course_title="已下架课程",
            subject="professional",
            hours="1.5",
            completed_at=COMPLETED,
            actor=f"vendor:{vendor.value}",
            payload_hash=hashlib.sha256(record_id.encode()).hexdigest(),
        )
    )


async def seed_ischinese(client: Client, vendors: Vendors, staff: Staff) -> Scenario:
    sub = str(await hub_of(client).handoff.subject_for(PersonId(staff.id), Vendor.ISCHINESE))
    hours = vendors.ischinese

    def completion(completion_id: str, learner: str = sub, amount: str = "3.5") -> IschineseCompletion:
        return IschineseCompletion(completion_id, learner, "XJP-2021-01", "概论", "public", amount, COMPLETED)

    for completion_id in ("c-same", "c-hours", "c-revoked"):
        assert (await hours.send(hours.keep(completion(completion_id)))).delivered
    assert (await hours.send(hours.keep(completion("c-stranger", learner="sub-never-issued")))).delivered
    hours.lose("c-lost", "c-revoked")
    await hours.send(hours.keep(completion("c-lost")))
    await hours.send(hours.withdraw("c-revoked", "作弊"))
    hours.keep(completion("c-hours", amount="5"))  # corrected at the vendor, never sent again
    await record_in_ledger_only(client, staff, Source.ISCHINESE, "c-gone")
    ids = {role: f"c-{role}" for role in ("same", *EXPECTED_KINDS)}
    return Scenario(Source.ISCHINESE, {"vendor": "ischinese", "year": 2021}, ids)


async def seed_webtrn(client: Client, vendors: Vendors, staff: Staff) -> Scenario:
    sub = str(await hub_of(client).handoff.subject_for(PersonId(staff.id), Vendor.WEBTRN))
    api = vendors.webtrn
    for number, learner in ((1, sub), (4, sub), (5, sub), (6, "sub-never-issued")):
        api.complete(number, sub=learner, updated_at=COMPLETED + timedelta(seconds=number), finished_at=COMPLETED)
    await pull_webtrn(hub_of(client))
    api.complete(2, sub=sub, updated_at=COMPLETED + timedelta(minutes=1), finished_at=COMPLETED)  # not pulled
    api.complete(4, sub=sub, updated_at=COMPLETED + timedelta(minutes=2), finished_at=COMPLETED, hours="4")
    api.revoke(5, updated_at=COMPLETED + timedelta(minutes=3))
    await record_in_ledger_only(client, staff, Source.WEBTRN, "3")
    ids = {"same": "1", "lost": "2", "gone": "3", "hours": "4", "revoked": "5", "stranger": "6"}
    return Scenario(Source.WEBTRN, {"vendor": "webtrn", "year": 2021}, ids)


async def seed_hnou(client: Client, vendors: Vendors, staff: Staff) -> Scenario:
    simulator = vendors.hnou

    def completion(record_no: str, id_number: str = staff.id_number, hours: str = "3.5") -> HnouCompletion:
        return HnouCompletion(record_no, id_number, "王芳", "HN-2021-DS01", "党史学习教育", "public", hours, COMPLETED)

    for record_no in ("HN-same", "HN-hours", "HN-revoked"):
        simulator.keep(completion(record_no))
        await simulator.notify(record_no)
    simulator.keep(completion("HN-stranger", id_number=STRANGER_ID_NUMBER))
    await simulator.notify("HN-stranger")
    simulator.keep(completion("HN-lost"))  # never notified
    simulator.keep(completion("HN-hours", hours="5"))
    simulator.revoke("HN-revoked", at=COMPLETED + timedelta(hours=1))
    await record_in_ledger_only(client, staff, Source.HNOU, "HN-gone")
    ids = {role: f"HN-{role}" for role in ("same", *EXPECTED_KINDS)}
    return Scenario(Source.HNOU, {"vendor": "hnou", "from": "2021-06-01", "to": "2021-06-01"}, ids)


SEEDS = {"ischinese": seed_ischinese, "webtrn": seed_webtrn, "hnou": seed_hnou}


async def finished_run(client: Client, token: str, run_id: int) -> dict[str, object]:
    """The run once it has ended (it goes on in the background of the test server)."""
    for _ in range(600):
        answer = await client.get(f"/api/v1/reconciliations/{run_id}", headers=bearer(token))
        assert answer.status == 200, await answer.text()
        document: dict[str, object] = await answer.json()
        if document["status"] != "running":
            return document
        await asyncio.sleep(0.05)
    raise AssertionError(f"run {run_id} did not end")


async def reconcile(client: Client, token: str, request: dict[str, object]) -> dict[str, object]:
    started = await client.post("/api/v1/reconciliations", json=request, headers=bearer(token))
    assert started.status == 202, await started.text()
    return await finished_run(client, token, int((await started.json())["id"]))


async def discrepancies(client: Client, token: str, query: str = "status=open") -> list[dict[str, object]]:
    """Every discrepancy the listing gives, page after page."""
    found: list[dict[str, object]] = []
    cursor = ""
    while True:
        answer = await client.get(f"/api/v1/discrepancies?{query}&limit=2{cursor}", headers=bearer(token))
        assert answer.status == 200, await answer.text()
        page = await answer.json()
        found += page["items"]
        if page["next_cursor"] is None:
            return found
        cursor = f"&cursor={page['next_cursor']}"
