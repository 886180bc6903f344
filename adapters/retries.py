"""How a puller waits before it asks a vendor again: the vendor's ``Retry-After``, else backoff."""

from __future__ import annotations

import random
from typing import Final

RETRY_AFTER_SECONDS_MAX: Final = 120
RETRY_AFTER_DIGITS_MAX: Final = 6
BACKOFF_SECONDS_BASE: Final = 1.0
BACKOFF_SECONDS_MAX: Final = 60.0


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff with jitter: about 1, 2, 4 … seconds, never more than the maximum."""
    jitter = random.uniform(0.5, 1.5)  # noqa: S311  (spreads retries apart; nothing secret)
    return min(BACKOFF_SECONDS_MAX, BACKOFF_SECONDS_BASE * 2.0**attempt * jitter)


def retry_after_seconds(value: str | None) -> float | None:
    """A ``Retry-After`` of whole seconds, bounded; ``None`` when absent or not such a number."""
    if value is None or not (value.isascii() and value.isdigit()) or len(value) > RETRY_AFTER_DIGITS_MAX:
        return None
    return float(min(int(value), RETRY_AFTER_SECONDS_MAX))
