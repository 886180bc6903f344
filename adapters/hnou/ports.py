"""What the hnou adapter needs from the rest of the hub: nonces remembered, people found, commands checked."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol

from ledger.model import Command, PersonId

PersonForIdNumber = Callable[[str], Awaitable[PersonId | None]]
"""The registered person with this valid, normalised ID number, or ``None``
(as ``LearnerDirectory.person_for_id_number``)."""

CommandCheck = Callable[[Command], None]
"""Refuses a command the ledger could never record (as ``Ledger.check``): raises ``InvalidCommand``
or ``NoRulesForYear``."""


class NonceRegister(Protocol):
    """The nonces of signed requests seen recently, shared by every hub process."""

    async def first_use(self, appid: str, nonce: str, now: datetime) -> bool:
        """Remember the nonce; ``False`` when it was already used in the last ``NONCE_MEMORY_SECONDS``.

        Raises ``HnouUnavailable`` when the nonces cannot be stored.
        """
