"""Crash consistency: ``hub serve`` killed with SIGKILL at random points of an ingestion from the three
vendors, restarted each time, until every completion is in. Then the ledger holds exactly the
vendors' completions, none twice, its chain verifies and every balance equals the sum recomputed
from what the vendors reported.

The kill points are drawn among the acknowledgements of the pushed completions (ischinese's webhooks,
hnou's forms), so that each kill lands while deliveries are in flight; webtrn publishes a batch after
each restart and the hub's scheduler pulls it, killed or not in the middle of a page.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from .conftest import FreshDatabase, Scenario
from .stage import run_hub_command, running_stage
from .workload import Deliveries, Planned, expected_balances, ledger_state, plan, wait_until

LEARNERS = 12
SEED = 9
WEBTRN_WAIT_SECONDS = 300.0
KILL_JITTER_SECONDS = 0.05


async def test_kill_9_during_ingestion_loses_and_duplicates_nothing(
    tmp_path: Path,
    fresh_postgresql: FreshDatabase,
    scenario: Scenario,
) -> None:
    database_url = await fresh_postgresql()
    async with running_stage(tmp_path, database_url, scenario.evidence, learners=LEARNERS) as stage:
        planned = plan(stage.learners, scenario.sizes.crash_completions, SEED)
        pushed = [item for item in planned if item.source != "webtrn"]
        webtrn_batches = _batches([item for item in planned if item.source == "webtrn"], scenario.sizes.crash_kills + 1)
        deliveries = Deliveries(stage)
        chance = random.Random(SEED)
        kill_points = sorted(chance.sample(range(1, len(pushed)), scenario.sizes.crash_kills))

        async def kill_and_restart() -> None:
            deliveries.publish_webtrn(webtrn_batches[0])
            for number, point in enumerate(kill_points, start=1):
                await deliveries.acknowledged_at_least(point)
                await asyncio.sleep(chance.uniform(0, KILL_JITTER_SECONDS))
                stage.hub.kill()
                stage.hub.start()
                await stage.hub.ready()
                deliveries.publish_webtrn(webtrn_batches[number])

        await asyncio.gather(deliveries.push_all(pushed), kill_and_restart())
        webtrn_total = sum(len(batch) for batch in webtrn_batches)

        async def webtrn_all_in() -> bool:
            return (await ledger_state(database_url)).count("webtrn") >= webtrn_total

        webtrn_in = await wait_until(webtrn_all_in, seconds=WEBTRN_WAIT_SECONDS)
        stage.hub.stop()
        verified = run_hub_command("ledger", "verify", "--config", str(stage.hub.settings_file))
        export = tmp_path / "ledger-2021.csv"
        exported = run_hub_command(
            "export",
            "--year",
            "2021",
            "--format",
            "csv",
            "--out",
            str(export),
            "--config",
            str(stage.hub.settings_file),
        )
        scenario.evidence.keep_export(export)
        scenario.evidence.keep_export(export.with_name(export.name + ".manifest.json"))
        state = await ledger_state(database_url)
        kills, starts = stage.hub.kills, stage.hub.starts

    keys = state.keys()
    expected = {item.key for item in planned}
    scenario.record_figures(
        "crash",
        "Crash consistency: kill -9 of `hub serve` during ingestion from the three vendors",
        {
            "completions sent": len(planned),
            "kill -9": kills,
            "restarts": starts - 1,
            "delivery tries": deliveries.tries,
            "tries retried by the vendors": sum(deliveries.retried_answers.values()),
            "entries": len(state.entries),
            "records lost": len(expected - set(keys)),
            "duplicates": len(keys) - len(set(keys)),
            "balances off": _balances_off(state.balances, planned),
        },
    )
    assert webtrn_in, "webtrn's completions did not all come in"
    assert set(deliveries.retried_answers) <= {"unreachable"}, deliveries.retried_answers
    assert kills == scenario.sizes.crash_kills
    assert set(keys) == expected
    assert len(keys) == len(state.entries) == len(expected)  # no duplicate, no reversal, nothing else
    assert state.held == 0
    assert verified.startswith(f"ledger intact: {len(expected)} entries")
    assert f"{len(expected)} " in exported
    assert _balances_off(state.balances, planned) == 0


def _batches(items: list[Planned], count: int) -> list[list[Planned]]:
    size = -(-len(items) // count)
    return [items[start : start + size] for start in range(0, size * count, size)]


def _balances_off(stored: dict[tuple[str, str], int], planned: list[Planned]) -> int:
    """How many (person, subject) balances differ from the hours the vendors reported."""
    expected = expected_balances(planned)
    return sum(1 for key in stored.keys() | expected.keys() if stored.get(key, 0) != expected.get(key, 0))
