"""Auditor exports through a real aiohttp test server on SQLite and PostgreSQL, checked the way an auditor
would: the manifest's signature with nothing but the published JWKS, the file with ``hub ledger verify``."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
from datetime import datetime
from pathlib import Path

import pytest
from joserfc.jwk import OKPKey
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.errors import LedgerCorrupted
from ledger.exports.model import ExportFormat, check_export
from ledger.exports.service import ExportRequest
from ledger.model import BEIJING, canonical_json, new_credit
from sso.access.model import AuditAction, AuditOutcome, Role, Target, TargetKind
from sso.handoff.tokens import verify_document
from sso.id_numbers import mask_id_number, normalise_id_number

from .access_support import Client, ClientMaker, Staff, audit_entries, bearer, hub_of, new_token, register, serve_hub
from .conftest import RunHub

RULES_2022 = """
[rules.2022]
total_hours = 90
public_hours = 30
professional_hours = 60
hours_per_day = "7.5"
"""


@pytest.fixture
def settings_with_2022(settings_file: Path) -> Path:
    settings_file.write_text(settings_file.read_text(encoding="utf-8") + RULES_2022, encoding="utf-8")
    return settings_file


@pytest.fixture
async def client(aiohttp_client: ClientMaker, settings_with_2022: Path, database_url: str) -> Client:
    return await serve_hub(aiohttp_client, settings_with_2022, database_url)


@pytest.fixture
async def auditor(client: Client) -> dict[str, str]:
    return bearer(await new_token(client, Role.AUDITOR))


@pytest.fixture
async def staff(client: Client) -> list[Staff]:
    """Three people in two institutions of two regions, with hours in 2021 and 2022."""
    people = [
        await register(client, 1, "430100-0001"),
        await register(client, 2, "430181-0001"),
        await register(client, 3, "430181-0001"),
    ]
    for number, (person, year) in enumerate([(p, y) for y in (2021, 2022) for p in people], start=1):
        await credit(client, person, f"c-{number}", year)
    return people


async def credit(client: Client, person: Staff, record: str, year: int) -> None:
    await hub_of(client).ledger.record(
        new_credit(
            person_id=person.id,
            source="ischinese",
            record_id=record,
            course_code="XJP-2021-01",
            course_title="习近平新时代中国特色社会主义思想概论",
            subject="public",
            hours="3.5",
            completed_at=datetime(year, 3, 2, 9, 58, tzinfo=BEIJING),
            actor="vendor:ischinese",
            payload_hash=hashlib.sha256(record.encode()).hexdigest(),
        )
    )


async def download(client: Client, auditor: dict[str, str], query: str) -> tuple[bytes, dict[str, object]]:
    """An export's bytes and its manifest, fetched at the answer's Link once the file is complete."""
    answer = await client.get(f"/api/v1/exports/ledger?{query}", headers=auditor)
    assert answer.status == 200, await answer.text()
    data = await answer.read()
    link = answer.headers["Link"]
    assert link.endswith('>; rel="describedby"')
    manifest = await client.get(link[1 : link.index(">")], headers=auditor)
    assert manifest.status == 200
    return data, await manifest.json()


async def published_jwks(client: Client) -> dict[str, object]:
    return await (await client.get("/.well-known/jwks.json")).json()  # type: ignore[no-any-return]


async def test_an_auditor_downloads_a_years_jsonl_export_and_checks_it_with_the_jwks_alone(
    client: Client, auditor: dict[str, str], staff: list[Staff]
) -> None:
    data, manifest = await download(client, auditor, "year=2021&format=jsonl")

    signature = str(manifest.pop("signature"))
    kid = verify_document(signature, canonical_json(manifest), await published_jwks(client))
    rows = [json.loads(line) for line in data.splitlines()]
    assert kid
    assert check_export(io.BytesIO(data), manifest) == 3
    assert [row["seq"] for row in rows] == [1, 2, 3]
    assert manifest["through_seq"] == 6
    assert {row["year"] for row in rows} == {2021}
    assert [row["hours"] for row in rows] == ["3.50"] * 3
    assert {row["id_number_masked"] for row in rows} == {
        mask_id_number(normalise_id_number(person.id_number)) for person in staff
    }
    for person in staff:
        assert person.id_number.encode() not in data


async def test_a_units_csv_export_holds_its_institutions_alone_and_opens_in_excel(
    client: Client, auditor: dict[str, str], staff: list[Staff]
) -> None:
    data, manifest = await download(client, auditor, "year=2022&format=csv&unit=430181")

    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert data.startswith(b"\xef\xbb\xbf")
    assert [row["unit_code"] for row in rows] == ["430181-0001", "430181-0001"]
    assert [int(row["seq"]) for row in rows] == [5, 6]
    assert manifest["unit_code"] == "430181"
    assert check_export(io.BytesIO(data), manifest) == 2


async def test_an_export_is_pinned_to_the_head_when_it_began(client: Client, staff: list[Staff]) -> None:
    hub = hub_of(client)
    run = await hub.exports.begin(ExportRequest(2021, ExportFormat.JSONL, "auditor:test"))
    await credit(client, staff[0], "c-late", 2021)

    data = b"".join([chunk async for chunk in run.chunks()])

    assert run.through_seq == 6
    assert [json.loads(line)["record_id"] for line in data.splitlines()] == ["c-1", "c-2", "c-3"]
    assert run.signed_manifest is not None
    assert run.signed_manifest["row_count"] == 3


async def test_an_export_of_a_broken_chain_stops_without_a_manifest(client: Client, staff: list[Staff]) -> None:
    hub = hub_of(client)
    run = await hub.exports.begin(ExportRequest(2021, ExportFormat.JSONL, "auditor:test"))
    async with hub.engine.begin() as connection:
        await _tamper(connection, seq=2)

    with pytest.raises(LedgerCorrupted, match="sequence number 2"):
        _chunks = [chunk async for chunk in run.chunks()]

    assert run.signed_manifest is None
    assert await hub.exports.manifest(run.export_id) is None


async def _tamper(connection: AsyncConnection, *, seq: int) -> None:
    """Change an entry's hours, as someone with direct database access could."""
    if connection.dialect.name == "postgresql":
        await connection.execute(text("ALTER TABLE ledger_entry DISABLE TRIGGER USER"))
    else:
        await connection.execute(text("DROP TRIGGER ledger_entry_no_update"))
    await connection.execute(text("UPDATE ledger_entry SET hours = hours + 1 WHERE seq = :seq"), {"seq": seq})


