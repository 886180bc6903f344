"""``hub demo``: the hub at work on an embedded SQLite database, told step by step.

At this stage it shows the ledger: completions from the three vendors, a redelivery that
changes nothing, a conflicting redelivery held for an operator, revocations (one arriving
before its completion), balances, a year evaluated against its rules, and the chain verified.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from aiohttp import web
from rich.console import Console
from rich.table import Table

from config import Settings, load_settings
from gateway.app import create_app
from gateway.bootstrap import Hub, ensure_keyring, open_hub
from gateway.database import migrate
from ledger.model import BEIJING, Command, Outcome, Subject, format_hours, new_credit, new_reversal

DEMO_PORT = 8080
DEMO_SETTINGS = """\
[hub]
base_url = "http://127.0.0.1:{port}"
database_url = "sqlite+aiosqlite:///{database}"
data_key_file = "{directory}/data.key"

[rules.2021]
total_hours = 90
public_hours = 30
professional_hours = 60
hours_per_day = "7.5"

[rules.2021.mandatory]
xi_thought = ["ischinese:XJP-2021-01", "webtrn:C1001"]
party_history = ["ischinese:DS-2021-02", "hnou:HN-2021-DS01"]
"""


@dataclass(frozen=True, slots=True)
class Completion:
    """A completion as a vendor reports it; ``at`` is Beijing time."""

    vendor: str
    record: str
    person: str
    course: str
    title: str
    subject: str
    hours: str
    at: str

    def credit(self) -> Command:
        return new_credit(
            person_id=self.person,
            source=self.vendor,
            record_id=self.record,
            course_code=self.course,
            course_title=self.title,
            subject=self.subject,
            hours=self.hours,
            completed_at=datetime.strptime(self.at, "%Y-%m-%d %H:%M").replace(tzinfo=BEIJING),
            actor=f"vendor:{self.vendor}",
            payload_hash=_digest(f"{self.vendor}/{self.record}/{self.hours}"),
        )


COMPLETIONS = [
    Completion(
        "ischinese",
        "c-000123",
        "王芳",
        "XJP-2021-01",
        "习近平新时代中国特色社会主义思想概论",
        "public",
        "12",
        "2021-03-02 09:58",
    ),
    Completion("ischinese", "c-000124", "王芳", "DS-2021-02", "中国共产党历史", "public", "10.5", "2021-04-11 20:15"),
    Completion("webtrn", "88123", "王芳", "C1001", "新时代思想学习", "public", "8", "2021-05-20 10:00"),
    Completion("webtrn", "88124", "王芳", "C2040", "临床合理用药", "professional", "32", "2021-06-01 10:00"),
    Completion("hnou", "HN2021000451", "王芳", "HN-ZY07", "医院感染管理", "professional", "30", "2021-09-15 16:40"),
    Completion(
        "ischinese",
        "c-000200",
        "李强",
        "XJP-2021-01",
        "习近平新时代中国特色社会主义思想概论",
        "public",
        "12",
        "2021-03-05 08:30",
    ),
    Completion(
        "hnou",
        "HN2021000452",
        "李强",
        "HN-2021-ZY11",
        "中小学教师信息技术应用",
        "professional",
        "24",
        "2021-10-08 14:00",
    ),
]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _describe(outcome: Outcome) -> str:
    entries = ", ".join(f"#{entry.seq} {entry.kind} {format_hours(entry.hours)} h" for entry in outcome.entries)
    return f"{outcome.kind}" + (f" ({entries})" if entries else "")


async def _play(hub: Hub, console: Console) -> None:
    ledger = hub.ledger
    console.rule("1. Completions arrive from the three vendors")
    for completion in COMPLETIONS:
        outcome = await ledger.record(completion.credit())
        console.print(f"  {completion.vendor:<10} {completion.record:<13} {completion.person} → {_describe(outcome)}")

    console.rule("2. A redelivery with the same content: nothing changes")
    replay = replace(COMPLETIONS[0], hours="12.00", title="(标题不算内容)")
    console.print(f"  → {_describe(await ledger.record(replay.credit()))}")

    console.rule("3. A redelivery with other hours: held, the first version stays")
    conflict = replace(COMPLETIONS[3], hours="40")
    console.print(f"  → {_describe(await ledger.record(conflict.credit()))}")

    console.rule("4. Revocations, one before its completion")
    for vendor, record in (("hnou", "HN2021000452"), ("ischinese", "c-000300")):
        revocation = new_reversal(
            source=vendor,
            record_id=record,
            reason="vendor withdrew the completion",
            actor=f"vendor:{vendor}",
            payload_hash=_digest(f"revoked {record}"),
        )
        console.print(f"  {vendor} revokes {record} → {_describe(await ledger.record(revocation))}")
    late = Completion(
        "ischinese", "c-000300", "李强", "DS-2021-02", "中国共产党历史", "public", "10", "2021-05-01 09:00"
    )
    console.print(f"  c-000300 arrives late → {_describe(await ledger.record(late.credit()))}")

    await _show_balances(hub, console)
    console.rule("6. The chain and the balances are verified")
    report = await ledger.verify_chain()
    mismatches = await ledger.balance_mismatches()
    console.print(f"  chain intact: {report.intact}, {report.entries_checked} entries, head {report.head_hash[:16]}…")
    console.print(f"  balances equal a full recomputation: {not mismatches}")
    console.print(f"  held for an operator: {[record.record_id for record in await ledger.held_records()]}")


async def _show_balances(hub: Hub, console: Console) -> None:
    console.rule("5. Balances of 2021 against the rules: 90 h, 30 public, 60 professional")
    table = Table("person", "public", "professional", "total", "met", "missing")
    for person in ("王芳", "李强"):
        balance = await hub.ledger.balance(person, 2021)
        evaluation = await hub.ledger.evaluate(person, 2021)
        missing = [f"{format_hours(evaluation.missing_total)} h in all"] if evaluation.missing_total else []
        for subject, hours in (
            (Subject.PUBLIC, evaluation.missing_public),
            (Subject.PROFESSIONAL, evaluation.missing_professional),
        ):
            if hours:
                missing.append(f"{format_hours(hours)} h {subject}")
        missing += [f"topic {topic}" for topic in evaluation.missing_topics]
        table.add_row(
            person,
            format_hours(balance.public),
            format_hours(balance.professional),
            format_hours(balance.total),
            "yes" if evaluation.met else "no",
            "; ".join(missing) or "—",
        )
    console.print(table)


def run_demo(directory: Path, *, serve_after: bool) -> None:
    """Play the demonstration on a new database under ``directory``; then serve it unless told not to."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("hub.db*"):
        stale.unlink()
    settings_file = directory / "hub.toml"
    settings_file.write_text(
        DEMO_SETTINGS.format(port=DEMO_PORT, database=(directory / "hub.db").resolve(), directory=directory.resolve()),
        encoding="utf-8",
    )
    settings = load_settings(settings_file)
    migrate(settings.hub.database_url)
    ensure_keyring(settings.hub.data_key_file)
    asyncio.run(_play_and_serve(settings, serve_after=serve_after))


async def _play_and_serve(settings: Settings, *, serve_after: bool) -> None:
    console = Console()
    console.print(f"[bold]Training-hours hub demonstration[/bold] on {settings.hub.database_url}")
    async with open_hub(settings) as hub:
        await _play(hub, console)
    if not serve_after:
        return
    base = settings.hub.base_url
    console.rule(f"The hub is serving at {base} (Ctrl-C stops it)")
    console.print(f"  {base}/healthz  {base}/readyz  {base}/openapi.json")
    runner = web.AppRunner(create_app(settings, scheduler=True))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", DEMO_PORT).start()
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
