"""``hub tokens``: create, list and revoke the API tokens of operators, auditors and supervisors.

A new token is printed once, alone on the last line, and never again: the hub keeps only its hash.
Each creation and revocation is written to the audit log as an act of the command line.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Annotated

import typer
from rich.cells import cell_len

from config import Settings, load_settings
from gateway.commands import open_hub
from sso.access.model import (
    COMMAND_LINE,
    TOKEN_LIFETIME_DAYS_DEFAULT,
    ApiToken,
    AuditAction,
    AuditOutcome,
    NewAuditEntry,
    Role,
    Target,
    TargetKind,
    TokenId,
    token_request,
)

app = typer.Typer(help="API tokens of operators, auditors and supervisors.", no_args_is_help=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", help="The TOML settings file (default: $HUB_CONFIG, else ./hub.toml).", show_default=False
    ),
]
LIST_COLUMNS = ("id", "role", "scope", "name", "created", "expires", "revoked")
NOTHING = "-"


@app.command()
def create(  # noqa: PLR0917  (typer passes each option as an argument)
    role: Annotated[Role, typer.Option(help="What the holder does.", case_sensitive=False, show_default=False)],
    department: Annotated[str | None, typer.Option(help="A supervisor's department code.", show_default=False)] = None,
    institution: Annotated[
        str | None, typer.Option(help="A supervisor's institution code.", show_default=False)
    ] = None,
    name: Annotated[str, typer.Option(help="Whose token it is, to recognise it in lists.")] = "",
    expires_days: Annotated[int, typer.Option(help="Days until the token stops working.")] = (
        TOKEN_LIFETIME_DAYS_DEFAULT
    ),
    config: ConfigOption = None,
) -> None:
    """Create a token and print it once, alone on the last line (only its hash is kept)."""
    settings = load_settings(config)
    token, secret = asyncio.run(
        _create(
            settings, role=role, department=department, institution=institution, name=name, expires_days=expires_days
        )
    )
    zone = settings.hub.timezone
    typer.echo(
        f"created token {token.id}: {token.role}, scope {token.scope or NOTHING}, "
        f"expires {_when(token.expires_at, zone)}. It is shown this once: keep it secret."
    )
    typer.echo(secret)


async def _create(
    settings: Settings, *, role: Role, department: str | None, institution: str | None, name: str, expires_days: int
) -> tuple[ApiToken, str]:
    async with open_hub(settings) as hub:
        request = token_request(
            await hub.organisation.organisation(),
            role=role.value,
            department=department,
            institution=institution,
            name=name,
            lifetime_days=expires_days,
        )
        issued = await hub.access.tokens.issue(request)
        token = issued.token
        details = {"role": token.role.value, "scope": None if token.scope is None else str(token.scope)}
        await hub.access.audit.record(
            NewAuditEntry(
                actor=COMMAND_LINE,
                action=AuditAction.TOKEN_CREATED,
                outcome=AuditOutcome.SUCCEEDED,
                target=Target(TargetKind.TOKEN, str(token.id)),
                details={**details, "expires_days": expires_days},
            )
        )
    return token, issued.secret


@app.command("list")
def list_tokens(config: ConfigOption = None) -> None:
    """List every token, newest first: never the tokens themselves."""
    settings = load_settings(config)
    tokens = asyncio.run(_list(settings))
    zone = settings.hub.timezone
    rows = [LIST_COLUMNS, *(_row(token, zone) for token in tokens)]
    # Widths in terminal cells: a Chinese character takes two.
    widths = [max(cell_len(row[column]) for row in rows) for column in range(len(LIST_COLUMNS))]
    for row in rows:
        cells = (cell + " " * (width - cell_len(cell)) for cell, width in zip(row, widths, strict=True))
        typer.echo("  ".join(cells).rstrip())


async def _list(settings: Settings) -> list[ApiToken]:
    async with open_hub(settings) as hub:
        return await hub.access.tokens.all()


def _row(token: ApiToken, zone: tzinfo) -> tuple[str, ...]:
    return (
        str(token.id),
        token.role.value,
        NOTHING if token.scope is None else str(token.scope),
        token.name or NOTHING,
        _when(token.created_at, zone),
        _when(token.expires_at, zone),
        NOTHING if token.revoked_at is None else _when(token.revoked_at, zone),
    )


@app.command()
def revoke(
    token_id: Annotated[int, typer.Argument(metavar="ID", help="The token's id, as `hub tokens list` shows it.")],
    config: ConfigOption = None,
) -> None:
    """Revoke a token: it stops working at once."""
    settings = load_settings(config)
    token = asyncio.run(_revoke(settings, TokenId(token_id)))
    revoked_at = NOTHING if token.revoked_at is None else _when(token.revoked_at, settings.hub.timezone)
    typer.echo(f"revoked token {token.id} ({token.role}) at {revoked_at}")


async def _revoke(settings: Settings, token_id: TokenId) -> ApiToken:
    async with open_hub(settings) as hub:
        token = await hub.access.tokens.revoke(token_id)
        await hub.access.audit.record(
            NewAuditEntry(
                actor=COMMAND_LINE,
                action=AuditAction.TOKEN_REVOKED,
                outcome=AuditOutcome.SUCCEEDED,
                target=Target(TargetKind.TOKEN, str(token.id)),
            )
        )
    return token


def _when(moment: datetime, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")
