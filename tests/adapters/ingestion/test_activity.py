"""Each vendor's activity over a span, on SQLite and PostgreSQL: deliveries by the hour they were
received, refusals by the minute they were counted in, and the lag of appended credits in whole
seconds; and the periods of each span, with days that start at midnight Beijing time."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

import adapters.ingestion.service
from adapters.errors import SignatureRefused
from adapters.ingestion.errors import IngestionUnavailable
from adapters.ingestion.model import (
    ACTIVITY_PERIODS_MAX,
    ActivityPeriod,
    ActivitySpan,
    VendorActivity,
    activity_bounds,
)
from adapters.ingestion.service import Ingestion
from adapters.ingestion.store import SqlIngestionStore
from ledger.model import Credit, Delivery, Reversal, Source, new_credit, new_reversal
from ledger.service import Ledger
from ledger.store import SqlLedgerStore

from ...ledger.conftest import RULES_2021, payload_hash

BEIJING = ZoneInfo("Asia/Shanghai")
NOW = datetime(2021, 6, 1, 12, 30, tzinfo=UTC)  # 20:30 in Beijing


@pytest.fixture
def ledger(engine: AsyncEngine) -> Ledger:
    return Ledger(SqlLedgerStore(engine), {2021: RULES_2021})


def credit(
    record_id: str, completed_at: datetime = datetime(2021, 6, 1, 1, 0, tzinfo=UTC), source: str = "ischinese"
) -> Credit:
    return new_credit(
        person_id="person-1",
        source=source,
        record_id=record_id,
        course_code="XJP-2021-01",
        course_title="概论",
        subject="public",
        hours="3.5",
        completed_at=completed_at,
        actor=f"vendor:{source}",
        payload_hash=payload_hash(record_id),
    )


def reversal(record_id: str) -> Reversal:
    return new_reversal(
        source="ischinese",
        record_id=record_id,
        reason="revoked",
        actor="vendor:ischinese",
        payload_hash=payload_hash(f"revoked {record_id}"),
    )


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_a_day_is_24_hours_up_to_the_end_of_the_current_one() -> None:
    bounds = activity_bounds(NOW, ActivitySpan.DAY, BEIJING)
    assert len(bounds) == 25
    assert bounds[0] == datetime(2021, 5, 31, 13, 0, tzinfo=UTC)
    assert bounds[-1] == datetime(2021, 6, 1, 13, 0, tzinfo=UTC)
    assert {later - earlier for earlier, later in itertools.pairwise(bounds)} == {timedelta(hours=1)}


@pytest.mark.parametrize(("span", "days"), [(ActivitySpan.WEEK, 7), (ActivitySpan.MONTH, 30)])
def test_weeks_and_months_are_days_from_midnight_in_beijing(span: ActivitySpan, days: int) -> None:
    bounds = activity_bounds(NOW, span, BEIJING)
    assert len(bounds) == days + 1
    assert bounds[-1] == datetime(2021, 6, 2, tzinfo=BEIJING)
    assert bounds[0] == datetime(2021, 6, 2, tzinfo=BEIJING) - timedelta(days=days)
    assert all(bound.astimezone(BEIJING).hour == 0 for bound in bounds)


def test_a_period_without_credits_has_no_mean_lag() -> None:
    assert ActivityPeriod(NOW, NOW, delivered=3).lag_seconds_mean is None
    assert ActivityPeriod(NOW, NOW, credits=3, lag_seconds_total=10).lag_seconds_mean == 3


async def test_deliveries_refusals_and_lags_fall_in_their_hours(engine: AsyncEngine, ledger: Ledger) -> None:
    clock = Clock(NOW)
    ingestion = Ingestion(SqlIngestionStore(engine), clock)
    current_hour = datetime(2021, 6, 1, 12, 10, tzinfo=UTC)
    first = credit("c-1", completed_at=datetime(2021, 6, 1, 1, 58, 12, tzinfo=UTC))
    await ledger.receive(
        [
            Delivery(first, "msg-1", current_hour),  # 10 h 11 min 48 s late
            Delivery(first, "msg-1", current_hour + timedelta(minutes=5)),  # a duplicate: delivered, no credit
            Delivery(credit("c-2", completed_at=datetime(2021, 6, 1, 11, 0, tzinfo=UTC)), "msg-2", current_hour),
            Delivery(reversal("c-9"), "msg-3", current_hour),  # waits for its credit: delivered, no credit
            # completed after it arrived, by the vendor's clock: no lag rather than a negative one
            Delivery(
                credit("c-3", completed_at=datetime(2021, 6, 1, 10, 6, tzinfo=UTC)),
                "msg-4",
                datetime(2021, 6, 1, 10, 5, tzinfo=UTC),
            ),
            # before the span
            Delivery(credit("c-4"), "msg-5", datetime(2021, 5, 31, 12, 59, tzinfo=UTC)),
        ]
    )
    await ledger.receive([Delivery(credit("c-5", source="webtrn"), "v-1", current_hour)])
    for minute in (1, 2, 3):
        clock.now = datetime(2021, 6, 1, 12, minute, tzinfo=UTC)
        await ingestion.refused(Source.ISCHINESE, SignatureRefused("no valid v1 signature"))
    clock.now = datetime(2021, 6, 1, 11, 59, 59, tzinfo=UTC)
    await ingestion.refused(Source.ISCHINESE, SignatureRefused("no valid v1 signature"))
    clock.now = NOW

    ischinese, webtrn, hnou = await ingestion.activity(ActivitySpan.DAY, BEIJING)

    assert (ischinese.vendor, webtrn.vendor, hnou.vendor) == (Source.ISCHINESE, Source.WEBTRN, Source.HNOU)
    assert len(ischinese.periods) == 24
    assert ischinese.periods[-1] == ActivityPeriod(
        starts_at=datetime(2021, 6, 1, 12, tzinfo=UTC),
        ends_at=datetime(2021, 6, 1, 13, tzinfo=UTC),
        delivered=4,
        refused=3,
        credits=2,
        lag_seconds_total=36_708 + 4_200,  # 10 h 11 min 48 s and 1 h 10 min
        lag_seconds_max=36_708,
    )
    assert ischinese.periods[-1].lag_seconds_mean == 20_454
    assert ischinese.periods[-2] == ActivityPeriod(
        datetime(2021, 6, 1, 11, tzinfo=UTC), datetime(2021, 6, 1, 12, tzinfo=UTC), refused=1
    )
    assert ischinese.periods[-3] == ActivityPeriod(
        datetime(2021, 6, 1, 10, tzinfo=UTC), datetime(2021, 6, 1, 11, tzinfo=UTC), delivered=1, credits=1
    )
    assert sum(period.delivered for period in ischinese.periods) == 5
    assert [period.delivered for period in webtrn.periods] == [0] * 23 + [1]
    assert hnou.idle
    assert not webtrn.idle


async def test_a_week_counts_by_day_in_beijing(engine: AsyncEngine, ledger: Ledger) -> None:
    ingestion = Ingestion(SqlIngestionStore(engine), Clock(NOW))
    # 23:30 and 00:30 in Beijing: two days apart, though the same day in UTC
    await ledger.receive(
        [
            Delivery(credit("c-1"), "msg-1", datetime(2021, 5, 31, 15, 30, tzinfo=UTC)),
            Delivery(credit("c-2"), "msg-2", datetime(2021, 5, 31, 16, 30, tzinfo=UTC)),
        ]
    )

    ischinese, _webtrn, _hnou = await ingestion.activity(ActivitySpan.WEEK, BEIJING)

    assert [period.delivered for period in ischinese.periods] == [0, 0, 0, 0, 0, 1, 1]
    assert ischinese.periods[-1].starts_at == datetime(2021, 6, 1, tzinfo=BEIJING)


class SlowStore(SqlIngestionStore):
    """The real store, whose activity never comes back in time."""

    async def activity(self, bounds: Sequence[datetime]) -> tuple[VendorActivity, ...]:
        await asyncio.sleep(5)
        return await super().activity(bounds)


async def test_activity_that_takes_too_long_is_refused(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(adapters.ingestion.service, "HEALTH_READ_SECONDS_MAX", 0.05)
    with pytest.raises(IngestionUnavailable, match="not read within"):
        await Ingestion(SlowStore(engine), Clock(NOW)).activity(ActivitySpan.DAY, BEIJING)


async def test_bounds_out_of_order_or_too_many_are_a_bug(engine: AsyncEngine) -> None:
    store = SqlIngestionStore(engine)
    hour = timedelta(hours=1)
    for bounds in ([NOW], [NOW, NOW - hour], [NOW + hour * index for index in range(ACTIVITY_PERIODS_MAX + 2)]):
        with pytest.raises(ValueError, match="periods between ascending bounds"):
            await store.activity(bounds)
