"""``hub demo --once`` through the real ``hub`` program, in a temporary directory.

One of the slow tests (about 20 s): thirty people register with the hub's real password hashing and
go through the SSO flows, and the three vendors deliver a year of hours.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from ..conftest import RunHub

SOURCE_LINE = re.compile(
    r"^\s+(ischinese|webtrn|hnou|offline|continuing_ed)\s+(\d+) credits, (\d+) reversals,\s+([\d.]+) h counted$", re.M
)


def test_the_demo_runs_to_the_end_and_leaves_an_intact_ledger(run_hub: RunHub, tmp_path: Path) -> None:
    result = run_hub("demo", "--once")

    assert result.returncode == 0, result.stderr
    output = result.stdout
    stored = {
        source: (int(credits), Decimal(hours)) for source, credits, _reversals, hours in SOURCE_LINE.findall(output)
    }
    assert set(stored) == {"ischinese", "webtrn", "hnou", "offline", "continuing_ed"}
    assert all(credits > 0 and hours > 0 for credits, hours in stored.values())
    assert re.search(r"chain intact: \d+ entries", output)
    assert "balances equal a full recomputation: yes" in output
    meeting = re.search(r"(\d+) of 30 people meet 2021", output)
    assert meeting is not None
    issued = re.search(r"(\d+) certificates issued", output)
    assert issued is not None
    assert issued.group(1) == meeting.group(1) != "0"
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
    assert "Traceback" not in result.stderr

    verified = run_hub("ledger", "verify", "--config", str(tmp_path / "var" / "demo" / "hub.toml"))
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("ledger intact:")
