"""The dashboard's charts of each vendor's ingestion over a span: deliveries and refusals per period,
and the lag of the credits the ledger appended (from their completion to their arrival), with the
same figures as rows of a table. Lags are whole seconds inside and whole minutes on the page."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import tzinfo
from typing import Final

from adapters.ingestion.model import ActivityPeriod, ActivitySpan, VendorActivity
from gateway.pages.charts import BarChart, Series, bar_chart, count_scale, duration_text, minute_scale
from ledger.model import Source

__all__ = ["SPAN_NAMES", "ActivityRow", "VendorCharts", "span_of", "vendor_charts"]

SPAN_NAMES: Final[Mapping[ActivitySpan, str]] = {
    ActivitySpan.DAY: "最近24小时",
    ActivitySpan.WEEK: "最近7天",
    ActivitySpan.MONTH: "最近30天",
}
PERIOD_NAMES: Final[Mapping[ActivitySpan, str]] = {
    ActivitySpan.DAY: "每小时",
    ActivitySpan.WEEK: "每天",
    ActivitySpan.MONTH: "每天",
}
DELIVERED_COLOUR: Final = "#0969da"
REFUSED_COLOUR: Final = "#cf222e"
LAG_COLOUR: Final = "#8250df"
SECONDS_PER_MINUTE: Final = 60


@dataclass(frozen=True, slots=True)
class ActivityRow:
    """One period as the table shows it."""

    period: str
    delivered: int
    refused: int
    credits: int
    lag_mean: str
    lag_max: str


@dataclass(frozen=True, slots=True)
class VendorCharts:
    """A vendor's two charts, and the rows of the periods with a delivery or a refusal."""

    vendor: Source
    deliveries: BarChart
    lag: BarChart
    rows: tuple[ActivityRow, ...]
    delivered: int
    refused: int


def span_of(text: str | None) -> ActivitySpan:
    """The span a query asks for (``?span=day|week|month``); anything else is the last day."""
    return next((span for span in ActivitySpan if span.value == text), ActivitySpan.DAY)


def vendor_charts(
    activity: VendorActivity, span: ActivitySpan, zone: tzinfo, vendor_name: str, chart_id: str
) -> VendorCharts:
    """The two charts and the table of one vendor's activity; times in ``zone``."""
    periods = activity.periods
    labels = [_axis_label(period, span, zone) for period in periods]
    delivered = sum(period.delivered for period in periods)
    refused = sum(period.refused for period in periods)
    credits = sum(period.credits for period in periods)
    every = f"{SPAN_NAMES[span]}，{PERIOD_NAMES[span]}一组"
    deliveries = bar_chart(
        chart_id=f"{chart_id}-deliveries",
        title=f"{vendor_name}：{SPAN_NAMES[span]}的接收与拒收",
        description=f"柱状图，{every}：已接收（蓝）与已拒收（红）。共接收{delivered}条，拒收{refused}条；各时段数字见下表。",
        categories=labels,
        series=(
            Series("已接收", DELIVERED_COLOUR, tuple(period.delivered for period in periods)),
            Series("已拒收", REFUSED_COLOUR, tuple(period.refused for period in periods)),
        ),
        scale=count_scale,
    )
    lag = bar_chart(
        chart_id=f"{chart_id}-lag",
        title=f"{vendor_name}：{SPAN_NAMES[span]}入账记录的平均延迟",
        description=(
            f"柱状图，{every}：该时段入账的学时记录从完成到送达平台的平均时间（取整到分钟）。"
            f"共{credits}条记录；没有记录的时段为空；各时段数字见下表。"
        ),
        categories=labels,
        series=(Series("平均延迟", LAG_COLOUR, tuple(_minutes(period.lag_seconds_mean) for period in periods)),),
        scale=minute_scale,
    )
    # The periods without a delivery or a refusal are left out of the table, which says so: a month of
    # empty rows would hide the few that matter.
    rows = tuple(
        _row(_period_text(period, span, zone), period) for period in periods if period.delivered or period.refused
    )
    return VendorCharts(activity.vendor, deliveries, lag, rows, delivered, refused)


def _row(label: str, period: ActivityPeriod) -> ActivityRow:
    return ActivityRow(
        period=label,
        delivered=period.delivered,
        refused=period.refused,
        credits=period.credits,
        lag_mean=_lag_text(period.lag_seconds_mean),
        lag_max=_lag_text(period.lag_seconds_max if period.credits else None),
    )


def _axis_label(period: ActivityPeriod, span: ActivitySpan, zone: tzinfo) -> str:
    local = period.starts_at.astimezone(zone)
    return local.strftime("%H:00") if span is ActivitySpan.DAY else local.strftime("%m-%d")


def _period_text(period: ActivityPeriod, span: ActivitySpan, zone: tzinfo) -> str:
    local = period.starts_at.astimezone(zone)
    return local.strftime("%Y-%m-%d %H:00") if span is ActivitySpan.DAY else local.strftime("%Y-%m-%d")


def _minutes(seconds: int | None) -> int:
    return 0 if seconds is None else seconds // SECONDS_PER_MINUTE


def _lag_text(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    return "不足1分钟" if seconds < SECONDS_PER_MINUTE else duration_text(seconds // SECONDS_PER_MINUTE)
