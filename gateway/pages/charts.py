"""Bar charts drawn on the server, as inline SVG: no script, no other origin, nothing the pages'
Content-Security-Policy refuses (colours are SVG attributes, not styles).

``bar_chart`` lays out groups of bars (one group a category, one bar a series in it) in whole
units of the SVG's view box: every coordinate is an integer, scaled with integer division against a
top of the axis that is a round step (``COUNT_STEPS`` for counts, ``MINUTE_STEPS`` for durations).
The template ``console/chart.html`` draws it, with a ``<title>`` and a ``<desc>`` for assistive
technology; a page shows the same figures in a table beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

__all__ = ["Bar", "BarChart", "Label", "Series", "bar_chart", "count_scale", "duration_text", "minute_scale"]

WIDTH: Final = 640
HEIGHT: Final = 240
PLOT_LEFT: Final = 64
PLOT_TOP: Final = 28
PLOT_RIGHT: Final = 8
PLOT_BOTTOM: Final = 40
TICKS_MAX: Final = 4
CATEGORY_LABELS_MAX: Final = 8
COUNT_STEPS: Final = (1, 2, 5)
"""Round steps of a count axis, times a power of ten."""
MINUTE_STEPS: Final = (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 7 * 1440, 14 * 1440, 30 * 1440)
"""Round steps of a duration axis in minutes; beyond the last, multiples of it by ``COUNT_STEPS``."""
MINUTES_PER_HOUR: Final = 60
MINUTES_PER_DAY: Final = 24 * 60


@dataclass(frozen=True, slots=True)
class Series:
    """One kind of bar: its name in the legend, its fill colour, and its value in each category."""

    name: str
    colour: str
    values: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Bar:
    x: int
    y: int
    width: int
    height: int
    colour: str
    label: str
    """What a pointer over the bar shows: its category, series and value."""


@dataclass(frozen=True, slots=True)
class Label:
    x: int
    y: int
    text: str


@dataclass(frozen=True, slots=True)
class BarChart:
    """A laid-out chart; ``chart_id`` makes the ids of its title and description unique on the page."""

    chart_id: str
    title: str
    description: str
    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_bottom: int
    bars: tuple[Bar, ...]
    ticks: tuple[Label, ...]
    """The value axis: a grid line at each tick's ``y``, its label at the left."""
    categories: tuple[Label, ...]
    legend: tuple[tuple[Label, str], ...]
    """Each series' name and colour, left to right above the plot."""


@dataclass(frozen=True, slots=True)
class Scale:
    """How a value axis is rounded and labelled: its round steps, and the text of a value."""

    step_at_least: Callable[[int], int]
    text: Callable[[int], str]


def bar_chart(
    *, chart_id: str, title: str, description: str, categories: Sequence[str], series: Sequence[Series], scale: Scale
) -> BarChart:
    """The chart of ``series`` over ``categories`` (every series has a value for each category, none
    negative). Raises ``ValueError`` otherwise (a bug of the caller)."""
    if not categories or not series or any(len(item.values) != len(categories) for item in series):
        raise ValueError("a chart needs categories and a value of every series in each")
    if any(value < 0 for item in series for value in item.values):
        raise ValueError("a bar chart draws no negative value")
    largest = max(value for item in series for value in item.values)
    step = scale.step_at_least(max(1, -(-largest // TICKS_MAX)))
    top = step * max(1, -(-largest // step))
    plot_width = WIDTH - PLOT_LEFT - PLOT_RIGHT
    plot_height = HEIGHT - PLOT_TOP - PLOT_BOTTOM
    bottom = PLOT_TOP + plot_height
    group_width = plot_width // len(categories)
    bar_width = max(1, (group_width - max(1, group_width // 5)) // len(series))
    bars = []
    for index, category in enumerate(categories):
        group_left = PLOT_LEFT + index * group_width + (group_width - bar_width * len(series)) // 2
        for position, item in enumerate(series):
            value = item.values[index]
            height = value * plot_height // top
            bars.append(
                Bar(
                    x=group_left + position * bar_width,
                    y=bottom - height,
                    width=bar_width,
                    height=height,
                    colour=item.colour,
                    label=f"{category} {item.name}：{scale.text(value)}",
                )
            )
    ticks = tuple(
        Label(PLOT_LEFT - 6, bottom - value * plot_height // top, scale.text(value))
        for value in range(0, top + 1, step)
    )
    every = -(-len(categories) // CATEGORY_LABELS_MAX)
    labels = tuple(
        Label(PLOT_LEFT + index * group_width + group_width // 2, bottom + 18, category)
        for index, category in enumerate(categories)
        if index % every == 0
    )
    legend = tuple(
        (Label(PLOT_LEFT + 120 * position, 14, item.name), item.colour) for position, item in enumerate(series)
    )
    return BarChart(
        chart_id=chart_id,
        title=title,
        description=description,
        width=WIDTH,
        height=HEIGHT,
        plot_left=PLOT_LEFT,
        plot_right=WIDTH - PLOT_RIGHT,
        plot_bottom=bottom,
        bars=tuple(bars),
        ticks=ticks,
        categories=labels,
        legend=legend,
    )


def _round_step(least: int, steps: Sequence[int]) -> int:
    """The smallest of ``steps`` times a power of ten that is at least ``least``."""
    power = 1
    while True:
        for step in steps:
            if step * power >= least:
                return step * power
        power *= 10


def _count_step(least: int) -> int:
    return _round_step(least, COUNT_STEPS)


def _minute_step(least: int) -> int:
    fitting = next((step for step in MINUTE_STEPS if step >= least), None)
    return (
        fitting if fitting is not None else MINUTE_STEPS[-1] * _round_step(-(-least // MINUTE_STEPS[-1]), COUNT_STEPS)
    )


def duration_text(minutes: int) -> str:
    """Whole minutes as days, hours and minutes in Chinese: ``1天2小时``, ``3小时5分钟``, ``0分钟``."""
    days, rest = divmod(minutes, MINUTES_PER_DAY)
    hours, minutes = divmod(rest, MINUTES_PER_HOUR)
    parts = [f"{days}天" if days else "", f"{hours}小时" if hours else "", f"{minutes}分钟" if minutes else ""]
    return "".join(parts) or "0分钟"


count_scale: Final = Scale(_count_step, str)
"""Counts, labelled as they are."""
minute_scale: Final = Scale(_minute_step, duration_text)
"""Durations in whole minutes, labelled in days, hours and minutes."""
