"""The console's dashboard charts, on SQLite and PostgreSQL: each configured vendor's deliveries,
refusals and lag over the chosen span, drawn as inline SVG with a title and a description, and the
same figures in a table, from deliveries and refusals seeded through the hub's own services."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

from adapters.errors import SignatureRefused
from gateway.pages.charts import duration_text
from ledger.model import Delivery, Source, new_credit
from sso.access.model import Role

from ...ledger.conftest import payload_hash
from ..access_support import new_token
from .support import Answer, PageBrowser


def table_row(answer: Answer, vendor_caption: str, period: str) -> list[str]:
    """The cells of one period's row in a vendor's table."""
    table = re.search(rf"<caption>{re.escape(vendor_caption)}：.*?</table>", answer.text, re.DOTALL)
    assert table is not None, answer.text
    row = re.search(rf'<tr><th scope="row">{re.escape(period)}</th>(.*?)</tr>', table[0])
    assert row is not None, table[0]
    return [unescape(cell) for cell in re.findall(r"<td>(.*?)</td>", row[1])]


async def test_the_dashboard_charts_each_vendors_deliveries_refusals_and_lag(browser: PageBrowser) -> None:
    hub = browser.hub
    received_at = datetime.now(UTC)
    # Completed in 2021, the year with rules, and delivered now: years late, counted to the second.
    completed = (datetime(2021, 6, 1, 1, 58, 12, tzinfo=UTC), datetime(2021, 6, 1, 2, 39, 11, tzinfo=UTC))
    lags = [int((received_at - moment).total_seconds()) for moment in completed]
    credits = [
        new_credit(
            person_id="p-1",
            source="ischinese",
            record_id=f"c-{number}",
            course_code="XJP-2021-01",
            course_title="概论",
            subject="public",
            hours="3.5",
            completed_at=completed_at,
            actor="vendor:ischinese",
            payload_hash=payload_hash(f"c-{number}"),
        )
        for number, completed_at in enumerate(completed, start=1)
    ]
    await hub.ledger.receive(
        [
            Delivery(credits[0], "msg-1", received_at),
            Delivery(credits[1], "msg-2", received_at),
            Delivery(credits[1], "msg-2", received_at),  # a redelivery: counted as delivered, its lag once
        ]
    )
    for _refusal in range(4):
        await hub.ingestion.refused(Source.ISCHINESE, SignatureRefused("no valid v1 signature"))
    assert (await browser.post("/console/login", {})).status == 403  # no form token: no sign-in
    secret = await new_token(browser.client, Role.OPERATOR)
    assert (await browser.submit("/console/login", {"token": secret})).status == 303

    day = await browser.get("/console")
    assert day.status == 200
    assert "思想天下（ischinese）：最近24小时接收3条，拒收4条" in day.text
    # the configured vendor only: webtrn and hnou delivered nothing
    assert "网梯（webtrn）：最近24小时" not in day.text
    hour = received_at.astimezone(hub.settings.hub.timezone)
    mean, longest = duration_text(sum(lags) // 2 // 60), duration_text(max(lags) // 60)
    row = table_row(day, "思想天下（ischinese）", hour.strftime("%Y-%m-%d %H:00"))
    assert row[::2] == ["3", "2", longest]
    assert row[3] == mean
    assert re.fullmatch(r"\d+天(\d+小时)?(\d+分钟)?", mean), mean
    quiet = hour - timedelta(hours=12)
    assert f'<th scope="row">{quiet:%Y-%m-%d %H}:00</th>' not in day.text  # a period with nothing is left out
    assert (
        '<title id="activity-ischinese-deliveries-title">思想天下（ischinese）：最近24小时的接收与拒收</title>'
        in day.text
    )
    assert 'aria-labelledby="activity-ischinese-lag-title activity-ischinese-lag-desc"' in day.text
    assert f"<title>{hour:%H}:00 已接收：3</title>" in day.text
    assert f"<title>{hour:%H}:00 平均延迟：{mean}</title>" in day.text
    assert "style=" not in day.text  # the policy allows no inline style
    assert "<script" not in day.text

    week = await browser.get("/console?span=week")
    assert "思想天下（ischinese）：最近7天接收3条，拒收4条" in week.text
    assert table_row(week, "思想天下（ischinese）", hour.strftime("%Y-%m-%d"))[::2] == ["3", "2", longest]
    assert '<a href="/console?span=week" aria-current="page">最近7天</a>' in week.text
    assert "最近24小时接收" in (await browser.get("/console?span=<b>")).text  # anything else: the last day


async def test_staff_get_404_on_the_dashboard(browser: PageBrowser) -> None:
    assert (await browser.register()).status == 303
    assert (await browser.log_in()).status == 303
    for span in ("day", "week", "month"):
        assert (await browser.get(f"/console?span={span}")).status == 404
