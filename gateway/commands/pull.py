"""``hub pull <vendor>``: one pull from a vendor, run to completion, printing what it stored.

``hub pull hnou --date 20210601`` (or ``--from 20210601 --to 20210630``) fetches hnou's daily file
of each day and stores its records in batches, each batch one transaction with a receipt of every
record. It is idempotent with the form notifications and with itself: a record the ledger already
has with the same content is a duplicate, and a malformed line is held once.

``hub pull webtrn`` reads webtrn's pages from the stored watermark to the last, each page stored
with the watermark after it in one transaction (``adapters.webtrn.puller``).

Both go through the registry of vendors (``gateway.vendors``), and each is recorded as a run of its
job (``pull_hnou``, ``pull_webtrn``), so that the health view knows the last successful pull.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Final

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

from adapters.ports import PullReport
from config import Settings, load_settings
from gateway.commands import open_hub
from gateway.pulls import DayCounts, describe, describe_pull, store_daily_file
from ledger.model import BEIJING, Source

app = typer.Typer(help="Pull completions from a vendor, run to completion.", no_args_is_help=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", help="The TOML settings file (default: $HUB_CONFIG, else ./hub.toml).", show_default=False
    ),
]
DAYS_PER_PULL_MAX: Final = 366
COMMAND_LINE: Final = "command_line"
_DAY: Final = re.compile(r"[0-9]{8}", re.ASCII)


@app.command("hnou")
def pull_hnou(
    day: Annotated[str | None, typer.Option("--date", help="One day, YYYYMMDD.", show_default=False)] = None,
    first: Annotated[str | None, typer.Option("--from", help="The first day, YYYYMMDD.", show_default=False)] = None,
    last: Annotated[str | None, typer.Option("--to", help="The last day, YYYYMMDD.", show_default=False)] = None,
    config: ConfigOption = None,
) -> None:
    """Fetch hnou's daily files of one day (--date) or a range (--from … --to …) and store their records."""
    days = days_asked(day, first, last)
    settings = load_settings(config)
    reports = asyncio.run(_pull_hnou(settings, days))
    for pulled, counts in reports:
        typer.echo(f"hnou {pulled:%Y%m%d}: {describe(counts)}")
    if len(reports) > 1:
        total: DayCounts = sum((counts for _day, counts in reports), Counter())
        typer.echo(f"hnou {days[0]:%Y%m%d} to {days[-1]:%Y%m%d}: {describe(total)}")


def days_asked(day: str | None, first: str | None, last: str | None) -> list[date]:
    """The days of ``--date`` or of ``--from``/``--to``; raises ``typer.BadParameter``."""
    if day is not None and (first is not None or last is not None):
        raise typer.BadParameter("give --date, or --from and --to, not both")
    if day is not None:
        return [_parse_day(day, "--date")]
    if first is None or last is None:
        raise typer.BadParameter("give --date, or both --from and --to")
    start, end = _parse_day(first, "--from"), _parse_day(last, "--to")
    if end < start:
        raise typer.BadParameter("--to is before --from", param_hint="--to")
    if (end - start).days >= DAYS_PER_PULL_MAX:
        raise typer.BadParameter(f"at most {DAYS_PER_PULL_MAX} days in one pull", param_hint="--to")
    return [start + timedelta(days=offset) for offset in range((end - start).days + 1)]


def _parse_day(text: str, option: str) -> date:
    refusal = typer.BadParameter("must be a day written YYYYMMDD, such as 20210601", param_hint=option)
    if _DAY.fullmatch(text) is None:
        raise refusal
    try:
        return datetime.strptime(text, "%Y%m%d").replace(tzinfo=BEIJING).date()
    except ValueError:
        raise refusal from None


async def _pull_hnou(settings: Settings, days: Sequence[date]) -> list[tuple[date, DayCounts]]:
    from gateway.jobs import recorded_run  # noqa: PLC0415  (imported when it runs: see gateway.cli)

    console = Console(stderr=True)
    reports: list[tuple[date, DayCounts]] = []
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[records]} records"),
        console=console,
        disable=not console.is_terminal,
    )
    async with open_hub(settings) as hub:
        files = hub.vendors.batches(Source.HNOU)
        with progress:
            task = progress.add_task("hnou daily files", total=len(days), records=0)
            stored = Counter[str]()

            def count(records: int) -> None:
                stored["records"] += records
                progress.update(task, records=stored["records"])

            async with recorded_run(hub, "pull_hnou", Source.HNOU, COMMAND_LINE) as said:
                for day in days:
                    progress.update(task, description=f"hnou {day:%Y%m%d}")
                    reports.append((day, await store_daily_file(hub.ledger, files, day, count)))
                    said.append(f"{day:%Y%m%d}: {describe(reports[-1][1])}")
                    progress.advance(task)
        # The years this pull changed, reviewed here rather than at a serving hub's next sweep.
        await hub.certificates.review_due()
    return reports


@app.command("webtrn")
def pull_webtrn(config: ConfigOption = None) -> None:
    """Pull webtrn's completions from where the last pull stopped to the last page, and store them."""
    settings = load_settings(config)
    report = asyncio.run(_pull_webtrn(settings))
    typer.echo(f"webtrn: {describe_pull(report)}")


async def _pull_webtrn(settings: Settings) -> PullReport:
    from gateway.jobs import recorded_run  # noqa: PLC0415  (imported when it runs: see gateway.cli)

    console = Console(stderr=True)
    progress = Progress(
        SpinnerColumn(),
        TextColumn("webtrn: {task.fields[pages]} pages, {task.fields[records]} records"),
        console=console,
        disable=not console.is_terminal,
    )
    async with open_hub(settings) as hub:
        puller = hub.vendors.puller(Source.WEBTRN)
        with progress:
            task = progress.add_task("webtrn", total=None, pages=0, records=0)
            async with recorded_run(hub, "pull_webtrn", Source.WEBTRN, COMMAND_LINE) as said:
                report = await puller.pull(
                    lambda report: progress.update(task, pages=report.pages, records=report.items)
                )
                said.append(describe_pull(report))
        # The years this pull changed, reviewed here rather than at a serving hub's next sweep.
        await hub.certificates.review_due()
    return report
