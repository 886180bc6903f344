"""Helpers of the tests of bearer tokens, the audit log and the operators' endpoints: a hub with the sample
organisation served by a real aiohttp test server, people registered in it, and tokens for it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient

from config import load_settings
from gateway.app import create_app
from gateway.bootstrap import Hub
from gateway.database import create_engine
from gateway.keys import HUB
from ledger.model import PersonId
from sso.access.model import AuditEntry, AuditQuery, Role, TokenRequest, token_request
from sso.access.service import Access
from sso.handoff import Vendor
from sso.id_numbers import make_id_number
from sso.organisation import load_organisation
from sso.units.service import OrganisationService

from ..sso.people.forms import registration_form

ORGANISATION_FILE = Path(__file__).parents[2] / "config" / "organisation" / "hunan.json"

Client = TestClient[web.Request, web.Application]
ClientMaker = Callable[[web.Application], Awaitable[Client]]


async def serve_hub(aiohttp_client: ClientMaker, settings_file: Path, database_url: str) -> Client:
    """A test server of the whole hub on a database that holds the sample organisation."""
    engine = create_engine(database_url)
    await OrganisationService(engine).replace(load_organisation(ORGANISATION_FILE))
    await engine.dispose()
    return await aiohttp_client(create_app(load_settings(settings_file)))


def ischinese_settings(
    webhook_secret: str, *, api_base: str = "http://127.0.0.1:9/api", api_key: str = "test-ischinese-api-key"
) -> str:
    """The ``[vendors.ischinese]`` table of a settings file; its launch URL is on a port nobody listens on."""
    return f"""
[vendors.ischinese]
name = "思想天下"
jwt_alg = "EdDSA"
launch_url = "http://127.0.0.1:9/sso/launch"
webhook_secrets = ["{webhook_secret}"]
api_base = "{api_base}"
api_key = "{api_key}"
"""


def with_vendors(settings_file: Path, vendors: str) -> Path:
    """``settings_file`` with the vendor tables ``vendors`` appended to it."""
    settings_file.write_text(settings_file.read_text(encoding="utf-8") + vendors, encoding="utf-8")
    return settings_file


def hub_of(client: Client) -> Hub:
    return client.server.app[HUB]


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def new_token(
    client: Client,
    role: Role,
    *,
    department: str | None = None,
    institution: str | None = None,
    issued_at: datetime | None = None,
) -> str:
    """A new token's secret; ``issued_at`` issues it with a clock standing at that time (30 days' life)."""
    hub = hub_of(client)
    request: TokenRequest = token_request(
        await hub.organisation.organisation(),
        role=role.value,
        department=department,
        institution=institution,
        lifetime_days=30,
    )
    access = hub.access if issued_at is None else Access.on(hub.engine, lambda: issued_at)
    return (await access.tokens.issue(request)).secret


def long_ago() -> datetime:
    """A moment more than a token's and a reset link's lifetime ago."""
    return datetime.now(UTC) - timedelta(days=31)


@dataclass(frozen=True, slots=True)
class Staff:
    id: str
    id_number: str
    phone: str
    email: str


def registration(sequence: int, unit_code: str) -> dict[str, object]:
    """A valid registration form; each sequence number gives another ID number, phone and e-mail."""
    return registration_form(
        id_number=make_id_number("430102", date(1990, 3, 7), sequence, today=date(2021, 12, 1)),
        gender="女" if sequence % 2 == 0 else "男",
        phone=f"139{sequence:08d}",
        email=f"staff{sequence}@example.cn",
        unit_code=unit_code,
    )


async def register(client: Client, sequence: int, unit_code: str) -> Staff:
    form = registration(sequence, unit_code)
    person_id = await hub_of(client).people.register(form)
    return Staff(person_id, str(form["id_number"]), str(form["phone"]), str(form["email"]))


async def ischinese_learner(client: Client) -> tuple[Staff, str]:
    """A registered person and the pairwise ``sub`` the hub gave ischinese for them."""
    staff = await register(client, 1, "430100-0001")
    return staff, str(await hub_of(client).handoff.subject_for(PersonId(staff.id), Vendor.ISCHINESE))


async def audit_entries(client: Client) -> list[AuditEntry]:
    """The whole audit log, oldest first."""
    page = await hub_of(client).access.audit.page(AuditQuery(limit=200))
    return list(reversed(page.entries))
