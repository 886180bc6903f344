"""``hub reconcile <vendor> --year 2021`` (or ``--from 2021-06-01 --to 2021-06-30``): one reconciliation
of a vendor's records with the ledger, run to completion here, with a progress bar on a terminal and
a table of what it found at the end. The discrepancies wait for an operator in the API
(``GET /api/v1/discrepancies``). A run that fails still prints what it compared, then one line
saying why, and exits 1. The run is audited as an act of the command line.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Annotated, Final

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from config import Settings, load_settings
from gateway.commands import CommandFailed, open_hub
from ledger.reconciliation.errors import InvalidReconciliationRequest
from ledger.reconciliation.model import VENDORS, DiscrepancyKind, Run, RunRequest, RunStatus, parse_run_request
from sso.access.model import COMMAND_LINE, AuditAction, AuditOutcome, NewAuditEntry, Target, TargetKind

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", help="The TOML settings file (default: $HUB_CONFIG, else ./hub.toml).", show_default=False
    ),
]
OPTIONS: Final = {"vendor": "VENDOR", "year": "--year", "from": "--from", "to": "--to"}
_COMPACT_DAY: Final = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})", re.ASCII)


def reconcile(
    vendor: Annotated[
        str, typer.Argument(metavar="VENDOR", help=f"One of {', '.join(vendor.value for vendor in VENDORS)}.")
    ],
    year: Annotated[int | None, typer.Option(help="A training year with rules.", show_default=False)] = None,
    first: Annotated[
        str | None, typer.Option("--from", help="The first day, YYYY-MM-DD (or YYYYMMDD).", show_default=False)
    ] = None,
    last: Annotated[
        str | None, typer.Option("--to", help="The last day, included, YYYY-MM-DD.", show_default=False)
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Reconcile a vendor's records with the ledger over a year (--year) or a range of days (--from … --to …)."""
    request = run_request(vendor, year, first, last)
    settings = load_settings(config)
    run = asyncio.run(_reconcile(settings, request))
    typer.echo(heading(run))
    Console().print(summary(run))
    typer.echo(f"open discrepancies: GET /api/v1/discrepancies?status=open&vendor={run.vendor.value}")
    if run.status is not RunStatus.SUCCEEDED:
        raise CommandFailed(f"the reconciliation of {run.vendor.value} (run {run.id}) failed: {run.failure}")


def run_request(vendor: str, year: int | None, first: str | None, last: str | None) -> RunRequest:
    """The request the arguments make; raises ``typer.BadParameter`` naming the first option at fault."""
    given = {"year": year, "from": _iso_day(first), "to": _iso_day(last)}
    document: dict[str, object] = {
        "vendor": vendor,
        **{name: value for name, value in given.items() if value is not None},
    }
    try:
        return parse_run_request(document)
    except InvalidReconciliationRequest as invalid:
        error = invalid.errors[0]
        raise typer.BadParameter(error.message, param_hint=OPTIONS.get(error.field, error.field)) from None


def _iso_day(text: str | None) -> str | None:
    if text is None:
        return None
    compact = _COMPACT_DAY.fullmatch(text)
    return text if compact is None else "-".join(compact.groups())


async def _reconcile(settings: Settings, request: RunRequest) -> Run:
    console = Console(stderr=True)
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[compared]} compared, {task.fields[found]} differ ({task.fields[side]})"),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
    )
    async with open_hub(settings) as hub:
        with progress:
            task = progress.add_task(f"{request.vendor.value}", total=None, compared=0, found=0, side="vendor")
            run = await hub.reconciliations.run(
                request,
                "command_line",
                lambda now: progress.update(task, compared=now.compared, found=now.found, side=now.side),
            )
        await hub.access.audit.record(
            NewAuditEntry(
                actor=COMMAND_LINE,
                action=AuditAction.RECONCILIATION_STARTED,
                outcome=AuditOutcome.SUCCEEDED if run.status is RunStatus.SUCCEEDED else AuditOutcome.FAILED,
                target=Target(TargetKind.RECONCILIATION, str(run.id)),
                details={
                    "vendor": run.vendor.value,
                    "first_day": run.scope.first_day.isoformat(),
                    "last_day": run.scope.last_day.isoformat(),
                },
            )
        )
    return run


def heading(run: Run) -> str:
    """``ischinese 2021: run 3 succeeded``."""
    scope = run.scope
    covered = str(scope.year) if scope.year is not None else f"{scope.first_day} to {scope.last_day}"
    return f"{run.vendor.value} {covered}: run {run.id} {run.status.value}"


def summary(run: Run) -> Table:
    """What the run compared and found, one row a count."""
    table = Table()
    table.add_column("", no_wrap=True)
    table.add_column("records", justify="right")
    table.add_row("compared", str(run.counts.compared))
    for kind in DiscrepancyKind:
        table.add_row(kind.value, str(run.counts.of_kind(kind)))
    table.add_row("unreadable at the vendor", str(run.counts.unreadable))
    return table
