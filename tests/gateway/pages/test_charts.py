"""The server-drawn bar charts: whole-number geometry against a round top, durations in days, hours
and minutes, and the refusals of what a bar chart cannot draw."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.pages.charts import HEIGHT, PLOT_TOP, WIDTH, Series, bar_chart, count_scale, duration_text, minute_scale


def test_bars_stand_on_the_axis_in_proportion_to_a_round_top() -> None:
    chart = bar_chart(
        chart_id="c",
        title="t",
        description="d",
        categories=["08:00", "09:00"],
        series=[Series("已接收", "#00f", (7, 0)), Series("已拒收", "#f00", (3, 1))],
        scale=count_scale,
    )
    assert [tick.text for tick in chart.ticks] == ["0", "2", "4", "6", "8"]
    plot_height = chart.plot_bottom - PLOT_TOP
    assert [bar.height for bar in chart.bars] == [7 * plot_height // 8, 3 * plot_height // 8, 0, plot_height // 8]
    assert {bar.y + bar.height for bar in chart.bars} == {chart.plot_bottom}
    assert [bar.label for bar in chart.bars] == [
        "08:00 已接收：7",
        "08:00 已拒收：3",
        "09:00 已接收：0",
        "09:00 已拒收：1",
    ]
    first, second, third, _fourth = chart.bars
    assert second.x == first.x + first.width  # side by side within a group
    assert third.x > second.x + second.width  # a gap between groups
    assert [legend.text for legend, _colour in chart.legend] == ["已接收", "已拒收"]


def test_an_empty_chart_has_one_step() -> None:
    chart = bar_chart(
        chart_id="c",
        title="t",
        description="d",
        categories=["a"],
        series=[Series("s", "#000", (0,))],
        scale=count_scale,
    )
    assert [tick.text for tick in chart.ticks] == ["0", "1"]
    assert chart.bars[0].height == 0


def test_a_duration_axis_steps_in_round_durations() -> None:
    chart = bar_chart(
        chart_id="c",
        title="t",
        description="d",
        categories=["a", "b"],
        series=[Series("平均延迟", "#80f", (611, 70))],
        scale=minute_scale,
    )
    assert [tick.text for tick in chart.ticks] == ["0分钟", "3小时", "6小时", "9小时", "12小时"]


def test_only_some_of_many_categories_are_labelled() -> None:
    hours = [f"{hour:02d}:00" for hour in range(24)]
    chart = bar_chart(
        chart_id="c",
        title="t",
        description="d",
        categories=hours,
        series=[Series("s", "#000", (1,) * 24)],
        scale=count_scale,
    )
    assert [label.text for label in chart.categories] == hours[::3]


@pytest.mark.parametrize(
    ("minutes", "text"),
    [(0, "0分钟"), (5, "5分钟"), (60, "1小时"), (611, "10小时11分钟"), (1440, "1天"), (1441, "1天1分钟")],
)
def test_durations_read_in_days_hours_and_minutes(minutes: int, text: str) -> None:
    assert duration_text(minutes) == text


@given(st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=48))
def test_every_bar_fits_the_view_box_in_whole_units(values: list[int]) -> None:
    for scale in (count_scale, minute_scale):
        chart = bar_chart(
            chart_id="c",
            title="t",
            description="d",
            categories=[str(index) for index in range(len(values))],
            series=[Series("s", "#000", tuple(values))],
            scale=scale,
        )
        for bar in chart.bars:
            assert all(isinstance(number, int) for number in (bar.x, bar.y, bar.width, bar.height))
            assert PLOT_TOP <= bar.y <= bar.y + bar.height == chart.plot_bottom <= HEIGHT
            assert bar.x >= 0
            assert bar.x + bar.width <= WIDTH
        assert len(chart.ticks) <= 5


def test_what_a_bar_chart_cannot_draw_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        bar_chart(
            chart_id="c",
            title="t",
            description="d",
            categories=["a"],
            series=[Series("s", "#000", (-1,))],
            scale=count_scale,
        )
    with pytest.raises(ValueError, match="every series"):
        bar_chart(
            chart_id="c",
            title="t",
            description="d",
            categories=["a"],
            series=[Series("s", "#000", (1, 2))],
            scale=count_scale,
        )
