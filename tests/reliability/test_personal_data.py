"""After every other scenario: the logs (of each hub process and of this one, SQL statements and their
parameters included), the databases (every row of every table, and SQLite's raw files) and the
exports hold no unmasked ID number, no secret shared with a vendor, and no bearer or session token.

The scan runs last in the session (``after_scenarios``), over what the scenarios that ran kept as
evidence; alone, it has nothing to read and says so.
"""

from __future__ import annotations

import pytest

from .conftest import Scenario
from .evidence import scan


@pytest.mark.after_scenarios
async def test_nothing_left_behind_holds_personal_data_or_secrets(scenario: Scenario) -> None:
    evidence = scenario.evidence
    if evidence.places <= 1:  # this process's log alone: no scenario ran in this session
        pytest.skip("no scenario ran before the scan in this session: nothing to scan")

    findings, read = await scan(evidence)

    scenario.record_figures(
        "personal_data",
        "Personal data: logs, databases and exports scanned after the suite",
        {
            "places scanned": read["places"],
            "megabytes read": round(read["bytes"] / 1e6, 1),
            "ID numbers, secrets and tokens looked for": len(evidence.needles),
            "found": len(findings),
        },
    )
    assert findings == []
