"""What the adapters need from the rest of the hub: who a vendor's learner is."""

from __future__ import annotations

from typing import Protocol

from ledger.model import PersonId


class LearnerDirectory(Protocol):
    """Maps a vendor's key for a learner to the hub's person."""

    async def person_for_subject(self, vendor: str, subject: str) -> PersonId | None:
        """The person the hub gave this pairwise ``sub`` for this vendor, or ``None``."""

    async def person_for_id_number(self, id_number: str) -> PersonId | None:
        """The registered person with this (valid, normalised) ID number, or ``None``."""

    async def link_account(self, vendor: str, subject: str, account_id: str) -> bool:
        """Record the vendor's account for a pairwise ``sub``; ``False`` when the hub never issued it."""
