"""The ``hub`` command line. Every failure ends in one line on standard error and a non-zero exit.

A command imports the parts of the hub it runs on when it runs (``gateway.commands.open_hub``, the
imports inside the commands): importing them all would cost every ``hub`` a second or more of start-up.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import DBAPIError

from adapters.errors import AdapterError
from config import Settings, SettingsError, load_settings
from config.logging import configure_logging
from gateway.commands import CommandFailed, open_hub
from gateway.commands import exports as export_commands
from gateway.commands import keys as key_commands
from gateway.commands import organisation as organisation_commands
from gateway.commands import pull as pull_commands
from gateway.commands import reconcile as reconcile_commands
from gateway.commands import tokens as token_commands
from gateway.commands import trainings as training_commands
from gateway.errors import HubNotReady, VendorNotReady
from ledger.errors import LedgerError
from ledger.model import format_hours
from sso.errors import IdentityError
from trainings.errors import TrainingsError

EXIT_FAILURE = 1
WORKERS_MAX = 64
"""The most serving processes of ``hub serve --workers``."""


app = typer.Typer(
    name="hub",
    help="The training-hours hub: vendor SSO, hour ingestion, the ledger and certificates.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
ledger_app = typer.Typer(help="The append-only ledger of hours.", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")
app.add_typer(token_commands.app, name="tokens")
app.add_typer(key_commands.app, name="keys")
app.add_typer(organisation_commands.app, name="organisation")
app.add_typer(pull_commands.app, name="pull")
app.command()(export_commands.export)
app.add_typer(training_commands.offline_app, name="offline")
app.add_typer(training_commands.continuing_app, name="continuing-ed")
app.command("reconcile")(reconcile_commands.reconcile)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", help="The TOML settings file (default: $HUB_CONFIG, else ./hub.toml).", show_default=False
    ),
]


@app.command()
def migrate(config: ConfigOption = None) -> None:
    """Create or upgrade the database schema."""
    from gateway.bootstrap import ensure_keyring  # noqa: PLC0415  (needed by this command only)
    from gateway.database import migrate as migrate_database  # noqa: PLC0415  (needed by this command only)

    settings = load_settings(config)
    migrate_database(settings.hub.database_url)
    typer.echo("database schema is up to date")
    loaded = organisation_commands.load_configured_organisation(settings)
    if loaded is not None:
        typer.echo(loaded)
    if ensure_keyring(settings.hub.data_key_file):
        key_file = settings.hub.data_key_file
        typer.echo(f"created the personal-data key {key_file}: back it up, the data cannot be read without it")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="The port to listen on.")] = 8080,
    no_scheduler: Annotated[bool, typer.Option("--no-scheduler", help="Run no scheduled jobs here.")] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=WORKERS_MAX,
            help="Serving processes sharing the port (PostgreSQL only); the first runs the scheduled jobs.",
        ),
    ] = 1,
    config: ConfigOption = None,
) -> None:
    """Serve the HTTP interface (and the scheduled jobs, unless --no-scheduler)."""
    from gateway.workers import serve as serve_one  # noqa: PLC0415  (needed by this command only)
    from gateway.workers import serve_workers  # noqa: PLC0415  (needed by this command only)

    settings = load_settings(config)
    if workers == 1:
        serve_one(settings, host=host, port=port, scheduler=not no_scheduler)
        return
    code = serve_workers(settings, config, host=host, port=port, workers=workers, scheduler=not no_scheduler)
    if code:
        raise CommandFailed("a worker stopped unexpectedly; the others were stopped with it")


@app.command()
def scheduler(config: ConfigOption = None) -> None:
    """Run the scheduled jobs alone, apart from the web replicas."""
    asyncio.run(_run_scheduler(load_settings(config)))


async def _run_scheduler(settings: Settings) -> None:
    from gateway.jobs import running_scheduler  # noqa: PLC0415  (needed by this command only)
    from sso.certificates.service import running_reviews  # noqa: PLC0415  (needed by this command only)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for received in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(received, stop.set)
    async with open_hub(settings) as hub, running_scheduler(hub), running_reviews(hub.certificates, hub.ledger):
        await stop.wait()


@ledger_app.command("verify")
def ledger_verify(
    export_file: Annotated[
        Path | None, typer.Option("--export", help="Check this export file offline instead.", show_default=False)
    ] = None,
    manifest_file: Annotated[
        Path | None, typer.Option("--manifest", help="The export's manifest.", show_default=False)
    ] = None,
    jwks: Annotated[
        str | None,
        typer.Option(help="The hub's JWKS: a file, or the URL of /.well-known/jwks.json.", show_default=False),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Walk the whole hash chain and recompute every balance; exit 1 at the first break.

    With --export, --manifest and --jwks: check a downloaded export offline, with nothing but the JWKS.
    """
    offline = (export_file, manifest_file, jwks)
    if any(option is not None for option in offline):
        if export_file is None or manifest_file is None or jwks is None:
            raise typer.BadParameter("give --export, --manifest and --jwks together")
        typer.echo(export_commands.check_offline(export_file, manifest_file, jwks))
        return
    asyncio.run(_verify(load_settings(config)))


async def _verify(settings: Settings) -> None:
    async with open_hub(settings) as hub:
        report = await hub.ledger.verify_chain()
        if not report.intact:
            raise CommandFailed(f"ledger broken at sequence number {report.first_bad_seq}: {report.problem}")
        mismatches = await hub.ledger.balance_mismatches()
    if mismatches:
        first = mismatches[0]
        raise CommandFailed(
            f"{len(mismatches)} balance(s) differ from their entries, first {first.subject} of {first.year} "
            f"for person {first.person_id}: stored {format_hours(first.stored)}, "
            f"entries sum to {format_hours(first.recomputed)}"
        )
    typer.echo(f"ledger intact: {report.entries_checked} entries, head {report.head_seq} {report.head_hash}")


@app.command()
def demo(
    once: Annotated[bool, typer.Option("--once", help="Exit when the demonstration has run.")] = False,
    directory: Annotated[Path, typer.Option(help="Where the demonstration keeps its database.")] = Path("var/demo"),
    staff: Annotated[int | None, typer.Option(help="How many staff take part (30 to 499; 300 unless given).")] = None,
) -> None:
    """A complete demonstration on an embedded SQLite database."""
    from gateway.demo import STAFF_COUNT, DemoFailed, run_demo  # noqa: PLC0415  (needed by this command only)

    try:
        run_demo(directory, serve_after=not once, staff_count=STAFF_COUNT if staff is None else staff)
    except DemoFailed as failed:
        raise CommandFailed(str(failed)) from None


def main() -> None:
    """The console script: runs a command and turns every expected failure into one line."""
    configure_logging()
    try:
        code = app(standalone_mode=False)
    except typer.TyperException as error:  # a bad command line: typer's usage errors
        _fail(error.format_message(), error.exit_code)
    except typer.Abort:
        _fail("aborted", EXIT_FAILURE)
    except (
        SettingsError,
        CommandFailed,
        LedgerError,
        HubNotReady,
        VendorNotReady,
        IdentityError,
        AdapterError,
        TrainingsError,
    ) as error:
        _fail(str(error), EXIT_FAILURE)
    except (DBAPIError, OSError):
        # The driver's message may carry the database URL and its password: say only what failed.
        _fail("the database cannot be reached (check hub.database_url and that the server is up)", EXIT_FAILURE)
    sys.exit(code if isinstance(code, int) else 0)


def _fail(message: str, code: int) -> None:
    typer.echo(f"hub: error: {' '.join(message.split())}", err=True)
    sys.exit(code)
