"""A throwaway PostgreSQL cluster of the suite's own, to restart at will.

The machine's PostgreSQL is shared by everyone's tests, so it is never restarted: the scenario that
restarts PostgreSQL starts this one instead, on a free port of 127.0.0.1 with its socket and data in
a temporary folder, from the binaries of the installed PostgreSQL (``/usr/lib/postgresql/*/bin``).
``initdb`` refuses to run as root, so under root every command of the cluster runs as the
``postgres`` system user (``runuser -u postgres``), which owns the folder; a developer's own account
runs them directly. Trust authentication, for the test user ``postgres`` only on 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

POSTGRESQL_ROOT = Path("/usr/lib/postgresql")
CLUSTER_OWNER = "postgres"
COMMAND_TIMEOUT_SECONDS = 120
CONNECTIONS_MAX = 250
"""Enough for the concurrency scenario's writers, with room for the hub's pools."""


class ClusterUnavailable(Exception):
    """No PostgreSQL binaries here to make a cluster of."""


def postgresql_bin() -> Path:
    """The ``bin`` folder of the newest PostgreSQL installed; raises ``ClusterUnavailable``."""
    found = sorted(POSTGRESQL_ROOT.glob("*/bin/pg_ctl"), key=lambda path: int(path.parts[-3]))
    if not found:
        raise ClusterUnavailable(f"no PostgreSQL binaries under {POSTGRESQL_ROOT}")
    return found[-1].parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class ThrowawayCluster:
    """A cluster in ``folder`` serving 127.0.0.1:``port``."""

    folder: Path
    port: int
    binaries: Path

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def log(self) -> Path:
        return self.folder / "postgresql.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    @classmethod
    def create(cls) -> ThrowawayCluster:
        binaries = postgresql_bin()
        folder = Path(tempfile.mkdtemp(prefix="hub-reliability-pg-"))
        if os.geteuid() == 0:
            shutil.chown(folder, CLUSTER_OWNER, CLUSTER_OWNER)
        cluster = cls(folder, free_port(), binaries)
        cluster._run("initdb", "-D", str(cluster.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        return cluster

    def _run(self, program: str, *arguments: str) -> None:
        command = [str(self.binaries / program), *arguments]
        if os.geteuid() == 0:
            command = ["runuser", "-u", CLUSTER_OWNER, "--", *command]
        subprocess.run(  # noqa: S603  (the installed PostgreSQL's own programs)
            command, check=True, capture_output=True, timeout=COMMAND_TIMEOUT_SECONDS
        )

    def _options(self) -> str:
        return f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c max_connections={CONNECTIONS_MAX}"

    def start(self) -> None:
        self._run("pg_ctl", "start", "-w", "-D", str(self.data), "-l", str(self.log), "-o", self._options())

    def stop(self) -> None:
        """A fast shutdown: open connections are cut, as when an operator restarts the server."""
        self._run("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.data))

    def restart(self) -> None:
        self._run(
            "pg_ctl", "restart", "-w", "-m", "fast", "-D", str(self.data), "-l", str(self.log), "-o", self._options()
        )

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
