"""Dependencies point one way: the ledger imports nothing of the web, vendors or scheduling."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parents[1]
FORBIDDEN_IN_LEDGER = {"aiohttp", "httpx", "authlib", "apscheduler", "gateway", "adapters", "sso", "config"}


def _imported_top_levels(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


def test_the_ledger_depends_on_nothing_of_ours_nor_on_the_web() -> None:
    offenders = {
        path: sorted(names & FORBIDDEN_IN_LEDGER)
        for path, names in _imported_top_levels("ledger").items()
        if names & FORBIDDEN_IN_LEDGER
    }
    assert offenders == {}


def test_nothing_but_the_gateway_imports_the_gateway() -> None:
    for package in ("ledger", "sso", "adapters", "trainings", "supervision", "config"):
        offenders = [path for path, names in _imported_top_levels(package).items() if "gateway" in names]
        assert offenders == [], package


def test_trainings_depend_on_the_ledger_and_identities_alone() -> None:
    offenders = {
        path: sorted(names & {"aiohttp", "httpx", "authlib", "apscheduler", "gateway", "adapters", "config"})
        for path, names in _imported_top_levels("trainings").items()
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_supervision_reads_the_ledger_and_identities_and_nothing_reads_it_but_the_gateway() -> None:
    offenders = {
        path: sorted(names & {"aiohttp", "httpx", "apscheduler", "adapters", "gateway"})
        for path, names in _imported_top_levels("supervision").items()
        if names & {"aiohttp", "httpx", "apscheduler", "adapters", "gateway"}
    }
    assert offenders == {}
    for package in ("ledger", "sso", "adapters", "config"):
        assert [path for path, names in _imported_top_levels(package).items() if "supervision" in names] == [], package
