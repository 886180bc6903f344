"""``hub serve --workers N``: several serving processes on one port, PostgreSQL only, stopped together."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

from gateway.bootstrap import ensure_keyring
from tests.conftest import SETTINGS

from .conftest import HUB, RunHub

START_SECONDS_MAX = 120
STOP_SECONDS_MAX = 90


def _settings(directory: Path, database_url: str) -> Path:
    path = directory / "hub.toml"
    path.write_text(SETTINGS.format(database_url=database_url, directory=directory), encoding="utf-8")
    ensure_keyring(directory / "data.key")
    return path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _listening(port: int) -> int:
    """The IPv4 sockets listening on ``port``: one per process sharing it."""
    lines = Path("/proc/net/tcp").read_text(encoding="ascii").splitlines()[1:]
    return sum(1 for line in lines if (fields := line.split())[1].endswith(f":{port:04X}") and fields[3] == "0A")


def test_several_workers_need_postgresql(run_hub: RunHub, tmp_path: Path) -> None:
    settings = _settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}")

    result = run_hub("serve", "--workers", "2", "--config", str(settings))

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "hub: error: --workers above 1 needs PostgreSQL: on SQLite run one hub process"
    ]


def test_several_workers_share_the_port_and_stop_together(tmp_path: Path, postgresql_database_url: str) -> None:
    settings = _settings(tmp_path, postgresql_database_url)
    port = _free_port()
    clean = {key: value for key, value in os.environ.items() if not key.startswith("HUB")}
    command = [str(HUB), "serve", "--no-scheduler", "--workers", "3", "--port", str(port), "--config", str(settings)]
    hub = subprocess.Popen(command, cwd=tmp_path, env=clean, stderr=subprocess.PIPE, text=True)  # noqa: S603  (our own program)
    try:
        deadline = time.monotonic() + START_SECONDS_MAX
        while _listening(port) < 3 and hub.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _listening(port) == 3
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
    finally:
        hub.send_signal(signal.SIGTERM)
        _out, errors = hub.communicate(timeout=STOP_SECONDS_MAX)

    assert hub.returncode == 0, errors
    assert _listening(port) == 0
