"""The one stylesheet of the pages (``gateway/static/hub.css``), and the digest that versions its URL."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from typing import Final

__all__ = ["STYLESHEET_PATH", "Stylesheet", "load_stylesheet"]

STYLESHEET_PATH: Final = "/static/hub.css"
VERSION_CHARACTERS: Final = 12


@dataclass(frozen=True, slots=True)
class Stylesheet:
    """The sheet's bytes and the digest that versions its URL."""

    content: bytes
    version: str

    @property
    def url(self) -> str:
        """Where pages link it: the path with the version, so that a changed sheet has a new URL."""
        return f"{STYLESHEET_PATH}?v={self.version}"


def load_stylesheet() -> Stylesheet:
    """The stylesheet shipped in the package."""
    content = (resources.files("gateway") / "static" / "hub.css").read_bytes()
    return Stylesheet(content, hashlib.sha256(content).hexdigest()[:VERSION_CHARACTERS])