async def test_exports_are_for_auditors_alone_and_refuse_bad_queries_naming_each_field(
    client: Client, auditor: dict[str, str], staff: list[Staff]
) -> None:
    operator = bearer(await new_token(client, Role.OPERATOR))

    nobody = await client.get("/api/v1/exports/ledger?year=2021&format=csv")
    other_role = await client.get("/api/v1/exports/ledger?year=2021&format=csv", headers=operator)
    bad = await client.get("/api/v1/exports/ledger?year=21&format=xlsx&unit=nowhere", headers=auditor)
    no_manifest = await client.get(f"/api/v1/exports/{'0' * 32}/manifest", headers=auditor)
    # A path of no export's shape is the caller's text: refused as not found, never the audit's target.
    phone_like = await client.get("/api/v1/exports/13812345678/manifest", headers=auditor)

    assert nobody.status == 401
    assert "Bearer" in nobody.headers["WWW-Authenticate"]
    assert other_role.status == 404
    assert bad.status == 422
    assert bad.content_type == "application/problem+json"
    assert [error["field"] for error in (await bad.json())["errors"]] == ["year", "format", "unit"]
    assert no_manifest.status == 404
    assert phone_like.status == 404
    assert phone_like.content_type == "application/problem+json"
    assert "13812345678" not in await phone_like.text()
    entries = await audit_entries(client)
    manifest_reads = [entry for entry in entries if entry.action is AuditAction.EXPORT_MANIFEST_READ]
    assert [(entry.outcome, entry.target) for entry in manifest_reads] == [
        (AuditOutcome.REFUSED, Target(TargetKind.EXPORT, "0" * 32)),
        (AuditOutcome.REFUSED, None),
    ]
    assert manifest_reads[1].details["reason"] == "malformed_export_id"
    outcomes = [(entry.action, entry.outcome) for entry in entries]
    assert (AuditAction.LEDGER_EXPORTED, AuditOutcome.DENIED) in outcomes
    assert (AuditAction.LEDGER_EXPORTED, AuditOutcome.REFUSED) in outcomes


