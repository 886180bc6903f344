"""Database faults: PostgreSQL stopped and started again in the middle of a run. While it is down the
hub answers 503 (problem+json for ischinese and readiness, ``FAIL:unavailable`` for hnou) and the
vendors retry; once it is back the hub recovers by itself and nothing is lost. And 20 deliveries of
the same record at once, to two hub processes: one entry.

The PostgreSQL restarted is a throwaway cluster of the suite's own (``cluster.py``), never the
machine's shared one.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import asyncpg
import httpx

from adapters.ischinese.simulator_hours import HoursSimulator

from .cluster import ThrowawayCluster, free_port
from .conftest import Scenario
from .stage import HubProcess, Stage, running_stage
from .workload import Deliveries, Planned, hnou_completion, ischinese_completion, ledger_state, plan, wait_until

LEARNERS = 6
SEED = 17
WEBTRN_WAIT_SECONDS = 120.0
DOWN_PROBES = 3


def _fit_for_an_outage(answer: str) -> bool:
    """What a vendor may read while PostgreSQL is down: a 503 problem, ``FAIL:unavailable`` with 503,
    or no answer; never a 500, never a 4xx."""
    return answer in {"unreachable", "503 FAIL:unavailable"} or answer.startswith("HTTP 503 ")


async def database_on(cluster: ThrowawayCluster) -> str:
    """A new, empty database on the throwaway cluster."""
    name = f"hub_{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(host="127.0.0.1", port=cluster.port, user="postgres", database="postgres")
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return cluster.url(name)


async def _probe_while_down(stage: Stage, planned: Planned) -> list[tuple[str, int, str, str]]:
    """One try of each kind while PostgreSQL is down: what the hub answered, with its content type."""
    hours = stage.ischinese.hours
    event = hours.keep(ischinese_completion(planned))
    ischinese_try = await hours.post(event)
    form = stage.hnou.hours.signed(stage.hnou.hours.form_fields(hnou_completion(planned)))
    async with httpx.AsyncClient(timeout=10.0) as http:
        hnou_try = await http.post(f"{stage.hub.url}/webhooks/hnou", data=form)
        ready = await http.get(f"{stage.hub.url}/readyz")
    probes = [("ischinese webhook", ischinese_try.status, "", ischinese_try.text)]
    probes += [
        ("hnou form", hnou_try.status_code, hnou_try.headers.get("content-type", ""), hnou_try.text),
        ("/readyz", ready.status_code, ready.headers.get("content-type", ""), ready.text),
    ]
    return probes


async def test_a_postgresql_restart_mid_run_answers_503_and_loses_nothing(
    tmp_path: Path,
    throwaway_cluster: ThrowawayCluster,
    scenario: Scenario,
) -> None:
    database_url = await database_on(throwaway_cluster)
    async with running_stage(tmp_path, database_url, scenario.evidence, learners=LEARNERS) as stage:
        planned = plan(stage.learners, scenario.sizes.fault_completions, SEED)
        pushed = [item for item in planned if item.source != "webtrn"]
        webtrn = [item for item in planned if item.source == "webtrn"]
        before, during, after = pushed[: len(pushed) // 3], pushed[len(pushed) // 3 : -3], pushed[-3:]
        deliveries = Deliveries(stage)
        deliveries.publish_webtrn(webtrn[: len(webtrn) // 2])
        await deliveries.push_all(before)

        throwaway_cluster.stop()
        retrying = asyncio.create_task(deliveries.push_all(during))
        probes = [probe for item in after for probe in await _probe_while_down(stage, item)]
        deliveries.publish_webtrn(webtrn[len(webtrn) // 2 :])
        await asyncio.sleep(1.5)  # the vendors' retries and a scheduled pull or two meet the outage
        throwaway_cluster.start()

        await retrying
        await deliveries.push_all(after)  # the probed records, delivered for good now

        async def webtrn_all_in() -> bool:
            return (await ledger_state(database_url)).count("webtrn") >= len(webtrn)

        webtrn_in = await wait_until(webtrn_all_in, seconds=WEBTRN_WAIT_SECONDS)
        state = await ledger_state(database_url)

    outage_answers = dict(deliveries.retried_answers)
    scenario.record_figures(
        "database_restart",
        "Database faults: PostgreSQL stopped and started mid-run (a throwaway cluster)",
        {
            "completions sent": len(planned),
            "restarts of PostgreSQL": 1,
            "tries answered while down": sum(outage_answers.values()) + len(probes),
            "answers other than 503 or unreachable": sum(
                count for answer, count in outage_answers.items() if not _fit_for_an_outage(answer)
            ),
            "records lost": len({item.key for item in planned} - set(state.keys())),
            "duplicates": len(state.keys()) - len(set(state.keys())),
        },
    )
    for where, status, content_type, body in probes:
        assert status == 503, (where, status, body)
        if where != "hnou form":
            assert content_type.startswith("application/problem+json") or json.loads(body)["status"] == 503
    assert [body for where, _status, _type, body in probes if where == "hnou form"] == ["FAIL:unavailable"] * 3
    assert all(_fit_for_an_outage(answer) for answer in outage_answers), outage_answers
    assert webtrn_in
    assert sorted(state.keys()) == sorted(item.key for item in planned)
    assert state.held == 0


async def test_twenty_deliveries_of_one_record_at_once_make_one_entry(
    tmp_path: Path,
    throwaway_cluster: ThrowawayCluster,
    scenario: Scenario,
) -> None:
    database_url = await database_on(throwaway_cluster)
    async with running_stage(tmp_path, database_url, scenario.evidence, learners=2, scheduler=False) as stage:
        second = HubProcess(stage.hub.settings_file, free_port(), tmp_path / "second-hub.log", scheduler=False)
        scenario.evidence.keep_log(second.log)
        second.start()
        try:
            await second.ready()
            [ischinese, hnou] = [item for item in plan(stage.learners, 3, SEED) if item.source in {"ischinese", "hnou"}]
            answers = await _at_once(stage, second, ischinese, hnou, scenario.sizes.same_record_deliveries)
        finally:
            second.stop()
        state = await ledger_state(database_url)

    statuses = [json.loads(text)["status"] for vendor, text in answers if vendor == "ischinese"]
    hnou_texts = [text for vendor, text in answers if vendor == "hnou"]
    scenario.record_figures(
        "same_record",
        "Concurrency: the same record delivered at once to two hub processes",
        {
            "deliveries of one ischinese record": len(statuses),
            "deliveries of one hnou record": len(hnou_texts),
            "hub processes": 2,
            "entries made": len(state.entries),
        },
    )
    assert sorted(statuses) == ["appended"] + ["duplicate"] * (scenario.sizes.same_record_deliveries - 1)
    assert hnou_texts == ["SUCCESS"] * scenario.sizes.same_record_deliveries
    assert sorted(state.keys()) == sorted([ischinese.key, hnou.key])


async def _at_once(
    stage: Stage, second: HubProcess, ischinese: Planned, hnou: Planned, copies: int
) -> list[tuple[str, str]]:
    """``copies`` deliveries of each record, each webhook under its own webhook-id and each form signed
    afresh, alternately to the two hub processes, all sent together."""
    completion = ischinese_completion(ischinese)
    stage.hnou.hours.keep(hnou_completion(hnou))
    forms = [stage.hnou.hours.signed(stage.hnou.hours.form_fields(hnou_completion(hnou))) for _ in range(copies)]
    urls = [stage.hub.url, second.url]
    async with httpx.AsyncClient(timeout=30.0, limits=httpx.Limits(max_connections=2 * copies)) as http:
        senders = [
            HoursSimulator(hub_url=url, webhook_secret=stage.shared.webhook_secret, api_key="-", http=http)
            for url in urls
        ]
        events = [senders[number % 2].keep(completion) for number in range(copies)]

        async def webhook(number: int) -> tuple[str, str]:
            return "ischinese", (await senders[number % 2].post(events[number])).text

        async def form(number: int) -> tuple[str, str]:
            return "hnou", (await http.post(f"{urls[number % 2]}/webhooks/hnou", data=forms[number])).text

        return list(
            await asyncio.gather(*(webhook(number) for number in range(copies)), *(form(n) for n in range(copies)))
        )
