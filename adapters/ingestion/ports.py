"""What the health view needs from outside ingestion: when each vendor was last pulled, and how many
discrepancies with each vendor are open."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from ledger.model import Source


class PullRuns(Protocol):
    async def last_pulls(self) -> Mapping[Source, datetime]:
        """When each vendor's last successful pull ended (a vendor never pulled is absent)."""


class OpenDiscrepancies(Protocol):
    async def open_per_vendor(self) -> Mapping[Source, int]:
        """How many discrepancies with each vendor are open (a vendor with none may be absent)."""


class NoDiscrepancyRecords:
    """``OpenDiscrepancies`` with none open anywhere: the health of a hub that reconciles nothing, as in tests."""

    async def open_per_vendor(self) -> Mapping[Source, int]:
        return {}
