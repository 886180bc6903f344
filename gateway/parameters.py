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


ROW_ID_MAX: Final = 2**31 - 1
"""The largest id an integer primary key holds on both databases (PostgreSQL's ``integer``)."""


def row_id(text: str) -> int | None:
    """The id of a row a path or cursor names: ASCII digits from 1 to ``ROW_ID_MAX``; ``None`` for
    anything else, which the caller answers as not found (a number no row can have is no row's)."""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(ROW_ID_MAX)):
        return None
    value = int(text)
    return value if 1 <= value <= ROW_ID_MAX else None
