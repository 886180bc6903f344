"""``hub pull <vendor>``: one pull from a vendor, run to completion, printing what it stored.

``hub pull hnou --date 20210601`` (or ``--from 20210601 --to 20210630``) fetches hnou's daily file
of each day and stores its records in batches, each batch one transaction with a receipt of every
record. It is idempotent with the form notifications and with itself: a record the ledger already
has with the same content is a duplicate, and a malformed line is held once.

``hub pull webtrn`` reads webtrn's pages from the stored watermark to the last, each page stored
with the watermark after it in one transaction (``adapters.webtrn.puller``).
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Final

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

from adapters.hnou.daily import DailyFileClient
from adapters.hnou.model import VENDOR as HNOU
from adapters.hnou.translation import Translator
from adapters.webtrn.puller import PullReport
from config import Settings, load_settings
from gateway.bootstrap import Hub, HubNotReady, open_hub
from gateway.jobs import webtrn_puller
from ledger.model import BEIJING, Delivery, Outcome, OutcomeKind
from ledger.service import Ledger

app = typer.Typer(help="Pull completions from a vendor, run to completion.", no_args_is_help=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", help="The TOML settings file (default: $HUB_CONFIG, else ./hub.toml).", show_default=False
    ),
]
DAYS_PER_PULL_MAX: Final = 366
DAILY_RECORDS_PER_BATCH: Final = 500
OUTCOME_WORDS: Final = {
    "appended": "appended",
    "duplicate": "duplicate",
    "pending": "pending (a revocation waiting for its completion)",
    "held:conflict": "held (conflict)",
    "held:unknown_person": "held (unknown person)",
    "held:malformed": "held (malformed)",
}
"""How each outcome label is printed, in the order printed."""
_DAY: Final = re.compile(r"[0-9]{8}", re.ASCII)

DayCounts = Counter[str]


def outcome_label(outcome: Outcome) -> str:
    """``appended``, ``duplicate``, ``pending``, or ``held:<reason>``."""
    return outcome.kind.value if outcome.held is None else f"held:{outcome.held.reason}"


async def store_daily_file(
    ledger: Ledger, files: DailyFileClient, day: date, on_stored: Callable[[int], None] | None = None
) -> DayCounts:
    """Store every record of one day's file; the counts of what the ledger made of them.

    Raises ``DailyFileFailed`` when the file cannot be read to its end (the batches before the
    break stay stored) and the ledger's errors when it cannot store.
    """
    counts: DayCounts = Counter()
    batch: list[Delivery] = []
    async for delivery in files.deliveries(day):
        batch.append(delivery)
        if len(batch) == DAILY_RECORDS_PER_BATCH:
            counts.update(outcome_label(outcome) for outcome in await ledger.receive(batch))
            if on_stored is not None:
                on_stored(len(batch))
            batch = []
    if batch:
        counts.update(outcome_label(outcome) for outcome in await ledger.receive(batch))
        if on_stored is not None:
            on_stored(len(batch))
    return counts


def daily_file_client(hub: Hub, http: httpx.AsyncClient) -> DailyFileClient:
    """The client of hnou's daily files on this hub; raises ``HubNotReady`` when hnou is not configured."""
    settings = hub.settings.vendors.hnou
    if settings is None:
        raise HubNotReady("hnou is not configured: add a [vendors.hnou] section to the settings")
    translator = Translator(hub.people.find_by_id_number, hub.keyring, hub.ledger.check)
    return DailyFileClient(
        http,
        api_base=settings.api_base,
        appid=settings.appid,
        appsecret=settings.appsecret.get_secret_value(),
        translator=translator,
    )


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


def describe(counts: DayCounts) -> str:
    """``3 records: 2 appended, 1 held (malformed)``."""
    total = sum(counts.values())
    parts = [f"{counts[label]} {words}" for label, words in OUTCOME_WORDS.items() if counts[label]]
    noun = "record" if total == 1 else "records"
    return f"{total} {noun}" + (": " + ", ".join(parts) if parts else "")


async def _pull_hnou(settings: Settings, days: Sequence[date]) -> list[tuple[date, DayCounts]]:
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
    async with open_hub(settings) as hub, httpx.AsyncClient() as http:
        files = daily_file_client(hub, http)
        with progress:
            task = progress.add_task(f"{HNOU} daily files", total=len(days), records=0)
            stored = Counter[str]()

            def count(records: int) -> None:
                stored["records"] += records
                progress.update(task, records=stored["records"])

            for day in days:
                progress.update(task, description=f"{HNOU} {day:%Y%m%d}")
                reports.append((day, await store_daily_file(hub.ledger, files, day, count)))
                progress.advance(task)
        # The years this pull changed, reviewed here rather than at a serving hub's next sweep.
        await hub.certificates.review_due()
    return reports


@app.command("webtrn")
def pull_webtrn(config: ConfigOption = None) -> None:
    """Pull webtrn's completions from where the last pull stopped to the last page, and store them."""
    settings = load_settings(config)
    report = asyncio.run(_pull_webtrn(settings))
    read_to = "" if report.watermark is None else f"; read to {report.watermark.updated_at:%Y-%m-%dT%H:%M:%SZ}"
    pages = "page" if report.pages == 1 else "pages"
    typer.echo(f"webtrn: {describe(webtrn_counts(report))} in {report.pages} {pages}{read_to}")


def webtrn_counts(report: PullReport) -> DayCounts:
    """A pull's report in the labels ``describe`` prints."""
    counts: DayCounts = Counter(
        {kind.value: report.count(kind) for kind in OutcomeKind if kind is not OutcomeKind.HELD}
    )
    counts.update({f"held:{reason}": count for reason, count in report.held.items()})
    return counts


async def _pull_webtrn(settings: Settings) -> PullReport:
    console = Console(stderr=True)
    progress = Progress(
        SpinnerColumn(),
        TextColumn("webtrn: {task.fields[pages]} pages, {task.fields[records]} records"),
        console=console,
        disable=not console.is_terminal,
    )
    async with open_hub(settings) as hub, webtrn_puller(hub) as puller:
        with progress:
            task = progress.add_task("webtrn", total=None, pages=0, records=0)
            report = await puller.pull(lambda report: progress.update(task, pages=report.pages, records=report.items))
        # The years this pull changed, reviewed here rather than at a serving hub's next sweep.
        await hub.certificates.review_due()
    return report
