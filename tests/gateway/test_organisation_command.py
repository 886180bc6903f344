"""``hub organisation import`` and the organisation ``hub migrate`` loads: real processes, real databases."""

from __future__ import annotations

import json
from pathlib import Path

from gateway.database import create_engine
from sso.units.service import OrganisationService

from .conftest import RunHub

HUNAN_FILE = Path(__file__).parents[2] / "config" / "organisation" / "hunan.json"
LOADED = "loaded the organisation: 56 regions, 224 departments, 91 institutions"


async def _institution_count(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        service = OrganisationService(engine)
        return 0 if await service.is_empty() else len((await service.organisation()).institutions)
    finally:
        await engine.dispose()


def _with_organisation_file(settings_file: Path) -> Path:
    configured = settings_file.with_name("configured.toml")
    settings = settings_file.read_text(encoding="utf-8")
    configured.write_text(f'{settings}\n[organisation]\nfile = "{HUNAN_FILE}"\n', encoding="utf-8")
    return configured


async def test_migrate_loads_the_configured_organisation_once(
    run_hub: RunHub, settings_file: Path, database_url: str
) -> None:
    configured = _with_organisation_file(settings_file)

    first = run_hub("migrate", "--config", str(configured))
    again = run_hub("migrate", "--config", str(configured))

    assert first.returncode == 0, first.stderr
    assert f"{LOADED} from {HUNAN_FILE}" in first.stdout
    assert again.returncode == 0, again.stderr
    assert "loaded the organisation" not in again.stdout
    assert await _institution_count(database_url) == 91


async def test_an_import_replaces_the_organisation(run_hub: RunHub, settings_file: Path, database_url: str) -> None:
    document = json.loads(HUNAN_FILE.read_text(encoding="utf-8"))
    document["institutions"] = document["institutions"][:10]
    smaller = settings_file.with_name("smaller.json")
    smaller.write_text(json.dumps(document), encoding="utf-8")

    full = run_hub("organisation", "import", str(HUNAN_FILE), "--config", str(settings_file))
    assert full.returncode == 0, full.stderr
    assert await _institution_count(database_url) == 91
    reduced = run_hub("organisation", "import", str(smaller), "--config", str(settings_file))

    assert reduced.returncode == 0, reduced.stderr
    assert reduced.stdout.strip() == f"imported 56 regions, 224 departments, 10 institutions from {smaller}"
    assert await _institution_count(database_url) == 10


async def test_a_bad_file_imports_nothing_and_names_every_bad_entry(
    run_hub: RunHub, settings_file: Path, database_url: str
) -> None:
    document = json.loads(HUNAN_FILE.read_text(encoding="utf-8"))
    document["regions"][2]["parent"] = "999999"
    document["departments"][4]["kind"] = "mystery"
    document["institutions"][8]["name"] = ""
    bad = settings_file.with_name("bad.json")
    bad.write_text(json.dumps(document), encoding="utf-8")

    result = run_hub("organisation", "import", str(bad), "--config", str(settings_file))

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert any("regions[2]" in line and "parent 999999" in line for line in lines)
    assert any("departments[4]" in line and "kind" in line for line in lines)
    assert any("institutions[8]" in line and "name" in line for line in lines)
    assert lines[-1].startswith("hub: error: ")
    assert lines[-1].endswith(f"in {bad}; nothing was imported")
    assert await _institution_count(database_url) == 0


async def test_a_missing_file_is_one_line(run_hub: RunHub, settings_file: Path) -> None:
    result = run_hub("organisation", "import", "absent.json", "--config", str(settings_file))

    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("hub: error: 1 problem(s) in absent.json")
