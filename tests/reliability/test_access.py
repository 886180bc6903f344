"""Broken object- and function-level authorisation: each caller asks for what is outside their role
or scope and gets 404 with nothing of the target in it; without credentials, 401 with a challenge.

A table, so that each endpoint that lands later takes a line: who calls, what, and the answer due.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from sso.access.model import Role, token_request

from ..gateway.handoff_support import sqlite_copy
from .conftest import FreshDatabase, Scenario
from .stage import HubInProcess, hub_in_this_process

OTHER_INSTITUTION = "430181-0001"
"""Not the institution the learners work at (``registration_form``'s 430100-0001)."""


@dataclass(frozen=True, slots=True)
class Check:
    caller: str
    """``nobody``, ``staff`` (the first learner, signed in), ``operator``, ``auditor``, or
    ``supervisor`` (of another institution than the learners')."""
    method: str
    path: str
    """``{other}``: the second learner's person id; ``{self}``: the first's."""
    status: int
    body: dict[str, object] | None = None


CHECKS = (
    # A member of staff reading another's data, or their own through the operators' API.
    Check("staff", "GET", "/api/v1/people/{other}", 404),
    Check("staff", "GET", "/api/v1/people/{other}/ledger?year=2021", 404),
    Check("staff", "GET", "/api/v1/people/{self}", 404),
    Check("staff", "GET", "/api/v1/audit-log", 404),
    Check("staff", "GET", "/api/v1/exports/ledger?year=2021&format=csv", 404),
    # A supervisor outside their subtree.
    Check("supervisor", "GET", "/api/v1/people/{other}", 404),
    Check("supervisor", "GET", "/api/v1/people/{other}/ledger?year=2021", 404),
    Check("supervisor", "GET", "/api/v1/audit-log", 404),
    Check("supervisor", "GET", "/api/v1/exports/ledger?year=2021&format=csv", 404),
    Check("supervisor", "POST", "/api/v1/people/{other}/deactivation", 404),
    # An auditor acting: every change is an operator's.
    Check("auditor", "POST", "/api/v1/people/{other}/deactivation", 404),
    Check("auditor", "POST", "/api/v1/people/{other}/password-reset", 404),
    Check("auditor", "POST", "/api/v1/people/{other}/transfer", 404, {"unit_code": OTHER_INSTITUTION}),
    Check("auditor", "POST", "/api/v1/people/{other}/id-number", 404, {"id_number": "110105194912310011"}),
    # An operator where only auditors go.
    Check("operator", "GET", "/api/v1/audit-log", 404),
    Check("operator", "GET", "/api/v1/exports/ledger?year=2021&format=csv", 404),
    Check("operator", "GET", "/api/v1/ledger/verify", 404),
    # The staff pages: without a session, the browser is sent to the login page (a token is no session).
    Check("nobody", "GET", "/me", 303),
    Check("nobody", "GET", "/me/profile", 303),
    Check("nobody", "GET", "/me/training?year=2021", 303),
    Check("operator", "GET", "/me", 303),
    Check("supervisor", "GET", "/me/training?year=2021", 303),
    Check("nobody", "GET", "/me/certificates", 303),
    Check("operator", "GET", "/me/certificates/apply?year=2021", 303),
    Check("nobody", "POST", "/me/certificates", 303, {"year": 2021, "entry_ids": [1]}),
    Check("supervisor", "GET", "/me/messages", 303),
    Check("nobody", "POST", "/me/messages/1/read", 303),
    Check("auditor", "GET", "/me/feedback", 303),
    Check("nobody", "POST", "/me/feedback", 303, {"subject": "x", "text": "x"}),
    # Without credentials.
    # reconciliation, quarantine and vendor health: operators only
    Check("auditor", "POST", "/api/v1/discrepancies/1/resolve", 404, {"action": "accept", "reason": "audit"}),
    Check("supervisor", "POST", "/api/v1/discrepancies/1/resolve", 404, {"action": "accept", "reason": "x"}),
    Check("staff", "GET", "/api/v1/discrepancies", 404),
    Check("auditor", "POST", "/api/v1/reconciliations", 404, {"vendor": "ischinese", "year": 2021}),
    Check("supervisor", "GET", "/api/v1/reconciliations/1", 404),
    Check("auditor", "GET", "/api/v1/quarantine", 404),
    Check("supervisor", "POST", "/api/v1/quarantine/1/release", 404, {"reason": "x"}),
    Check("staff", "POST", "/api/v1/quarantine/1/reject", 404, {"reason": "x"}),
    Check("auditor", "GET", "/api/v1/health/vendors", 404),
    # certificates: their owner, or a supervisor in scope
    Check("staff", "GET", "/api/v1/certificates/2021-AAAA-BBBB-CCCC-DDDD.pdf", 404),
    Check("supervisor", "GET", "/api/v1/certificates/2021-AAAA-BBBB-CCCC-DDDD.pdf", 404),
    # offline trainings and continuing education
    Check("staff", "GET", "/api/v1/offline-trainings", 404),
    Check("auditor", "POST", "/api/v1/offline-trainings/XXPX-2021-000001/approval", 404),
    Check("supervisor", "POST", "/api/v1/continuing-education/imports", 404),
    # supervision: within the supervisor's subtree only
    Check("supervisor", "GET", "/api/v1/units/430100-0001/compliance?year=2021", 404),
    Check("supervisor", "GET", "/api/v1/units/430000/vendor-share?year=2021", 404),
    Check("staff", "GET", "/api/v1/feedback", 404),
    Check("operator", "POST", "/api/v1/feedback/1/answer", 404, {"text": "x"}),
    Check("nobody", "GET", "/api/v1/me/certificates", 401),
    Check("nobody", "GET", "/api/v1/discrepancies", 401),
    Check("nobody", "GET", "/api/v1/quarantine", 401),
    # the operators' console: a page session of an operator's token
    Check("staff", "GET", "/console", 404),
    Check("staff", "GET", "/console/discrepancies", 404),
    Check("nobody", "GET", "/console/quarantine", 303),
    Check("staff", "GET", "/console/filings", 404),
    Check("staff", "GET", "/console/password-reset", 404),
    Check("nobody", "GET", "/console/password-reset", 303),
    # the supervisors' and auditors' console pages: a page session of their token, not the token itself
    Check("staff", "GET", "/console/compliance?unit=430100-0001&year=2021", 404),
    Check("staff", "GET", "/console/feedback", 404),
    Check("staff", "GET", "/console/exports", 404),
    Check("staff", "POST", "/console/verification", 404),
    Check("supervisor", "GET", "/console/vendor-share?unit=430000&year=2021", 303),
    Check("auditor", "GET", "/console/verification", 303),
    Check("nobody", "GET", "/console/compliance/short", 303),
    Check("nobody", "GET", "/api/v1/people/{other}", 401),
    Check("nobody", "GET", "/api/v1/me", 401),
    Check("nobody", "GET", "/api/v1/audit-log", 401),
    Check("nobody", "POST", "/api/v1/people/{other}/deactivation", 401),
)


async def _credentials(hub: HubInProcess) -> dict[str, dict[str, str]]:
    organisation = await hub.hub.organisation.organisation()
    session = await hub.hub.people.open_session(hub.learners[0].person_id)
    credentials = {"nobody": {}, "staff": {"Cookie": f"hub_session={session}"}}
    for role, institution in ((Role.OPERATOR, None), (Role.AUDITOR, None), (Role.SUPERVISOR, OTHER_INSTITUTION)):
        request = token_request(
            organisation, role=role.value, department=None, institution=institution, lifetime_days=1
        )
        credentials[role.value] = {"Authorization": f"Bearer {(await hub.hub.access.tokens.issue(request)).secret}"}
    return credentials


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
async def test_callers_outside_their_role_or_scope_get_404_and_nobody_401(
    dialect: str, tmp_path: Path, sqlite_template: Path, fresh_postgresql: FreshDatabase, scenario: Scenario
) -> None:
    database_url = await fresh_postgresql() if dialect == "postgresql" else sqlite_copy(tmp_path, sqlite_template)
    answers = []
    async with (
        hub_in_this_process(tmp_path, database_url, scenario.evidence, learners=2) as hub,
        aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http,
    ):
        credentials = await _credentials(hub)
        first, second = hub.learners
        for check in CHECKS:
            path = check.path.format(other=second.person_id, self=first.person_id)
            async with http.request(
                check.method, hub.url + path, json=check.body, headers=credentials[check.caller], allow_redirects=False
            ) as answer:
                text = await answer.text()
                answers.append((check, answer.status, answer.headers.get("WWW-Authenticate"), text))

    wrong = [
        f"{check.caller} {check.method} {check.path}: {status}"
        for check, status, challenge, _text in answers
        if status != check.status or (status == 401 and not challenge)
    ]
    leaked = [
        f"{check.caller} {check.method} {check.path}"
        for check, _status, _challenge, text in answers
        if any(secret in text for secret in (second.name, second.id_number, second.id_number[-4:] + '"'))
    ]
    scenario.record_figures(
        f"access_{dialect}",
        f"Access: object and function level authorisation ({dialect})",
        {"checks": len(CHECKS), "answers not as due": len(wrong), "answers leaking the target": len(leaked)},
    )
    assert wrong == []
    assert leaked == []
