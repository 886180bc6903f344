"""Running the real ``hub`` program, and settings files for it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

HUB = Path(sys.executable).parent / "hub"
RunHub = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run_hub(tmp_path: Path) -> RunHub:
    """Run ``hub`` with these arguments in a clean environment and return what it did."""

    def run(*arguments: str, environment: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        clean = {key: value for key, value in os.environ.items() if not key.startswith("HUB")}
        return subprocess.run(  # noqa: S603  (our own program, with arguments from the test)
            [str(HUB), *arguments],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
            env={**clean, **(environment or {})},
            check=False,
        )

    return run
