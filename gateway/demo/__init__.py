"""``hub demo``: the hub at work with the three vendors, on a fresh embedded SQLite database, told
step by step.

The hub and the three simulated vendors run in this process, each served on 127.0.0.1. A few hundred
staff of ten institutions register at the hub and go over to their vendors through the real SSO
flows, driven as a browser would drive them; then the vendors deliver the year's hours in their own
protocols (ischinese's webhooks, webtrn's pages pulled by the hub, hnou's signed forms and daily
files), with the mishaps vendors have: lost events, redeliveries, a revocation before its
completion, a conflicting correction, unknown learners, a record behind the pull's watermark, a
daily file never fetched. A hospital files an offline training that its department approves and
whose attendance it uploads, and an operator imports continuing education. An operator reconciles
the vendors with the ledger and resolves what differs, which brings some people over the line. At
the end: everyone's 2021 against the rules, the certificates the hub issued to those who meet it,
the chain verified, the records held for an operator, and the URLs, logins and console tokens to
try, which keep working until Ctrl-C unless ``--once`` was given.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections import Counter
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Final

import httpx
from rich.console import Console

from adapters.hnou.simulator_hours import SimulatorGaveUp as HnouGaveUp
from adapters.ischinese.simulator_hours import SimulatorGaveUp as IschineseGaveUp
from config import Settings, load_settings
from config.logging import configure_logging
from gateway.bootstrap import ensure_keyring, ledger_rules
from gateway.commands.organisation import load_configured_organisation
from gateway.database import migrate
from gateway.demo.browser import UnexpectedPage
from gateway.demo.cast import INSTITUTIONS, SEQUENCE_NUMBERS_MAX, YEAR, cast, strays, studies
from gateway.demo.deliveries import hnou_posts_and_files, ischinese_pushes, webtrn_is_pulled
from gateway.demo.handoffs import PEOPLE_AT_ONCE, Arrival, register_and_visit
from gateway.demo.reconciliation import RunFailed, reconciliation_recovers
from gateway.demo.report import (
    show_balances,
    show_certificates,
    show_held_records,
    show_hours_by_vendor,
    show_verification,
    show_ways_in,
)
from gateway.demo.stage import (
    ORGANISATION_FILE,
    Stage,
    VendorSecrets,
    bind_sockets,
    running_stage,
    settings_text,
    url_of,
)
from gateway.demo.trainings import continuing_education_is_imported, offline_training_is_attended

__all__ = ["STAFF_COUNT", "STAFF_COUNT_RANGE", "DemoFailed", "run_demo"]

STAFF_COUNT: Final = 300
"""Each registers and signs in with the hub's real argon2id parameters (about 0.15 s of both cores each)."""
STAFF_COUNT_RANGE: Final = range(30, SEQUENCE_NUMBERS_MAX + 1)
"""Below 30 people the story lacks someone for each mishap; the cast's ID numbers stop at 499 people."""
CONSOLE_WIDTH_OFF_TERMINAL: Final = 140


class DemoFailed(Exception):
    """The demonstration could not go on: a site answered otherwise than a person or a vendor expects."""


def run_demo(directory: Path, *, serve_after: bool, staff_count: int = STAFF_COUNT) -> None:
    """Play the demonstration with ``staff_count`` people on a new database under ``directory``; then
    serve it until Ctrl-C unless told not to.

    Raises ``DemoFailed`` saying where it stopped, or that ``staff_count`` is out of ``STAFF_COUNT_RANGE``.
    """
    if staff_count not in STAFF_COUNT_RANGE:
        raise DemoFailed(f"the demonstration takes {STAFF_COUNT_RANGE.start} to {STAFF_COUNT_RANGE.stop - 1} staff")
    # The story is told on the console; the hub's own lines (a retried call is a warning) would drown it.
    configure_logging("error")
    console = Console(width=None if sys.stdout.isatty() else CONSOLE_WIDTH_OFF_TERMINAL)
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("hub.db*"):
        stale.unlink()
    sockets = bind_sockets()
    try:
        shared = VendorSecrets.generate()
        settings_file = _write_settings(
            directory, {name: url_of(listener) for name, listener in sockets.items()}, shared
        )
        settings = load_settings(settings_file)
        _prepare(settings, settings_file, console)
        stage = running_stage(settings, sockets, shared, scheduler=serve_after)
        asyncio.run(_play_and_serve(stage, settings_file, staff_count, console, serve_after=serve_after))
    except KeyboardInterrupt:  # Ctrl-C while the demonstration plays
        console.print("  stopped")
    except (UnexpectedPage, IschineseGaveUp, HnouGaveUp, httpx.HTTPStatusError, RunFailed) as failure:
        raise DemoFailed(f"the demonstration stopped: {failure}") from failure
    finally:
        for listener in sockets.values():
            listener.close()


def _write_settings(directory: Path, urls: Mapping[str, str], shared: VendorSecrets) -> Path:
    """The demo's ``hub.toml``: the database under ``directory``, and the servers at ``urls``."""
    settings_file = directory / "hub.toml"
    database_url = f"sqlite+aiosqlite:///{(directory / 'hub.db').resolve()}"
    settings_file.write_text(
        settings_text(urls, database_url, directory / "data.key", ORGANISATION_FILE, shared), encoding="utf-8"
    )
    return settings_file


