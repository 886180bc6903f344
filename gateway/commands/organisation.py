"""``hub organisation import``: replace the stored organisation with a file's, all or nothing.

``hub migrate`` also loads the configured ``[organisation] file`` into an empty database, through
``load_configured_organisation``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from config import Settings, load_settings
from sso.errors import OrganisationInvalid
from sso.organisation import Organisation, load_organisation
from sso.units.model import ImportSummary
from sso.units.service import OrganisationService

app = typer.Typer(help="The organisation: regions, departments and institutions.", no_args_is_help=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", help="The TOML settings file (default: $HUB_CONFIG, else ./hub.toml).", show_default=False
    ),
]


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="The organisation JSON file.", show_default=False)],
    config: ConfigOption = None,
) -> None:
    """Replace the stored organisation with the one in FILE; nothing changes if any entry is bad."""
    settings = load_settings(config)
    organisation = _checked(file)
    summary = asyncio.run(_replace(settings, organisation))
    typer.echo(f"imported {_described(summary)} from {file}")


def load_configured_organisation(settings: Settings) -> str | None:
    """Load the ``[organisation] file`` into a database that holds no organisation yet.

    Returns a line saying what was loaded, or ``None`` when nothing was to be done.
    Raises ``OrganisationInvalid`` naming the file's bad entries.
    """
    if settings.organisation.file is None:
        return None
    organisation = _checked(settings.organisation.file)
    summary = asyncio.run(_import_if_empty(settings, organisation))
    if summary is None:
        return None
    return f"loaded the organisation: {_described(summary)} from {settings.organisation.file}"


def _checked(file: Path) -> Organisation:
    try:
        return load_organisation(file)
    except OrganisationInvalid as exc:
        for line in exc.problems:
            typer.echo(f"hub: {line}", err=True)
        raise OrganisationInvalid(f"{len(exc.problems)} problem(s) in {file}; nothing was imported") from None


async def _replace(settings: Settings, organisation: Organisation) -> ImportSummary:
    from gateway.database import create_engine  # noqa: PLC0415  (imported when it runs: see gateway.cli)

    engine = create_engine(settings.hub.database_url)
    try:
        return await OrganisationService(engine).replace(organisation)
    finally:
        await engine.dispose()


async def _import_if_empty(settings: Settings, organisation: Organisation) -> ImportSummary | None:
    from gateway.database import create_engine  # noqa: PLC0415  (imported when it runs: see gateway.cli)

    engine = create_engine(settings.hub.database_url)
    try:
        return await OrganisationService(engine).import_if_empty(organisation)
    finally:
        await engine.dispose()


def _described(summary: ImportSummary) -> str:
    return f"{summary.regions} regions, {summary.departments} departments, {summary.institutions} institutions"
