"""The share charts' geometry: each bar's segments meet and fill it exactly, in integers, and shares round half up."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.pages.share_charts import BAR_WIDTH, Part, percent_text, share_bars

PARTS = (Part("甲", "#000000"), Part("乙", "#111111"), Part("丙", "#222222"))


@given(st.lists(st.integers(min_value=0, max_value=10**9), min_size=3, max_size=3))
def test_the_segments_of_a_bar_meet_and_fill_it(amounts: list[int]) -> None:
    chart = share_bars("标题", "说明", PARTS, [("行", amounts)], unit="人")

    segments = chart.bars[0].segments
    assert len(segments) == sum(amount > 0 for amount in amounts)
    if sum(amounts) > 0:
        assert segments[0].x == 0
        assert sum(segment.width for segment in segments) == BAR_WIDTH
        assert all(left.x + left.width == right.x for left, right in pairwise(segments))


def test_a_share_rounds_half_up_in_per_cent_and_a_line_stands_at_its_fraction() -> None:
    assert [percent_text(*share) for share in ((1, 3), (2, 3), (1, 8), (0, 5), (5, 5))] == [
        "33.33",
        "66.67",
        "12.50",
        "0.00",
        "100.00",
    ]
    chart = share_bars("标题", "说明", PARTS[:2], [("行", (1, 2))], unit="学时", line=(9, 10))
    assert chart.line_x == BAR_WIDTH * 9 // 10
    assert chart.bars[0].segments[1].title == "行：乙 2学时（66.67%）"


def test_a_row_that_does_not_fit_the_parts_is_a_bug() -> None:
    with pytest.raises(ValueError, match="one non-negative amount per part"):
        share_bars("标题", "说明", PARTS, [("行", (1, 2))], unit="人")
    with pytest.raises(ValueError, match="one non-negative amount per part"):
        share_bars("标题", "说明", PARTS, [("行", (1, -2, 3))], unit="人")
    with pytest.raises(ValueError, match="a share is a part of a positive whole"):
        percent_text(3, 2)
