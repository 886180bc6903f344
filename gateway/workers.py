"""``hub serve --workers N``: N serving processes on one port, for a hub that one core cannot carry.

Each worker is a whole hub (its own event loop, engine, group committer and review worker); the
kernel spreads the incoming connections between them (``SO_REUSEPORT``). The ledger stays one
chain: every appender takes PostgreSQL's advisory lock on the chain's head, whichever process it
runs in, and reviews of one year take turns the same way. SQLite has no such locks: one process.
Only the first worker runs the scheduled jobs.

The parent only supervises: it passes SIGINT and SIGTERM on to the workers and waits for them;
when one worker dies the others are stopped too, so that a supervisor restarts the whole service.
"""

from __future__ import annotations

import gc
import multiprocessing
import signal
from collections.abc import Sequence
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType

from aiohttp import web
from sqlalchemy import make_url

from config import Settings, load_settings
from config.logging import configure_logging
from gateway.app import create_app
from gateway.commands import CommandFailed

STOP_GRACE_SECONDS = 60.0


def serve(settings: Settings, *, host: str, port: int, scheduler: bool) -> None:
    """One serving process in the foreground, until SIGINT or SIGTERM."""
    # Each route logs what it did; aiohttp's line per request would double the logging cost.
    web.run_app(_serving_app(settings, scheduler), host=host, port=port, print=None, access_log=None)


def _serving_app(settings: Settings, scheduler: bool) -> web.Application:
    app = create_app(settings, scheduler=scheduler)
    app.on_startup.append(_freeze_what_started)  # after the hub's own start-up (cleanup_ctx) has run
    return app


async def _freeze_what_started(_app: web.Application) -> None:
    """Take what start-up made (modules, the app, the hub) out of the garbage collector's sight: they
    live as long as the process, and under load each full collection would walk all of them again
    (about 0.1 s each, measured under the webhook benchmark)."""
    gc.collect()
    gc.freeze()


def serve_workers(
    settings: Settings, config: Path | None, *, host: str, port: int, workers: int, scheduler: bool
) -> int:
    """``workers`` serving processes sharing ``host:port``; returns the exit code of the service.

    Raises ``CommandFailed`` for more than one worker on SQLite.
    """
    if make_url(settings.hub.database_url).get_backend_name() == "sqlite":
        raise CommandFailed("--workers above 1 needs PostgreSQL: on SQLite run one hub process")
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no event loop or engine inherited
    processes = [
        context.Process(
            target=_worker,
            args=(config, host, port, scheduler and number == 0),
            name=f"hub-worker-{number}",
        )
        for number in range(workers)
    ]
    stopping = False

    def stop(_signal: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        _terminate(processes)

    for received in (signal.SIGINT, signal.SIGTERM):
        signal.signal(received, stop)
    for process in processes:
        process.start()
    wait([process.sentinel for process in processes])  # until one ends: a stop, or a worker died
    _terminate(processes)
    for process in processes:
        process.join(STOP_GRACE_SECONDS)
        if process.is_alive():
            process.kill()
            process.join()
    return 0 if stopping else 1


def _terminate(processes: Sequence[BaseProcess]) -> None:
    for process in processes:
        if process.is_alive():
            process.terminate()


def _worker(config: Path | None, host: str, port: int, scheduler: bool) -> None:
    configure_logging()
    settings = load_settings(config)
    web.run_app(
        _serving_app(settings, scheduler),
        host=host,
        port=port,
        reuse_port=True,
        print=None,
        access_log=None,
    )
