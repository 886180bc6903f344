"""Long lists on pages, one page of rows at a time, with links to the pages before and after."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Generic, TypeVar
from urllib.parse import urlencode

__all__ = ["PAGE_NUMBER_MAX", "Paged", "page_number", "paged"]

PAGE_NUMBER_MAX: Final = 100_000
PAGE_PARAMETER: Final = "page"

Row = TypeVar("Row")


@dataclass(frozen=True, slots=True)
class Paged(Generic[Row]):
    """One page of a list: its rows, where it stands, and the links to the pages before and after."""

    rows: Sequence[Row]
    number: int
    count: int
    total_rows: int
    previous_url: str | None
    next_url: str | None


def page_number(query: Mapping[str, str]) -> int:
    """The page a query asks for (``?page=N``, from 1); anything else is the first page."""
    text = query.get(PAGE_PARAMETER, "1")
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(PAGE_NUMBER_MAX)):
        return 1
    return min(max(1, int(text)), PAGE_NUMBER_MAX)


def paged(rows: Sequence[Row], number: int, *, size: int, path: str, query: Mapping[str, str]) -> Paged[Row]:
    """Page ``number`` of ``rows`` (the last page when it asks beyond), ``size`` rows a page; the links
    keep ``path`` and the other parameters of ``query``."""
    count = max(1, -(-len(rows) // size))
    number = min(number, count)
    start = (number - 1) * size

    def url(to: int) -> str:
        kept = {name: value for name, value in query.items() if name != PAGE_PARAMETER}
        return f"{path}?{urlencode({**kept, PAGE_PARAMETER: str(to)})}"

    return Paged(
        rows=rows[start : start + size],
        number=number,
        count=count,
        total_rows=len(rows),
        previous_url=url(number - 1) if number > 1 else None,
        next_url=url(number + 1) if number < count else None,
    )
