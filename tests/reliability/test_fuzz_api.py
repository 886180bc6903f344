"""API fuzzing: schemathesis (pinned in pyproject.toml) generates requests for every operation of the
hub's ``/openapi.json``, positive and negative, and sends them to a real ``hub serve`` with each
role's credentials: nobody, a member of staff (session cookie), an operator, an auditor and a
supervisor (bearer tokens). No answer is a 5xx, and every error under ``/api/`` is problem+json.

Endpoints that land later are in the document, so they are fuzzed without a change here.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import HypothesisException
from schemathesis import GenerationMode

from config import load_settings
from gateway.bootstrap import open_hub
from gateway.demo.stage import ORGANISATION_FILE, VendorSecrets, settings_text
from sso.access.model import Role, token_request

from .cluster import free_port
from .conftest import FreshDatabase, Scenario
from .evidence import Evidence
from .stage import HubProcess, migrated, register_learners

SUPERVISED_INSTITUTION = "430100-0001"
DEAD_VENDOR = "http://127.0.0.1:9"
REQUEST_TIMEOUT_SECONDS = 30


@dataclass(frozen=True, slots=True)
class FuzzedHub:
    url: str
    credentials: dict[str, dict[str, str]]
    """Each role's headers: ``Authorization`` for token holders, ``Cookie`` for staff."""


async def _prepared(folder: Path, database_url: str, evidence: Evidence) -> tuple[Path, dict[str, dict[str, str]]]:
    """Settings, a migrated database, a signed-in member of staff and a token of each role."""
    port = free_port()
    shared = VendorSecrets.generate()
    urls = {"hub": f"http://127.0.0.1:{port}"} | dict.fromkeys(("ischinese", "webtrn", "hnou"), DEAD_VENDOR)
    settings_file = folder / "hub.toml"
    settings_file.write_text(
        settings_text(urls, database_url, folder / "data.key", ORGANISATION_FILE, shared), encoding="utf-8"
    )
    settings = load_settings(settings_file)
    await migrated(settings)
    evidence.keep_database(database_url)
    async with open_hub(settings) as hub:
        [learner] = await register_learners(hub, 1, evidence)
        session = await hub.people.open_session(learner.person_id)
        organisation = await hub.organisation.organisation()
        credentials = {"nobody": {}, "staff": {"Cookie": f"hub_session={session}"}}
        for role, institution in (
            (Role.OPERATOR, None),
            (Role.AUDITOR, None),
            (Role.SUPERVISOR, SUPERVISED_INSTITUTION),
        ):
            request = token_request(
                organisation, role=role.value, department=None, institution=institution, lifetime_days=1
            )
            secret = (await hub.access.tokens.issue(request)).secret
            evidence.secret(secret, f"{role.value}'s bearer token")
            credentials[role.value] = {"Authorization": f"Bearer {secret}"}
    evidence.secret(session, "a session token")
    return settings_file, credentials


@pytest.fixture
def fuzzed_hub(tmp_path: Path, fresh_postgresql: FreshDatabase, evidence: Evidence) -> Iterator[FuzzedHub]:
    database_url = asyncio.run(fresh_postgresql())
    settings_file, credentials = asyncio.run(_prepared(tmp_path, database_url, evidence))
    process = HubProcess(
        settings_file,
        int(load_settings(settings_file).hub.base_url.rsplit(":", 1)[1]),
        tmp_path / "hub.log",
        scheduler=False,
    )
    evidence.keep_log(process.log)
    process.start()
    try:
        asyncio.run(process.ready())
        yield FuzzedHub(process.url, credentials)
    finally:
        process.stop()


def _fuzzer(
    operation: schemathesis.APIOperation, headers: dict[str, str], statuses: Counter[int], examples: int
) -> Callable[[], None]:
    """A hypothesis test of one operation with one role's credentials, positive and negative cases."""
    strategy = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(GenerationMode.NEGATIVE)

    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def fuzz(case: schemathesis.Case) -> None:
        response = case.call(headers={**(case.headers or {}), **headers}, timeout=REQUEST_TIMEOUT_SECONDS)
        statuses[response.status_code] += 1
        content_type = (response.headers.get("content-type") or [""])[0]
        assert response.status_code < 500, f"{response.status_code}: {response.text[:300]}"
        if case.formatted_path.startswith("/api/") and response.status_code >= 400:
            assert content_type.startswith("application/problem+json"), f"{response.status_code} {content_type}"

    return fuzz  # type: ignore[no-any-return]


def test_no_request_of_any_role_gets_a_5xx_and_every_api_error_is_a_problem(
    fuzzed_hub: FuzzedHub, scenario: Scenario
) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzzed_hub.url}/openapi.json")
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        for role, headers in fuzzed_hub.credentials.items():
            fuzz = _fuzzer(operation, headers, statuses, scenario.sizes.fuzz_examples)
            try:
                fuzz()
            except (AssertionError, HypothesisException) as failure:
                failures.append(f"{operation.method.upper()} {operation.path} as {role}: {failure}")

    scenario.record_figures(
        "api_fuzzing",
        "API fuzzing: schemathesis over /openapi.json with every role's credentials",
        {
            "operations": len(operations),
            "roles": len(fuzzed_hub.credentials),
            "requests": sum(statuses.values()),
            "5xx answers": sum(count for status, count in statuses.items() if status >= 500),
            "operation and role pairs failing a check": len(failures),
        },
    )
    assert failures == []
