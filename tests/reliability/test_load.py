"""Load: the three vendors delivering and staff launching at once, against a real ``hub serve`` on
PostgreSQL, for a bounded time (seconds in ``make test``, 60 s in ``make soak``). ischinese pushes
signed webhooks, hnou posts signed forms, webtrn publishes a batch every half second for the hub's
scheduler to pull, and signed-in staff open their launch to ischinese. Every answer must be the one
due (zero errors), and afterwards the ledger holds exactly what the vendors sent."""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from gateway.bootstrap import open_hub
from ledger.model import BEIJING

from .conftest import FreshDatabase, Scenario
from .load import drive
from .stage import Stage, running_stage
from .workload import Deliveries, Planned, hnou_completion, ischinese_completion, ledger_state, wait_until

PUSH_WORKERS = 6
LAUNCH_WORKERS = 2
WEBTRN_BATCH = 20
WEBTRN_EVERY_SECONDS = 0.5
WEBTRN_WAIT_SECONDS = 120.0


def _completion(stage: Stage, source: str, number: int) -> Planned:
    learner = stage.learners[number % len(stage.learners)]
    subject = ("public", "professional")[number % 2]
    completed = datetime(2021, 3, 1, 9, tzinfo=BEIJING) + timedelta(minutes=number)
    record_id = {"ischinese": f"load-{number:07d}", "hnou": f"HNLOAD{number:08d}", "webtrn": str(900_000 + number)}
    return Planned(source, record_id[source], learner, subject, "1.5", completed)


async def _sessions(stage: Stage) -> list[str]:
    """A signed-in session of each learner, who has consented to ischinese."""
    async with open_hub(stage.settings) as hub:
        sessions = []
        for learner in stage.learners:
            await hub.handoff.give_consent(learner.person_id, "ischinese")
            sessions.append(await hub.people.open_session(learner.person_id))
    return sessions


async def test_vendors_and_staff_at_once_for_a_bounded_time(
    tmp_path: Path, fresh_postgresql: FreshDatabase, scenario: Scenario
) -> None:
    database_url = await fresh_postgresql()
    numbers = itertools.count()
    sent: list[Planned] = []
    async with (
        running_stage(tmp_path, database_url, scenario.evidence, learners=scenario.sizes.load_staff) as stage,
        httpx.AsyncClient(timeout=30.0, limits=httpx.Limits(max_connections=64)) as http,
    ):
        sessions = await _sessions(stage)
        for session in sessions:
            scenario.evidence.secret(session, "a session token")
        webtrn = Deliveries(stage)

        async def webhook() -> bool:
            planned = _completion(stage, "ischinese", next(numbers))
            hours = stage.ischinese.hours
            attempt = await hours.post(hours.keep(ischinese_completion(planned)))
            if attempt.accepted:
                sent.append(planned)
            return attempt.status == 200

        async def form() -> bool:
            planned = _completion(stage, "hnou", next(numbers))
            stage.hnou.hours.keep(hnou_completion(planned))
            fields = stage.hnou.hours.signed(stage.hnou.hours.form_fields(hnou_completion(planned)))
            answer = await http.post(f"{stage.hub.url}/webhooks/hnou", data=fields)
            if answer.text == "SUCCESS":
                sent.append(planned)
            return answer.text == "SUCCESS"

        async def launch() -> bool:
            cookie = {"Cookie": f"hub_session={sessions[next(numbers) % len(sessions)]}"}
            answer = await http.get(f"{stage.hub.url}/sso/launch/ischinese", headers=cookie)
            return answer.status_code == 200 and 'name="id_token"' in answer.text

        async def publish_webtrn() -> bool:
            await asyncio.sleep(WEBTRN_EVERY_SECONDS)
            batch = [_completion(stage, "webtrn", next(numbers)) for _ in range(WEBTRN_BATCH)]
            webtrn.publish_webtrn(batch)
            sent.extend(batch)
            return True

        started = time.perf_counter()
        report = await drive(
            {
                "ischinese webhook": (webhook, PUSH_WORKERS),
                "hnou form": (form, PUSH_WORKERS),
                "staff launch": (launch, LAUNCH_WORKERS),
                "webtrn batch published": (publish_webtrn, 1),
            },
            scenario.sizes.load_seconds,
        )
        expected_webtrn = sum(1 for item in sent if item.source == "webtrn")

        async def webtrn_all_in() -> bool:
            return (await ledger_state(database_url)).count("webtrn") >= expected_webtrn

        assert await wait_until(webtrn_all_in, seconds=WEBTRN_WAIT_SECONDS)
        drained = time.perf_counter() - started
        state = await ledger_state(database_url)

    to_the_hub = ("ischinese webhook", "hnou form", "staff launch")
    hub_requests = report.count(to_the_hub)
    scenario.record_figures(
        "load",
        "Load: the three vendors delivering and staff launching at once (hub serve on PostgreSQL)",
        {
            "seconds held": round(report.seconds, 1),
            "requests to the hub": hub_requests,
            "requests per second": round(hub_requests / report.seconds, 1),
            "p50 ms": round(report.percentile_milliseconds(50, to_the_hub), 1),
            "p99 ms": round(report.percentile_milliseconds(99, to_the_hub), 1),
            "webtrn records pulled": expected_webtrn,
            "errors": sum(report.errors.values()),
            "records lost": len({item.key for item in sent} - set(state.keys())),
            "seconds until webtrn drained": round(drained - report.seconds, 1),
        },
    )
    assert dict(report.errors) == {}
    assert sorted(state.keys()) == sorted(item.key for item in sent)
    assert state.held == 0
