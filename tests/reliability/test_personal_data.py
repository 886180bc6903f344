"""After every other scenario: the logs (of each hub process and of this one, SQL statements and their
parameters included), the databases (every row of every table, and SQLite's raw files) and the
exports hold no unmasked ID number, no secret shared with a vendor, and no bearer or session token.

The scan runs last in the session (``after_scenarios``), over what the scenarios that ran kept as
evidence; alone, it has nothing to read and says so.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text

from gateway.database import create_engine
from sso.id_numbers import make_id_number

from ..gateway.handoff_support import sqlite_copy
from .conftest import Scenario
from .evidence import Evidence, scan


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


async def test_the_scan_finds_each_kind_of_thing_it_looks_for(tmp_path: Path, sqlite_template: Path) -> None:
    known = make_id_number("430102", date(1985, 5, 5), 77)
    unknown = make_id_number("110105", date(1949, 12, 31), 2)
    log, export = tmp_path / "hub.log", tmp_path / "ledger.csv"
    log.write_text(json.dumps({"event": "delivery_refused", "idcard": known.lower()}) + "\n", encoding="utf-8")
    export.write_text(f"seq,id_number_masked\n1,{unknown}\n", encoding="utf-8")
    database_url = sqlite_copy(tmp_path, sqlite_template)
    engine = create_engine(database_url)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE planted (value TEXT)"))
        await connection.execute(text("INSERT INTO planted VALUES (:secret)"), {"secret": "whsec-planted-secret"})
    await engine.dispose()
    evidence = Evidence(logs=[log], databases=[database_url], exports=[export])
    evidence.id_number(known)
    evidence.secret("whsec-planted-secret", "a planted secret")

    findings, _read = await scan(evidence)

    found = {(finding.kind, finding.place.rsplit("/", 1)[-1]) for finding in findings}
    assert found == {
        ("ID number", "log hub.log"),
        ("ID number (not known in advance)", "export ledger.csv"),
        ("a planted secret", "hub.db table planted"),
        ("a planted secret", "hub.db"),  # the raw file of the SQLite database
    }
    assert all(known not in finding.excerpt and unknown not in finding.excerpt for finding in findings)