async def test_an_auditor_walks_the_chain_over_http(
    client: Client, auditor: dict[str, str], staff: list[Staff]
) -> None:
    intact = await (await client.get("/api/v1/ledger/verify", headers=auditor)).json()
    async with hub_of(client).engine.begin() as connection:
        await _tamper(connection, seq=4)
    broken = await (await client.get("/api/v1/ledger/verify", headers=auditor)).json()

    assert intact["intact"] is True
    assert intact["entries_checked"] == 6
    assert broken["intact"] is False
    assert broken["first_bad_seq"] == 4


async def test_hub_export_writes_a_file_and_manifest_that_hub_ledger_verify_checks_offline(
    client: Client, staff: list[Staff], settings_with_2022: Path, run_hub: RunHub, tmp_path: Path
) -> None:
    out = tmp_path / "ledger-2021.csv"
    jwks_url = str(client.server.make_url("/.well-known/jwks.json"))
    config = ("--config", str(settings_with_2022))

    # In a thread, as the other runs: the served hub's event loop must go on (its certificate reviews
    # hold SQLite's write lock while they await the database).
    exported = await asyncio.to_thread(
        run_hub, "export", "--year", "2021", "--format", "csv", "--out", str(out), *config
    )
    manifest = tmp_path / "ledger-2021.csv.manifest.json"
    offline = ("ledger", "verify", "--export", str(out), "--manifest", str(manifest), "--jwks", jwks_url)
    checked = await asyncio.to_thread(run_hub, *offline)  # the test server answers the JWKS meanwhile
    _rewritten(out, "3.50", "4.50")
    tampered = await asyncio.to_thread(run_hub, *offline)

    assert exported.returncode == 0, exported.stderr
    assert "wrote 3 rows" in exported.stdout
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith("export intact: 3 rows of 2021")
    assert tampered.returncode == 1
    assert tampered.stderr.strip().splitlines() == [
        f"hub: error: export {out} broken at row with sequence number 1: its content does not match its hash"
    ]


async def test_a_manifest_signed_by_a_key_outside_the_jwks_is_refused_offline(
    client: Client, staff: list[Staff], settings_with_2022: Path, run_hub: RunHub, tmp_path: Path
) -> None:
    out, jwks = tmp_path / "ledger.jsonl", tmp_path / "jwks.json"
    stranger = OKPKey.generate_key("Ed25519", parameters={"kid": "stranger", "use": "sig", "alg": "Ed25519"})
    jwks.write_text(json.dumps({"keys": [stranger.as_dict(private=False)]}), encoding="utf-8")
    await asyncio.to_thread(
        run_hub, "export", "--year", "2021", "--format", "jsonl", "--out", str(out), "--config", str(settings_with_2022)
    )

    checked = run_hub(
        "ledger", "verify", "--export", str(out), "--manifest", f"{out}.manifest.json", "--jwks", str(jwks)
    )

    assert checked.returncode == 1
    assert checked.stderr.strip() == "hub: error: the signature's kid is not in the JWKS"


async def test_a_manifest_changed_after_signing_is_refused_offline(
    client: Client, staff: list[Staff], settings_with_2022: Path, run_hub: RunHub, tmp_path: Path
) -> None:
    out, jwks = tmp_path / "ledger.jsonl", tmp_path / "jwks.json"
    jwks.write_text(json.dumps(await published_jwks(client)), encoding="utf-8")
    await asyncio.to_thread(
        run_hub, "export", "--year", "2021", "--format", "jsonl", "--out", str(out), "--config", str(settings_with_2022)
    )
    manifest = _rewritten(Path(f"{out}.manifest.json"), '"row_count": 3', '"row_count": 2')

    checked = run_hub("ledger", "verify", "--export", str(out), "--manifest", str(manifest), "--jwks", str(jwks))

    assert checked.returncode == 1
    assert checked.stderr.strip() == "hub: error: the signature covers other content than the document's"


def _rewritten(path: Path, old: str, new: str) -> Path:
    path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    return path
