"""Supervision's staff messages, delivered into the staff messages store that ``GET /api/v1/me/messages`` reads."""

from __future__ import annotations

from collections.abc import Sequence

from sso.messages.model import MessageKind, NewMessage
from sso.messages.service import Messages
from supervision.model import StaffMessage


class SupervisionMessages:
    """The ``StaffMessages`` of supervision: each notice or answer becomes a staff message of the same kind."""

    def __init__(self, messages: Messages) -> None:
        self._messages = messages

    async def send(self, messages: Sequence[StaffMessage]) -> None:
        await self._messages.send(
            *(
                NewMessage(
                    message.person_id, MessageKind(message.kind.value), message.title, message.body, message.link
                )
                for message in messages
            )
        )
