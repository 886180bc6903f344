"""Share charts drawn on the server as inline SVG: no script, no image file, nothing for the policy to allow.

A share chart is a stack of horizontal bars, one a row, each split into the shares of its parts (people
who met the rules and who did not; a vendor's online hours and the others'). The geometry is worked
out in integers: a part's segment starts at ``BAR_WIDTH * (parts before it) // total``, so the segments
of a bar meet exactly and fill it. ``supervisors/chart.html`` draws a ``BarChart`` with its ``<title>``
and ``<desc>``; every page that shows a chart shows a table of the same figures beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

__all__ = ["BAR_WIDTH", "Bar", "BarChart", "Part", "Segment", "percent_text", "share_bars"]

BAR_WIDTH: Final = 480
"""The width of a bar in the chart's own units; the chart scales to the page's width."""
LEGEND_HEIGHT: Final = 32
ROW_HEIGHT: Final = 48
"""A row: its label on one line, its bar below it (full width, so that it reads at phone width too)."""
LABEL_BASELINE: Final = 18
BAR_TOP: Final = 26
BAR_HEIGHT: Final = 16
LEGEND_ITEM_WIDTH: Final = 120
EMPTY_FILL: Final = "#c9d1d9"


@dataclass(frozen=True, slots=True)
class Part:
    """One kind of part of every bar: its name in the legend and its colour."""

    name: str
    fill: str


@dataclass(frozen=True, slots=True)
class Segment:
    """A part's share of one bar: where it starts and how wide it is, and what its tooltip says."""

    x: int
    width: int
    fill: str
    title: str


@dataclass(frozen=True, slots=True)
class Bar:
    """One row: its label, where it stands, and its segments (none for a row with nothing to share)."""

    label: str
    y: int
    segments: tuple[Segment, ...]

    @property
    def label_y(self) -> int:
        return self.y + LABEL_BASELINE

    @property
    def bar_y(self) -> int:
        return self.y + BAR_TOP


@dataclass(frozen=True, slots=True)
class BarChart:
    """A chart: its size, its legend, its bars, and where a marked line stands (``None`` for no line)."""

    title: str
    description: str
    parts: tuple[Part, ...]
    bars: tuple[Bar, ...]
    line_x: int | None
    line_label: str
    empty_fill: str = EMPTY_FILL

    @property
    def width(self) -> int:
        return BAR_WIDTH

    @property
    def height(self) -> int:
        return LEGEND_HEIGHT + ROW_HEIGHT * len(self.bars)

    @property
    def bar_height(self) -> int:
        return BAR_HEIGHT

    def legend(self) -> list[tuple[int, Part]]:
        """Each part with the x at which its legend entry starts."""
        return [(index * LEGEND_ITEM_WIDTH, part) for index, part in enumerate(self.parts)]


def share_bars(
    title: str,
    description: str,
    parts: Sequence[Part],
    rows: Sequence[tuple[str, Sequence[int]]],
    *,
    unit: str,
    amount_text: Callable[[int], str] = str,
    line: tuple[int, int] | None = None,
    line_label: str = "",
) -> BarChart:
    """A chart of ``rows`` (a label and one amount per part, non-negative), each bar split into the parts'
    shares of the row's total; the tooltips write each amount with ``amount_text``, followed by ``unit``.
    ``line``, a fraction (numerator, denominator), marks that share across every bar."""
    bars = []
    for index, (label, amounts) in enumerate(rows):
        if len(amounts) != len(parts) or any(amount < 0 for amount in amounts):
            raise ValueError("a row has one non-negative amount per part")
        total = sum(amounts)
        segments: list[Segment] = []
        before = 0
        for part, amount in zip(parts, amounts, strict=True):
            if total > 0 and amount > 0:
                start, end = BAR_WIDTH * before // total, BAR_WIDTH * (before + amount) // total
                tooltip = f"{label}：{part.name} {amount_text(amount)}{unit}（{percent_text(amount, total)}%）"
                segments.append(Segment(start, end - start, part.fill, tooltip))
            before += amount
        bars.append(Bar(label, LEGEND_HEIGHT + index * ROW_HEIGHT, tuple(segments)))
    line_x = None if line is None else BAR_WIDTH * line[0] // line[1]
    return BarChart(title, description, tuple(parts), tuple(bars), line_x, line_label)


def percent_text(part: int, whole: int) -> str:
    """``part / whole`` in per cent with two decimals, rounded half up, in integers: ``"33.33"``."""
    if whole <= 0 or not 0 <= part <= whole:
        raise ValueError("a share is a part of a positive whole")
    hundredths = (2 * part * 10_000 + whole) // (2 * whole)
    return f"{hundredths // 100}.{hundredths % 100:02d}"
