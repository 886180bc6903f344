"""``hub tokens`` as an administrator runs it: the real program on the test databases."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from sqlalchemy import text

from gateway.bootstrap import ensure_keyring
from gateway.database import create_engine
from sso.access.errors import InvalidToken
from sso.access.model import ActorKind, AuditAction, AuditQuery, Role, Scope, ScopeKind, Target, TargetKind
from sso.access.service import Access
from sso.organisation import load_organisation
from sso.units.service import OrganisationService

from ..conftest import SETTINGS
from .conftest import RunHub

ORGANISATION_FILE = Path(__file__).parents[2] / "config" / "organisation" / "hunan.json"


async def _settings_with_organisation(directory: Path, database_url: str) -> Path:
    """A settings file for a migrated database, which this loads with the sample organisation."""
    engine = create_engine(database_url)
    await OrganisationService(engine).replace(load_organisation(ORGANISATION_FILE))
    await engine.dispose()
    path = directory / "hub.toml"
    path.write_text(SETTINGS.format(database_url=database_url, directory=directory), encoding="utf-8")
    ensure_keyring(directory / "data.key")
    return path


@pytest.fixture
async def hub_config(tmp_path: Path, database_url: str) -> str:
    """The settings file of a migrated database (SQLite, then PostgreSQL) that holds the sample organisation."""
    return str(await _settings_with_organisation(tmp_path, database_url))


def _one_line(stream: str) -> str:
    lines = stream.strip().splitlines()
    assert len(lines) == 1, stream
    return lines[0]


async def test_a_token_is_printed_once_alone_on_the_last_line_and_only_its_hash_is_kept(
    run_hub: RunHub, hub_config: str, database_url: str
) -> None:
    created = run_hub(
        "tokens", "create", "--role", "supervisor", "--department", "430100-personnel", "--name", "长沙人社",
        "--config", hub_config,
    )  # fmt: skip
    auditor = run_hub("tokens", "create", "--role", "auditor", "--expires-days", "7", "--config", hub_config)
    revoked = run_hub("tokens", "revoke", "2", "--config", hub_config)
    listed = run_hub("tokens", "list", "--config", hub_config)
    unknown = run_hub("tokens", "revoke", "3", "--config", hub_config)

    outcomes = (created.returncode, auditor.returncode, revoked.returncode)
    assert outcomes == (0, 0, 0), created.stderr + auditor.stderr + revoked.stderr
    secret, auditor_secret = created.stdout.splitlines()[-1], auditor.stdout.splitlines()[-1]
    assert secret.startswith("hub_")
    assert secret == secret.strip()
    assert secret not in created.stdout.splitlines()[0]
    assert _one_line(revoked.stdout).startswith("revoked token 2 (auditor) at ")
    assert listed.returncode == 0, listed.stderr
    assert secret not in listed.stdout + listed.stderr
    assert auditor_secret not in listed.stdout + listed.stderr
    header, auditor_row, supervisor_row = (line.split() for line in listed.stdout.strip().splitlines())
    assert header == ["id", "role", "scope", "name", "created", "expires", "revoked"]
    assert supervisor_row[:4] == ["1", "supervisor", "department:430100-personnel", "长沙人社"]
    assert supervisor_row[-1] == "-"
    assert auditor_row[:4] == ["2", "auditor", "-", "-"]
    assert auditor_row[-1] != "-"
    assert (unknown.returncode, _one_line(unknown.stderr)) == (1, "hub: error: there is no API token with id 3")

    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            stored = (await connection.execute(text("SELECT * FROM access_token WHERE id = 1"))).one()._mapping
        access = Access.on(engine)
        token = await access.tokens.authenticate(secret)
        with pytest.raises(InvalidToken):
            await access.tokens.authenticate(auditor_secret)
        audit = await access.audit.page(AuditQuery())
    finally:
        await engine.dispose()
    assert stored["digest"] == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in {str(value) for value in stored.values()}
    assert (token.role, token.scope) == (Role.SUPERVISOR, Scope(ScopeKind.DEPARTMENT, "430100-personnel"))
    assert [(entry.actor.kind, entry.action, entry.target) for entry in audit.entries] == [
        (ActorKind.COMMAND_LINE, AuditAction.TOKEN_REVOKED, Target(TargetKind.TOKEN, "2")),
        (ActorKind.COMMAND_LINE, AuditAction.TOKEN_CREATED, Target(TargetKind.TOKEN, "2")),
        (ActorKind.COMMAND_LINE, AuditAction.TOKEN_CREATED, Target(TargetKind.TOKEN, "1")),
    ]
    assert audit.entries[-1].details == {
        "role": "supervisor",
        "scope": "department:430100-personnel",
        "expires_days": 90,
    }


BAD_REQUESTS = [
    (["--role", "supervisor"], "scope: a supervisor's token names exactly one department or institution"),
    (["--role", "supervisor", "--institution", "439999-0001"], "institution: there is no institution with this code"),
    (["--role", "operator", "--department", "430100-personnel"], "department: only a supervisor's token has a scope"),
    (["--role", "operator", "--expires-days", "0"], "expires_days: between 1 and 365 days"),
]


async def test_a_bad_request_is_one_line_and_creates_nothing(
    run_hub: RunHub, tmp_path: Path, sqlite_template: Path
) -> None:
    # The checks do not depend on the database: SQLite alone keeps this test quick.
    database = tmp_path / "hub.db"
    shutil.copy(sqlite_template, database)
    hub_config = str(await _settings_with_organisation(tmp_path, f"sqlite+aiosqlite:///{database}"))
    for arguments, message in BAD_REQUESTS:
        refused = run_hub("tokens", "create", *arguments, "--config", hub_config)
        assert refused.returncode == 1, arguments
        assert _one_line(refused.stderr) == f"hub: error: {message}"
        assert "hub_" not in refused.stdout

    listed = run_hub("tokens", "list", "--config", hub_config)
    assert listed.stdout.strip().splitlines() == ["id  role  scope  name  created  expires  revoked"]


def test_the_tokens_commands_have_help(run_hub: RunHub) -> None:
    group = run_hub("tokens", "--help")
    create = run_hub("tokens", "create", "--help")

    assert (group.returncode, create.returncode) == (0, 0), group.stderr + create.stderr
    assert {"create", "list", "revoke"} <= set(group.stdout.split())
    assert all(option in create.stdout for option in ("--role", "--department", "--institution", "--expires-days"))
