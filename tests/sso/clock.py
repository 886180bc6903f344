"""A clock for the tests of the sso services, which take the time from the clock they are given."""

from __future__ import annotations

from datetime import datetime, timedelta


class Clock:
    """A clock that stands still until moved."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
