"""Reconciliation through the operators' API, on SQLite and PostgreSQL, against the three vendors'
simulators: each seeded with records of every discrepancy kind, a run finds exactly them, each
resolution appends exactly its entries, and a re-run is clean."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

import httpx
import pytest
from sqlalchemy import func, select
from structlog.testing import capture_logs

from gateway.jobs import run_exclusively, running_scheduler
from ledger.model import Entry, EntryKind, Source
from ledger.reconciliation.store import RUN
from sso.access.model import AuditAction, AuditOutcome, Role

from .access_support import (
    Client,
    ClientMaker,
    Staff,
    audit_entries,
    bearer,
    hub_of,
    new_token,
    register,
    serve_hub,
)
from .reconciliation_support import (
    EXPECTED_KINDS,
    RESOLUTIONS,
    SEEDS,
    STRANGER_ID_NUMBER,
    Scenario,
    ServerMaker,
    Vendors,
    discrepancies,
    finished_run,
    reconcile,
    serve_vendors,
    with_vendors,
)

DISCREPANCY_FIELDS: Final = {
    "id",
    "vendor",
    "kind",
    "record_id",
    "person_id",
    "ledger",
    "vendor_record",
    "status",
    "opened_at",
    "resolution",
}
RESOLVED: Final = AuditAction.DISCREPANCY_RESOLVED


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
async def vendors(aiohttp_server: ServerMaker, http: httpx.AsyncClient) -> Vendors:
    return await serve_vendors(aiohttp_server, http)


@pytest.fixture
async def client(aiohttp_client: ClientMaker, settings_file: Path, database_url: str, vendors: Vendors) -> Client:
    client = await serve_hub(aiohttp_client, with_vendors(settings_file, vendors), database_url)
    vendors.point_at(str(client.make_url("")).rstrip("/"))
    return client


@pytest.fixture
async def staff(client: Client) -> Staff:
    return await register(client, 1, "430100-0001")


@pytest.fixture
async def operator(client: Client) -> str:
    return await new_token(client, Role.OPERATOR)


@pytest.mark.parametrize("vendor", ["ischinese", "webtrn", "hnou"])
async def test_a_run_finds_exactly_each_kind_each_resolution_appends_its_entries_and_a_rerun_is_clean(
    vendor: str, client: Client, vendors: Vendors, staff: Staff, operator: str
) -> None:
    scenario: Scenario = await SEEDS[vendor](client, vendors, staff)
    ledger = hub_of(client).ledger
    position = await ledger.position(Source.WEBTRN)

    run = await reconcile(client, operator, scenario.request)

    assert run["status"] == "succeeded", run
    assert run["counts"] == {
        "compared": 6,
        "missing_in_ledger": 1,
        "missing_at_vendor": 1,
        "different": 2,
        "unknown_person": 1,
    }
    found = {item["record_id"]: item for item in await discrepancies(client, operator, f"status=open&vendor={vendor}")}
    roles = {record_id: role for role, record_id in scenario.ids.items()}
    assert {roles[record_id]: (item["kind"], item["differences"]) for record_id, item in found.items()} == {
        role: (kind.value, differences) for role, (kind, differences) in EXPECTED_KINDS.items()
    }
    assert await ledger.position(Source.WEBTRN) == position  # a scan never moves the pull's watermark

    head = (await ledger.verify_chain()).head_seq
    for role, (action, _entries) in RESOLUTIONS.items():
        answer = await client.post(
            f"/api/v1/discrepancies/{found[scenario.ids[role]]['id']}/resolve",
            json={"action": action.value, "reason": f"resolving {role}"},
            headers=bearer(operator),
        )
        assert answer.status == 200, await answer.text()
        assert (await answer.json())["status"] == "resolved"

    appended = [entry for entry in await ledger.entries_of(staff.id, 2021) if entry.seq > head]
    expected = [
        (scenario.ids[role], kind, revision)
        for role, (_action, entries) in RESOLUTIONS.items()
        for kind, revision in entries
    ]
    assert [(entry.record_id, entry.kind, _revision(entry)) for entry in appended] == expected
    assert {entry.actor for entry in appended} == {f"operator:{await _token_id(client, operator)}"}
    assert (await ledger.verify_chain()).intact
    assert await ledger.balance_mismatches() == []

    rerun = await reconcile(client, operator, scenario.request)

    assert rerun["status"] == "succeeded"
    assert rerun["counts"] == {
        "compared": 6,
        "missing_in_ledger": 0,
        "missing_at_vendor": 0,
        "different": 0,
        "unknown_person": 0,
    }
    assert await discrepancies(client, operator, f"status=open&vendor={vendor}") == []


async def test_the_answers_have_the_shapes_operators_script_against(
    client: Client, vendors: Vendors, staff: Staff, operator: str
) -> None:
    scenario = await SEEDS["ischinese"](client, vendors, staff)

    started = await client.post("/api/v1/reconciliations", json=scenario.request, headers=bearer(operator))

    body = await started.json()
    assert (started.status, set(body), body["status"]) == (202, {"id", "status"}, "running")
    assert started.headers["Location"] == f"/api/v1/reconciliations/{body['id']}"
    run = await finished_run(client, operator, body["id"])
    assert {"id", "vendor", "status", "started_at", "finished_at", "counts"} <= set(run)
    assert (run["id"], run["vendor"], run["status"]) == (body["id"], "ischinese", "succeeded")
    assert run["started_by"] == f"operator:{await _token_id(client, operator)}"
    assert set(run["counts"]) == {"compared", "missing_in_ledger", "missing_at_vendor", "different", "unknown_person"}
    found = await discrepancies(client, operator)
    assert all(set(item) >= DISCREPANCY_FIELDS for item in found)
    by_kind = {item["kind"]: item for item in found}
    lost, gone = by_kind["missing_in_ledger"], by_kind["missing_at_vendor"]
    assert (lost["ledger"], lost["vendor_record"]["completion_id"], lost["person_id"]) == (None, "c-lost", staff.id)
    assert (gone["vendor_record"], gone["ledger"]["status"], gone["ledger"]["hours"]) == (None, "counted", "1.50")
    assert (by_kind["different"]["status"], by_kind["different"]["resolution"]) == ("open", None)

    answer = await client.post(
        f"/api/v1/discrepancies/{gone['id']}/resolve",
        json={"action": "reverse", "reason": "下架"},
        headers=bearer(operator),
    )

    resolved = await answer.json()
    assert (answer.status, resolved["id"], resolved["status"]) == (200, gone["id"], "resolved")
    resolution = resolved["resolution"]
    assert (resolution["action"], resolution["reason"], len(resolution["entry_seqs"])) == ("reverse", "下架", 1)
    assert resolution["resolved_by"] == run["started_by"]
    assert [item["id"] for item in await discrepancies(client, operator, "status=resolved")] == [gone["id"]]


async def test_operators_only_with_401_for_no_credentials_and_404_for_anyone_else(
    client: Client, vendors: Vendors, staff: Staff, operator: str
) -> None:
    await SEEDS["ischinese"](client, vendors, staff)
    await reconcile(client, operator, {"vendor": "ischinese", "year": 2021})
    (item, *_rest) = await discrepancies(client, operator)
    calls = [
        ("POST", "/api/v1/reconciliations", {"vendor": "ischinese", "year": 2021}),
        ("GET", "/api/v1/reconciliations/1", None),
        ("GET", "/api/v1/discrepancies", None),
        ("POST", f"/api/v1/discrepancies/{item['id']}/resolve", {"action": "accept", "reason": "ok"}),
    ]
    auditor = await new_token(client, Role.AUDITOR)
    supervisor = await new_token(client, Role.SUPERVISOR, institution="430100-0001")

    for method, path, document in calls:
        anonymous = await client.request(method, path, json=document)
        assert anonymous.status == 401, path
        assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
        assert anonymous.content_type == "application/problem+json"
        for token in (auditor, supervisor):
            assert (await client.request(method, path, json=document, headers=bearer(token))).status == 404, path

    assert (await discrepancies(client, operator))[0]["status"] == "open"


async def test_unknown_ids_are_404_and_resolving_twice_409_and_an_unfitting_action_422(
    client: Client, vendors: Vendors, staff: Staff, operator: str
) -> None:
    await SEEDS["ischinese"](client, vendors, staff)
    await reconcile(client, operator, {"vendor": "ischinese", "year": 2021})
    by_kind = {item["kind"]: item for item in await discrepancies(client, operator)}
    ledger = hub_of(client).ledger
    head = (await ledger.verify_chain()).head_seq

    async def resolve(discrepancy_id: object, document: object) -> tuple[int, dict[str, object]]:
        answer = await client.post(
            f"/api/v1/discrepancies/{discrepancy_id}/resolve", json=document, headers=bearer(operator)
        )
        return answer.status, await answer.json()

    assert (await client.get("/api/v1/reconciliations/999", headers=bearer(operator))).status == 404
    assert (await client.get("/api/v1/reconciliations/x1", headers=bearer(operator))).status == 404
    assert (await resolve(999, {"action": "accept", "reason": "ok"}))[0] == 404
    status, problem = await resolve(by_kind["unknown_person"]["id"], {"action": "ingest", "reason": "try"})
    assert (status, [error["field"] for error in problem["errors"]]) == (422, ["action"])
    status, problem = await resolve(by_kind["missing_in_ledger"]["id"], {"action": "reverse", "reason": "try"})
    assert (status, problem["type"].rsplit("/", 1)[-1]) == (422, "invalid_reconciliation_request")
    status, problem = await resolve(by_kind["missing_at_vendor"]["id"], {"action": "throw", "reason": ""})
    assert (status, [error["field"] for error in problem["errors"]]) == (422, ["action", "reason"])
    assert (await resolve(by_kind["missing_at_vendor"]["id"], {"action": "accept", "reason": "ok"}))[0] == 200
    status, problem = await resolve(by_kind["missing_at_vendor"]["id"], {"action": "reverse", "reason": "again"})
    assert (status, problem["title"]) == (409, "The discrepancy is already resolved")

    assert (await ledger.verify_chain()).head_seq == head
    outcomes = [(entry.action, entry.outcome) for entry in await audit_entries(client) if entry.action is RESOLVED]
    assert outcomes == [
        (RESOLVED, AuditOutcome.REFUSED),
        (RESOLVED, AuditOutcome.REFUSED),
        (RESOLVED, AuditOutcome.REFUSED),
        (RESOLVED, AuditOutcome.REFUSED),
        (RESOLVED, AuditOutcome.SUCCEEDED),
        (RESOLVED, AuditOutcome.REFUSED),
    ]


@pytest.mark.parametrize(
    ("document", "fields"),
    [
        ({"vendor": "ischinese", "year": 2022}, ["year"]),
        ({"vendor": "hnou", "from": "2021-12-31", "to": "2022-01-01"}, ["from"]),
        ({"vendor": "offline", "year": 2021}, ["vendor"]),
        ({"year": 2021, "extra": True}, ["extra", "vendor"]),
    ],
)
async def test_a_bad_request_to_start_is_422_and_nothing_is_recorded(
    client: Client, operator: str, document: dict[str, object], fields: list[str]
) -> None:
    answer = await client.post("/api/v1/reconciliations", json=document, headers=bearer(operator))

    problem = await answer.json()
    assert (answer.status, sorted(error["field"] for error in problem["errors"])) == (422, sorted(fields))
    async with hub_of(client).engine.connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(RUN)) == 0
    (entry,) = await audit_entries(client)
    assert (entry.action, entry.outcome) == (AuditAction.RECONCILIATION_STARTED, AuditOutcome.REFUSED)


async def test_a_second_run_of_a_vendor_under_way_is_409(client: Client, vendors: Vendors, operator: str) -> None:
    arrived = vendors.webtrn.stall(on_request=1)
    first = await client.post(
        "/api/v1/reconciliations", json={"vendor": "webtrn", "year": 2021}, headers=bearer(operator)
    )
    await arrived.wait()

    second = await client.post(
        "/api/v1/reconciliations", json={"vendor": "webtrn", "year": 2021}, headers=bearer(operator)
    )
    other = await client.post(
        "/api/v1/reconciliations",
        json={"vendor": "hnou", "from": "2021-06-01", "to": "2021-06-01"},
        headers=bearer(operator),
    )

    assert (first.status, second.status, other.status) == (202, 409, 202)
    vendors.webtrn.release()
    assert (await finished_run(client, operator, (await first.json())["id"]))["status"] == "succeeded"


async def test_a_vendor_failing_mid_run_leaves_it_failed_and_the_next_starts_clean(
    client: Client, vendors: Vendors, staff: Staff, operator: str
) -> None:
    await SEEDS["webtrn"](client, vendors, staff)
    vendors.webtrn.answer(404, on_requests=[vendors.webtrn.page_requests + 2])

    failed = await reconcile(client, operator, {"vendor": "webtrn", "year": 2021})

    assert (failed["status"], failed["failure"]) == (
        "failed",
        "vendor_read_failed: webtrn's scan from 2021-01-01: webtrn answered 404 to a page request",
    )
    assert failed["counts"]["compared"] == 3  # the first page, of three items
    clean = await reconcile(client, operator, {"vendor": "webtrn", "year": 2021})
    assert (clean["status"], clean["counts"]["compared"]) == ("succeeded", 6)


async def _token_id(client: Client, secret: str) -> int:
    return int((await hub_of(client).access.tokens.authenticate(secret)).id)


async def test_the_nightly_jobs_reconcile_each_configured_vendor(
    client: Client, vendors: Vendors, staff: Staff, operator: str
) -> None:
    await SEEDS["ischinese"](client, vendors, staff)
    hub = hub_of(client)

    with capture_logs() as logs:
        assert await run_exclusively(hub, "reconcile_ischinese")
        assert await run_exclusively(hub, "reconcile_hnou")  # yesterday's year has no rules here

    run = await hub.reconciliations.run_of(1)
    assert (run.vendor, run.scope.year, run.started_by, run.status.value) == (
        Source.ISCHINESE,
        2021,
        "scheduler",
        "succeeded",
    )
    assert run.counts.discrepancies == 5
    skipped = [log for log in logs if log["event"] == "reconciliation_skipped"]
    assert [(log["vendor"], log["reason"]) for log in skipped] == [("hnou", "no rules for the days it would cover")]
    async with running_scheduler(hub) as scheduler:
        jobs = {job.id: str(job.trigger) for job in scheduler.get_jobs()}
    assert jobs["reconcile_ischinese"] == "cron[hour='3', minute='0']"
    assert {"reconcile_webtrn", "reconcile_hnou"} <= set(jobs)


async def test_reconciling_hnou_leaves_no_id_number_in_logs_answers_or_database(
    client: Client,
    vendors: Vendors,
    staff: Staff,
    operator: str,
    personal_data_probe: Any,
) -> None:
    scenario = await SEEDS["hnou"](client, vendors, staff)
    await reconcile(client, operator, scenario.request)
    found = await discrepancies(client, operator)
    for item in found:
        action = (
            "accept"
            if item["kind"] == "unknown_person"
            else "ingest"
            if item["kind"] != "missing_at_vendor"
            else "reverse"
        )
        answer = await client.post(
            f"/api/v1/discrepancies/{item['id']}/resolve",
            json={"action": action, "reason": "checked"},
            headers=bearer(operator),
        )
        assert answer.status == 200, await answer.text()

    answers = json.dumps(await discrepancies(client, operator, "status=resolved"), ensure_ascii=False)
    needles = {
        form for number in (staff.id_number, STRANGER_ID_NUMBER) for form in (number, number.lower(), number[:17])
    }
    assert [needle for needle in needles if needle in answers] == []
    assert "110105********0011" in answers  # the stranger's, masked as every API answer masks it
    assert await personal_data_probe.places_holding(needles) == {}


def _revision(entry: Entry) -> int:
    """1 for a record's first credit and reversals of it; 2 for a credit that replaces another."""
    return 2 if entry.kind is EntryKind.CREDIT and entry.reverses_seq is not None else 1
