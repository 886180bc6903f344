"""Query parameters several areas share, each parsed at the edge into a value or an invalid-request error."""

from __future__ import annotations

from typing import Final

from ledger.errors import FieldError
from sso.access.errors import InvalidAccessRequest

YEAR_MIN: Final = 2000
YEAR_MAX: Final = 2100


def year_parameter(text: str | None) -> int:
    """The training year a query names. Raises ``InvalidAccessRequest`` (422) naming ``year``."""
    if (
        text is None
        or not (len(text) == 4 and text.isascii() and text.isdigit())
        or not YEAR_MIN <= int(text) <= YEAR_MAX
    ):
        raise InvalidAccessRequest([FieldError("year", f"is required: a year from {YEAR_MIN} to {YEAR_MAX}")])
    return int(text)
