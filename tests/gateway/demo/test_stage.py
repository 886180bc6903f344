"""The demo's stage: the hub and each vendor as one app with both sides, served on 127.0.0.1. A
person registers and goes to all three vendors through the real SSO flows; each vendor then reports
hours for the learner its SSO side created, in its own protocol, and the ledger holds them. On
SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from config import load_settings
from gateway.bootstrap import ensure_keyring
from gateway.database import create_engine
from gateway.demo.cast import cast
from gateway.demo.handoffs import Arrival, register_and_visit
from gateway.demo.stage import (
    ORGANISATION_FILE,
    PREFERRED_PORTS,
    Stage,
    VendorSecrets,
    bind_sockets,
    running_stage,
    settings_text,
    url_of,
)
from gateway.pulls import store_daily_file
from ledger.model import Balance, EntryKind, Source
from sso.organisation import load_organisation
from sso.units.service import OrganisationService

COMPLETED = datetime(2021, 6, 1, 2, 0, tzinfo=UTC)  # 10:00 in Beijing


@pytest.fixture
async def stage(tmp_path: Path, database_url: str) -> AsyncIterator[Stage]:
    sockets = bind_sockets(dict.fromkeys(PREFERRED_PORTS, 0))
    shared = VendorSecrets.generate()
    urls = {name: url_of(listener) for name, listener in sockets.items()}
    settings_file = tmp_path / "hub.toml"
    settings_file.write_text(
        settings_text(urls, database_url, tmp_path / "data.key", ORGANISATION_FILE, shared), encoding="utf-8"
    )
    ensure_keyring(tmp_path / "data.key")
    engine = create_engine(database_url)
    await OrganisationService(engine).replace(load_organisation(ORGANISATION_FILE))
    await engine.dispose()
    async with running_stage(load_settings(settings_file), sockets, shared, scheduler=False) as running:
        yield running


@pytest.fixture
async def arrival(stage: Stage) -> Arrival:
    """A person registered at the hub who went to all three vendors through their SSO flows."""
    member = dataclasses.replace(cast(1)[0], vendors=("ischinese", "webtrn", "hnou"))
    [arrived] = await register_and_visit(stage.hub_url, [member])
    return arrived


async def test_ischinese_sends_the_hours_of_the_account_its_sso_side_created(stage: Stage, arrival: Arrival) -> None:
    vendor = stage.ischinese
    [account] = vendor.accounts
    completion = vendor.completion_of(
        account,
        "c-000001",
        course_id="XJP-2021-01",
        course_title="习近平新时代中国特色社会主义思想概论",
        subject="public",
        hours="12",
        completed_at=COMPLETED,
    )

    linked = await vendor.link_accounts()
    sent = await vendor.hours.send(vendor.hours.keep(completion))

    assert account.registration["name"] == arrival.member.name
    assert [sending.delivered for sending in linked] == [True]
    assert await vendor.link_accounts() == []  # each account is linked once
    assert await stage.hub.handoff.vendor_account_of("ischinese", account.sub) == account.account_id
    assert sent.delivered
    assert await stage.hub.ledger.balance(arrival.person_id, 2021) == Balance(public=1200)
    async with httpx.AsyncClient() as http:  # the same app serves the listing
        listing = await http.get(
            f"{stage.urls['ischinese']}/api/v2/completions",
            params={"year": "2021"},
            headers={"Authorization": f"Bearer {stage.shared.api_key}"},
        )
    assert [record["sub"] for record in listing.json()["data"]] == [account.sub]


async def test_webtrn_serves_the_hours_of_its_account_and_the_hub_pulls_them(stage: Stage, arrival: Arrival) -> None:
    vendor = stage.webtrn
    [account] = vendor.accounts
    vendor.complete(
        account,
        88001,
        course_code="C3020",
        course_name="专业前沿讲座",
        subject="professional",
        hours="24",
        finished_at=COMPLETED,
        updated_at=COMPLETED,
    )

    report = await stage.hub.vendors.puller(Source.WEBTRN).pull()

    assert account.registration["name"] == arrival.member.name
    assert (report.pages, report.items) == (1, 1)
    assert vendor.api.token_requests == 1  # the same app as the SSO side serves the tokens
    [entry] = await stage.hub.ledger.entries_of(arrival.person_id, 2021)
    assert (entry.source, entry.record_id, entry.hours) == ("webtrn", "88001", 2400)


async def test_hnou_posts_the_hours_of_the_learner_its_launch_gave_it(stage: Stage, arrival: Arrival) -> None:
    vendor = stage.hnou
    [learner] = vendor.learners
    vendor.hours.keep(
        vendor.completion_of(
            learner,
            "HN2021000001",
            course_code="HN-2021-DS01",
            course_title="党史学习教育",
            subject="public",
            hours="10",
            completed_at=COMPLETED,
        )
    )

    answers = await vendor.hours.notify("HN2021000001")
    # The same app serves the daily file.
    day = await store_daily_file(stage.hub.ledger, stage.hub.vendors.batches(Source.HNOU), COMPLETED.date())

    assert learner.id_number == arrival.member.id_number
    assert answers == [(200, "SUCCESS")]
    assert dict(day) == {"duplicate": 1}
    [entry] = await stage.hub.ledger.entries_of(arrival.person_id, 2021)
    assert (entry.kind, entry.source, entry.record_id) == (EntryKind.CREDIT, "hnou", "HN2021000001")
