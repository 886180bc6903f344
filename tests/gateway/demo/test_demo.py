"""``hub demo --once`` through the real ``hub`` program, in a temporary directory, with the fewest staff
it takes (``make demo`` plays 300).

One of the slow tests (about 30 s, played once for the module): the people register with the hub's
real password hashing and go through the SSO flows, the three vendors deliver a year of hours, and an
operator reconciles. Then the demo's database is served again, and what the demo printed is tried
against it: the logins, the tokens, the recovered records.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from config import load_settings
from gateway.app import create_app
from gateway.bootstrap import Hub
from gateway.demo import STAFF_COUNT_RANGE
from gateway.demo.browser import Browser
from gateway.demo.cast import INSTITUTIONS
from gateway.keys import HUB as HUB_KEY
from ledger.model import PersonId
from ledger.reconciliation.model import DiscrepancyKind, DiscrepancyQuery, DiscrepancyStatus, ResolutionAction
from sso.certificates.model import CertificateStatus

from ..conftest import HUB, RunHub

Client = Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]]

pytestmark = pytest.mark.xdist_group("demo")  # one worker plays the demo once for all the module's tests

STAFF = STAFF_COUNT_RANGE.start
DEMO_SECONDS_MAX = 600
SOURCE_LINE = re.compile(
    r"^\s+(ischinese|webtrn|hnou|offline|continuing_ed)\s+(\d+) credits, (\d+) reversals,\s+([\d.]+) h counted$", re.M
)
RUN_LINE = re.compile(
    r"reconciliations (ischinese|webtrn|hnou) .* → run \d+: succeeded, \d+ records compared, (.*)$", re.M
)
SIGN_IN_LINE = re.compile(r"sign in as \S+ \((meets|does not meet) 2021.*\): ID number (\w+), password (\S+)$", re.M)
TOKEN_LINE = re.compile(r"^\s+(operator|supervisor|auditor)\s+.*: (hub_[\w-]+)$", re.M)
CONSOLE_LINE = re.compile(r"the console\s+http://127\.0\.0\.1:\d+(/\S+): paste")


@dataclass(frozen=True, slots=True)
class Played:
    output: str
    settings_file: Path


@pytest.fixture(scope="session")
def played(tmp_path_factory: pytest.TempPathFactory) -> Played:
    """The demo, played once for the module's tests as ``make demo`` plays it, with fewer staff. Of the session,
    not the module: a worker of pytest-xdist may run other modules' tests between these, which would end a
    module's fixture and play the demo again."""
    directory = tmp_path_factory.mktemp("demo")
    clean = {key: value for key, value in os.environ.items() if not key.startswith("HUB")}
    result = subprocess.run(  # noqa: S603  (our own program, with arguments from the test)
        [str(HUB), "demo", "--once", "--staff", str(STAFF)],
        capture_output=True,
        text=True,
        timeout=DEMO_SECONDS_MAX,
        cwd=directory,
        env=clean,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return Played(result.stdout, directory / "var" / "demo" / "hub.toml")


@pytest.fixture
async def hub_again(played: Played, aiohttp_client: Client) -> TestClient[web.Request, web.Application]:
    """The demo's hub served again on its database, as ``hub demo`` keeps serving it without ``--once``."""
    return await aiohttp_client(create_app(load_settings(played.settings_file), scheduler=False))


def test_the_demo_runs_to_the_end_and_leaves_an_intact_ledger(played: Played, run_hub: RunHub) -> None:
    output = played.output
    stored = {
        source: (int(credits), Decimal(hours)) for source, credits, _reversals, hours in SOURCE_LINE.findall(output)
    }
    assert set(stored) == {"ischinese", "webtrn", "hnou", "offline", "continuing_ed"}
    assert all(credits > 0 and hours > 0 for credits, hours in stored.values())
    assert re.search(r"chain intact: \d+ entries", output)
    assert "balances equal a full recomputation: yes" in output
    meeting = re.search(rf"(\d+) of {STAFF} people meet 2021", output)
    assert meeting is not None
    valid = re.search(r"(\d+) valid certificates", output)
    assert valid is not None
    assert valid.group(1) == meeting.group(1) != "0"
    assert re.search(r"verify one: http://127\.0\.0\.1:\d+/verify/2021-[0-9A-Z]{4}(-[0-9A-Z]{4}){3}", output)
    assert re.search(r"files XXPX-2021-000001 .* it goes to\s+湖南省卫生健康委员会", output)
    assert re.search(r"corrected → \d+ counted, 0 counted before", output)
    assert re.search(r"the same file again → 0 counted, \d+ counted before", output)
    for told in (
        "→ pending",
        "→ duplicate",
        "(conflict)",
        "(unknown person)",
        "hub pull hnou --date",
        "3 lost",
        "→ 422",
    ):
        assert told in output

    verified = run_hub("ledger", "verify", "--config", str(played.settings_file))
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("ledger intact:")


def test_reconciliation_finds_what_went_astray_and_brings_someone_over_the_line(played: Played) -> None:
    runs = dict(RUN_LINE.findall(played.output))
    recovered = re.search(r"(\d+) of (\d+) people meet 2021 only thanks to a recovered record", played.output)

    assert set(runs) == {"ischinese", "webtrn", "hnou"}
    assert "3 missing_in_ledger" in runs["ischinese"]
    assert "1 different" in runs["ischinese"]
    assert "1 missing_in_ledger" in runs["webtrn"]
    assert "1 missing_in_ledger" in runs["hnou"]
    assert recovered is not None
    assert int(recovered.group(1)) >= 1


async def test_the_recovered_records_are_in_the_ledger_and_their_people_certified(
    hub_again: TestClient[web.Request, web.Application],
) -> None:
    hub: Hub = hub_again.app[HUB_KEY]
    page = await hub.reconciliations.discrepancies(DiscrepancyQuery(status=DiscrepancyStatus.RESOLVED, limit=100))
    ingested = [
        item
        for item in page.items
        if item.kind is DiscrepancyKind.MISSING_IN_LEDGER
        and item.resolution is not None
        and item.resolution.action is ResolutionAction.INGEST
    ]

    assert {item.vendor.value for item in ingested} == {"ischinese", "webtrn", "hnou"}
    for item in ingested:
        assert item.person_id is not None
        entries = await hub.ledger.entries_of(item.person_id, 2021)
        [entry] = [entry for entry in entries if (entry.source, entry.record_id) == (item.vendor.value, item.record_id)]
        assert item.resolution is not None
        assert entry.seq in item.resolution.entry_seqs
    certified = [
        item.person_id
        for item in ingested
        if item.person_id is not None and await _has_certificate(hub, item.person_id)
    ]
    assert certified
    assert await hub.ledger.held_records()  # the unknown learners wait; the superseded conflict does not
    assert {record.reason for record in await hub.ledger.held_records()} == {"unknown_person"}


async def test_every_staff_member_is_in_the_hub(hub_again: TestClient[web.Request, web.Application]) -> None:
    hub: Hub = hub_again.app[HUB_KEY]

    members = await hub.people.roster([institution.code for institution in INSTITUTIONS], after=None, count=1000)

    assert len(members) == STAFF
    assert {member.unit_code for member in members} == {institution.code for institution in INSTITUTIONS}


async def test_the_printed_staff_logins_work_and_one_meets_the_year_by_a_recovered_record(
    played: Played, hub_again: TestClient[web.Request, web.Application]
) -> None:
    hub: Hub = hub_again.app[HUB_KEY]
    resolved = await hub.reconciliations.discrepancies(DiscrepancyQuery(status=DiscrepancyStatus.RESOLVED, limit=100))
    recovered_seqs = {seq for item in resolved.items if item.resolution for seq in item.resolution.entry_seqs}
    seen = {}
    for verdict, id_number, password in SIGN_IN_LINE.findall(played.output):
        hub_again.session.cookie_jar.clear()
        signed_in = await hub_again.post("/api/v1/login", json={"id_number": id_number, "password": password})
        assert signed_in.status == 200, await signed_in.text()
        certificates = await hub_again.get("/api/v1/me/certificates")
        hours = await hub_again.get("/api/v1/me/hours", params={"year": "2021"})
        assert (certificates.status, hours.status) == (200, 200)
        seen[verdict] = (await certificates.json(), await hours.json())

    assert set(seen) == {"meets", "does not meet"}
    certificates, hours = seen["meets"]
    assert [item["status"] for item in certificates["items"]] == ["valid"]
    assert hours["met"] is True
    assert {entry["id"] for entry in hours["entries"]} & recovered_seqs
    assert "meets 2021 thanks to a record reconciliation recovered" in played.output
    certificates, hours = seen["does not meet"]
    assert certificates["items"] == []
    assert hours["met"] is False


async def test_the_printed_console_tokens_work_in_their_roles_and_scopes(
    played: Played, hub_again: TestClient[web.Request, web.Application]
) -> None:
    tokens = dict(TOKEN_LINE.findall(played.output))
    console = CONSOLE_LINE.search(played.output)
    assert console is not None

    async def status(path: str, role: str) -> int:
        answer = await hub_again.get(path, headers={"Authorization": f"Bearer {tokens[role]}"})
        return answer.status

    assert set(tokens) == {"operator", "supervisor", "auditor"}
    assert await status("/api/v1/discrepancies", "operator") == 200
    assert await status("/api/v1/units/430100-personnel/compliance?year=2021", "supervisor") == 200
    assert await status("/api/v1/units/430000-health/compliance?year=2021", "supervisor") == 404
    assert await status("/metrics", "auditor") == 200
    assert await status("/api/v1/discrepancies", "auditor") == 404
    for role in ("operator", "supervisor", "auditor"):
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            browser = Browser(session)
            sign_in = await browser.get(hub_again.make_url(console.group(1)))
            signed_in = await browser.submit(sign_in, token=tokens[role])
            landing = await browser.follow(signed_in)
        assert sign_in.status == 200
        assert signed_in.status == 303
        assert landing.status == 200, role


async def _has_certificate(hub: Hub, person_id: PersonId) -> bool:
    return any(item.certificate.status is CertificateStatus.VALID for item in await hub.certificates.history(person_id))


def test_a_staff_count_outside_the_story_is_refused_in_one_line(run_hub: RunHub) -> None:
    result = run_hub("demo", "--once", "--staff", str(STAFF_COUNT_RANGE.start - 1))

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        f"hub: error: the demonstration takes {STAFF_COUNT_RANGE.start} to {STAFF_COUNT_RANGE.stop - 1} staff"
    ]
