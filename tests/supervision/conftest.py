"""A fake of the staff messages port, keeping what supervision sent through it."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from supervision.model import StaffMessage


class RecordingMessages:
    """The staff messages port, keeping what it was given, one list per call."""

    def __init__(self) -> None:
        self.calls: list[list[StaffMessage]] = []

    async def send(self, messages: Sequence[StaffMessage]) -> None:
        self.calls.append(list(messages))

    @property
    def sent(self) -> list[StaffMessage]:
        return [message for call in self.calls for message in call]


@pytest.fixture
def messages() -> RecordingMessages:
    return RecordingMessages()