def _prepare(settings: Settings, settings_file: Path, console: Console) -> None:
    """Blocking: the migrations and the organisation's import drive event loops of their own."""
    console.print(f"[bold]Training-hours hub demonstration[/bold] on {settings.hub.database_url}")
    console.rule("1. A fresh database: the schema, the personal-data key, the organisation")
    migrate(settings.hub.database_url)
    ensure_keyring(settings.hub.data_key_file)
    console.print(f"  migrated; the settings are in {settings_file}")
    console.print(f"  {load_configured_organisation(settings) or 'the organisation was already loaded'}")


async def _play_and_serve(
    stage: AbstractAsyncContextManager[Stage],
    settings_file: Path,
    staff_count: int,
    console: Console,
    *,
    serve_after: bool,
) -> None:
    started = time.monotonic()
    async with stage as running:
        await _play(running, settings_file, staff_count, console)
        console.rule(f"The demonstration took {time.monotonic() - started:.0f} s")
        if not serve_after:
            return
        console.print(f"  the hub and the three vendors keep serving at {', '.join(running.urls.values())}")
        console.print("  Ctrl-C stops them")
        await _until_stopped()
        console.print("  stopped")


async def _until_stopped() -> None:
    """Return at Ctrl-C or SIGTERM, so that the servers close in order."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for received in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(received, stop.set)
    try:
        await stop.wait()
    finally:
        for received in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(received)


async def _play(stage: Stage, settings_file: Path, staff_count: int, console: Console) -> None:
    urls = stage.urls
    console.rule("2. The hub and the three vendors start, each on 127.0.0.1")
    console.print(f"  hub {urls['hub']}   思想天下 ischinese {urls['ischinese']}   网梯 webtrn {urls['webtrn']}")
    console.print(f"  湖南开放大学 hnou {urls['hnou']}")
    arrivals = await _staff_arrive(stage, staff_count, console)
    done = studies([arrival.member for arrival in arrivals])
    astray = strays(done, ledger_rules(stage.settings.rules)[YEAR])

    console.rule("4. 思想天下 (ischinese) pushes Standard Webhooks")
    await ischinese_pushes(stage, done, astray, console)
    console.rule("5. 网梯 (webtrn) serves pages; the hub pulls them over OAuth 2.0")
    await webtrn_is_pulled(stage, done, astray, console)
    console.rule("6. 湖南开放大学 (hnou) posts signed forms and offers daily files")
    unfetched = await hnou_posts_and_files(stage, done, astray, console)

    console.rule("7. An offline training filed, approved and attended; continuing education imported")
    await offline_training_is_attended(stage, arrivals, console)
    await continuing_education_is_imported(stage, arrivals, console)
    console.rule("8. An operator reconciles each vendor with the ledger and resolves what differs")
    recovered = await reconciliation_recovers(stage, arrivals, unfetched, console)
    brought = [item.arrival for item in recovered if item.met_after and not item.met_before]

    console.rule(f"9. Everyone's {YEAR} against the rules: 90 h, 30 public, 60 professional, 3 mandatory topics")
    met = await show_balances(stage, arrivals, console)
    console.rule(f"10. Certificates (培训合格证书) of everyone who meets {YEAR}, issued as their hours arrived")
    verify_url = await show_certificates(stage, met, console)
    console.rule("11. The hours each source brought, as the ledger holds them")
    await show_hours_by_vendor(stage, arrivals, console)
    console.rule("12. The ledger verified: the hash chain walked, every balance recomputed")
    await show_verification(stage, console)
    console.rule("13. Held for an operator")
    await show_held_records(stage, console)
    console.rule("14. Try it yourself (invented people: their ID numbers are synthetic)")
    await show_ways_in(
        stage, met, settings_file, console, recovered=brought[0] if brought else None, verify_url=verify_url
    )


async def _staff_arrive(stage: Stage, staff_count: int, console: Console) -> list[Arrival]:
    members = cast(staff_count)
    console.rule("3. Staff register, sign in, and go to their vendors through SSO")
    console.print(
        f"  {len(members)} staff of {len(INSTITUTIONS)} institutions, through the hub's API and its consent "
        "pages; ischinese and webtrn by a signed jwt-post form, hnou by an LTI 1.3 launch (pylti1p3)"
    )
    started = time.monotonic()
    arrivals = await register_and_visit(stage.hub_url, members)
    visits = Counter(vendor for member in members for vendor in member.vendors)
    accounts = {
        "ischinese": len(stage.ischinese.accounts),
        "webtrn": len(stage.webtrn.accounts),
        "hnou": len(stage.hnou.learners),
    }
    offline_only = sum(1 for member in members if not member.vendors)
    console.print(
        f"  registered in {time.monotonic() - started:.0f} s, {PEOPLE_AT_ONCE} people at a time (each password an "
        f"argon2id hash); {offline_only} study at no vendor and did not sign in"
    )
    console.print(
        "  accounts the vendors created at the first launch: "
        + ", ".join(f"{vendor} {count} (of {visits[vendor]} people)" for vendor, count in accounts.items())
    )
    return arrivals
