"""The ``hub`` command line's groups of commands, one module each, added to ``gateway.cli``'s app."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from config import Settings
    from gateway.bootstrap import Hub


class CommandFailed(Exception):
    """A command could not do its work; the message is the one line the user sees."""


def open_hub(settings: Settings) -> AbstractAsyncContextManager[Hub]:
    """``gateway.bootstrap.open_hub``, imported by the first command that opens the hub: its services
    import nearly the whole project, which ``--help`` and a command refused before its work never need."""
    from gateway.bootstrap import open_hub  # noqa: PLC0415  (see the docstring)

    return open_hub(settings)
