"""The vendors' health through a real aiohttp server on SQLite and PostgreSQL, in the API and as
Prometheus metrics: what arrived, what waits for an operator, the last success and the lag; who may
read them; and a scrape whose read fails says so instead of showing stale figures."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

import adapters.ingestion.service
from adapters.ingestion.errors import IngestionUnavailable
from adapters.ingestion.ports import NoDiscrepancyRecords
from gateway.metrics import metrics_registry
from gateway.runs import RunOutcome
from ledger.model import PersonId, Source
from sso.access.model import Role
from sso.handoff import Vendor

from .access_support import Client, ClientMaker, bearer, hub_of, new_token, register, serve_hub, with_vendors
from .test_ingestion import SECRET, VENDORS, WRONG_SECRET, completion, to_ischinese


@pytest.fixture
async def client(aiohttp_client: ClientMaker, settings_file: Path, database_url: str) -> Client:
    return await serve_hub(aiohttp_client, with_vendors(settings_file, VENDORS), database_url)


async def deliver(client: Client) -> None:
    """Two stored completions, a redelivery, one held for an unknown learner, one refused signature."""
    hub = hub_of(client)
    staff = await register(client, 1, "430100-0001")
    sub = await hub.handoff.subject_for(PersonId(staff.id), Vendor.ISCHINESE)
    for number in (1, 2, 2):
        assert await to_ischinese(client, completion(sub, f"c-{number}"), f"msg-{number}", secret=SECRET) == 200
    assert await to_ischinese(client, completion("never-issued", "c-9"), "msg-9") == 200
    assert await to_ischinese(client, completion(sub, "c-3"), "msg-3", secret=WRONG_SECRET) == 401


def by_vendor(document: Mapping[str, Any]) -> dict[str, Any]:
    return {vendor["vendor"]: vendor for vendor in document["vendors"]}


async def test_the_health_of_each_vendor(client: Client) -> None:
    await deliver(client)
    hub = hub_of(client)
    pulled_at = datetime.now(UTC) - timedelta(hours=2)
    await hub.runs.record(
        "pull_hnou", Source.HNOU, started_by="test", started_at=pulled_at, outcome=RunOutcome.SUCCEEDED, detail=""
    )
    await hub.runs.record(
        "pull_hnou", Source.HNOU, started_by="test", started_at=pulled_at, outcome=RunOutcome.FAILED, detail=""
    )
    operator = bearer(await new_token(client, Role.OPERATOR))

    response = await client.get("/api/v1/health/vendors", headers=operator)

    assert response.status == 200
    vendors = by_vendor(await response.json())
    ischinese, hnou, webtrn = vendors["ischinese"], vendors["hnou"], vendors["webtrn"]
    assert (ischinese["configured"], hnou["configured"], webtrn["configured"]) == (True, True, False)
    assert ischinese["counts"] == {"stored": 3, "refused": 1, "quarantined": 1}
    assert ischinese["open_discrepancies"] == 0
    assert ischinese["last_pull_at"] is None
    assert ischinese["last_success_at"] == ischinese["last_delivery_at"]
    assert 0 <= ischinese["lag_seconds"] < 60
    assert hnou["last_delivery_at"] is None
    assert hnou["last_success_at"] == hnou["last_pull_at"]
    assert hnou["lag_seconds"] >= 0
    assert (webtrn["last_success_at"], webtrn["lag_seconds"]) == (None, None)

    [held] = (await (await client.get("/api/v1/quarantine", headers=operator)).json())["items"]
    await client.post(f"/api/v1/quarantine/{held['id']}/reject", json={"reason": "a test account"}, headers=operator)
    after = by_vendor(await (await client.get("/api/v1/health/vendors", headers=operator)).json())
    assert after["ischinese"]["counts"]["quarantined"] == 0


def samples(text: str) -> dict[tuple[str, str], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, sample.labels.get("vendor", ""))] = sample.value
    return found


async def test_prometheus_reads_the_same_figures_with_an_auditors_token(client: Client) -> None:
    await deliver(client)
    auditor = bearer(await new_token(client, Role.AUDITOR))

    response = await client.get("/metrics", headers=auditor)

    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    figures = samples(await response.text())
    assert figures[("hub_health_read_success", "")] == 1
    assert figures[("hub_vendor_deliveries_stored", "ischinese")] == 3
    assert figures[("hub_vendor_deliveries_refused", "ischinese")] == 1
    assert figures[("hub_vendor_held_records", "ischinese")] == 1
    assert figures[("hub_vendor_open_discrepancies", "ischinese")] == 0
    assert figures[("hub_vendor_configured", "webtrn")] == 0
    assert 0 <= figures[("hub_vendor_lag_seconds", "ischinese")] < 60
    assert ("hub_vendor_lag_seconds", "webtrn") not in figures  # never a success: no lag to tell


async def test_only_operators_read_the_health_and_operators_and_auditors_the_metrics(client: Client) -> None:
    operator = bearer(await new_token(client, Role.OPERATOR))
    auditor = bearer(await new_token(client, Role.AUDITOR))
    supervisor = bearer(await new_token(client, Role.SUPERVISOR, institution="430100-0001"))

    for path in ("/api/v1/health/vendors", "/metrics"):
        response = await client.get(path)
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="hub"'
        assert (await client.get(path, headers=supervisor)).status == 404
        assert (await client.get(path, headers=operator)).status == 200
    assert (await client.get("/api/v1/health/vendors", headers=auditor)).status == 404
    assert (await client.get("/metrics", headers=auditor)).status == 200


class SlowPulls:
    async def last_pulls(self) -> Mapping[Source, datetime]:
        await asyncio.sleep(5)
        return {}


async def test_a_read_that_takes_too_long_is_refused_and_the_scrape_says_so(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = hub_of(client)
    monkeypatch.setattr(adapters.ingestion.service, "HEALTH_READ_SECONDS_MAX", 0.05)

    with pytest.raises(IngestionUnavailable):
        await hub.ingestion.health((), SlowPulls(), NoDiscrepancyRecords())

    registry, collector = metrics_registry()
    collector.unread()
    figures = samples(generate_latest(registry).decode())
    assert figures == {("hub_health_read_success", ""): 0}
