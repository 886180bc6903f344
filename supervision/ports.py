"""What supervision sends through, as a small interface: staff messages.

The staff messages store (``GET /api/v1/me/messages``) is built apart from supervision; whatever
implements ``StaffMessages`` delivers supervision's notices and answers into it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from supervision.model import StaffMessage


class StaffMessages(Protocol):
    """Delivers messages to staff, each to its person, all of one call or none."""

    async def send(self, messages: Sequence[StaffMessage]) -> None: ...
