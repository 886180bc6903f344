"""湖南开放大学 (hnou)'s sending side of completions, simulated for the demo and the tests.

It plays vendors.md §3 "Completions" and "Daily file" as Open University's systems would: it keeps
completion records, posts each as a signed form to ``{hub}/webhooks/hnou`` until the hub answers
``SUCCESS`` (signing every try afresh with a new timestamp and nonce, and waiting longer after each
failure, up to a bound), and serves ``GET /api/daily`` as a signed GB18030 CSV of the records
created or changed that day. It speaks only the wire protocol and imports nothing of the hub: its
signing is its own, so that the hub's is tested against the contract and not against itself.

    hours = HoursSimulator(appid="hub", appsecret="…", hub_url="http://127.0.0.1:8080", http=client)
    hours.keep(SimulatedCompletion(...))
    await hours.notify("HN-0001")           # tries until SUCCESS; returns the answers it read
    app = hours.app()                       # or web_app.add_routes(hours.routes()) in another app
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import hmac
import io
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Final

import httpx
from aiohttp import web

__all__ = ["DAILY_HEADER", "HoursSimulator", "SimulatedCompletion", "SimulatorGaveUp"]

BEIJING: Final = timezone(timedelta(hours=8), "Asia/Shanghai")
DAILY_HEADER: Final = ("记录编号", "身份证号", "姓名", "课程编号", "课程名称", "科目类型", "学时", "完成时间", "状态")
SIGN_TYPE: Final = "HMAC-SHA256"
TIMESTAMP_TOLERANCE_SECONDS: Final = 300
NOTIFY_TIMEOUT_SECONDS: Final = 10.0
SEEN_NONCES_MAX: Final = 100_000
SUBJECT_CODES: Final = {"public": ("1", "公共"), "professional": ("2", "专业")}


class SimulatorGaveUp(Exception):
    """The hub did not answer SUCCESS within the simulator's attempts."""


@dataclass(frozen=True, slots=True)
class SimulatedCompletion:
    """A completion as hnou keeps it; ``changed_at`` (default: completed) decides its daily file."""

    record_no: str
    id_number: str
    name: str
    course_code: str
    course_title: str
    subject: str
    """``public`` or ``professional``."""
    hours: str
    completed_at: datetime
    revoked: bool = False
    changed_at: datetime | None = None

    @property
    def changed_on(self) -> date:
        return (self.changed_at or self.completed_at).astimezone(BEIJING).date()


def hnou_sign(fields: Mapping[str, str], appsecret: str) -> str:
    """hnou's signature, written from vendors.md alone: uppercase hex HMAC-SHA256 under the UTF-8
    appsecret, over the non-empty fields but sign and sign_type, ASCII-sorted, ``k=v`` joined by ``&``."""
    names = sorted(name for name, value in fields.items() if name not in {"sign", "sign_type"} and value != "")
    text = "&".join(name + "=" + fields[name] for name in names)
    return hmac.new(appsecret.encode(), text.encode(), hashlib.sha256).hexdigest().upper()


@dataclass(slots=True)
class HoursSimulator:
    """hnou's completions: forms posted to the hub, and daily files served."""

    appid: str
    appsecret: str
    hub_url: str
    http: httpx.AsyncClient
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))  # the real clock unless a test moves it
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    retry_delay_seconds_base: float = 1.0
    retry_delay_seconds_max: float = 300.0
    attempts_max: int = 100
    records: dict[str, SimulatedCompletion] = field(default_factory=dict)
    extra_lines: dict[date, list[str]] = field(default_factory=dict)
    """Raw lines added to a day's file after its records, to serve what the contract forbids."""
    outages: int = 0
    """How many of the next daily-file requests answer 503."""
    daily_requests: int = 0
    _seen_nonces: set[str] = field(default_factory=set)

    def keep(self, record: SimulatedCompletion) -> None:
        self.records[record.record_no] = record

    def revoke(self, record_no: str, at: datetime) -> SimulatedCompletion:
        revoked = replace(self.records[record_no], revoked=True, changed_at=at)
        self.records[record_no] = revoked
        return revoked

    def form_fields(self, record: SimulatedCompletion) -> dict[str, str]:
        """The record's form fields, unsigned."""
        return {
            "appid": self.appid,
            "record_no": record.record_no,
            "idcard": record.id_number,
            "kcbh": record.course_code,
            "kcmc": record.course_title,
            "kmlx": SUBJECT_CODES[record.subject][0],
            "xs": record.hours,
            "wcsj": record.completed_at.astimezone(BEIJING).strftime("%Y%m%d%H%M%S"),
            "zt": "0" if record.revoked else "1",
        }

    def signed(
        self, fields: Mapping[str, str], *, timestamp: int | None = None, nonce: str | None = None
    ) -> dict[str, str]:
        """The fields with a timestamp, a nonce and their signature, ready to post."""
        stamped = {
            **fields,
            "timestamp": str(int(self.clock().timestamp()) if timestamp is None else timestamp),
            "nonce": secrets.token_urlsafe(24) if nonce is None else nonce,
        }
        return {**stamped, "sign_type": SIGN_TYPE, "sign": hnou_sign(stamped, self.appsecret)}

    async def post(self, form: Mapping[str, str]) -> tuple[int, str]:
        """One try: post a form to the hub and return its status and text."""
        response = await self.http.post(
            self.hub_url.rstrip("/") + "/webhooks/hnou", data=dict(form), timeout=NOTIFY_TIMEOUT_SECONDS
        )
        return response.status_code, response.text

    async def notify(self, record_no: str) -> list[tuple[int, str]]:
        """Post the record until the hub answers SUCCESS; every try is signed afresh and each
        failure waits longer (doubling from ``retry_delay_seconds_base`` up to ``…_max``).

        Returns every answer read, the last being SUCCESS; raises ``SimulatorGaveUp`` after
        ``attempts_max`` tries.
        """
        answers: list[tuple[int, str]] = []
        for attempt in range(self.attempts_max):
            if attempt:
                await self.sleep(min(self.retry_delay_seconds_max, self.retry_delay_seconds_base * 2 ** (attempt - 1)))
            try:
                answer = await self.post(self.signed(self.form_fields(self.records[record_no])))
            except httpx.TransportError as exc:
                answer = (0, type(exc).__name__)
            answers.append(answer)
            if answer == (200, "SUCCESS"):
                return answers
        raise SimulatorGaveUp(f"no SUCCESS for {record_no} in {self.attempts_max} tries: last {answers[-1]}")

    def daily_file(self, day: date) -> bytes:
        """The day's file: the header, a line per record created or changed that day, then any extra lines."""
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow(DAILY_HEADER)
        for record in self.records.values():
            if record.changed_on == day:
                writer.writerow(_daily_row(record))
        text.writelines(line + "\r\n" for line in self.extra_lines.get(day, []))
        return text.getvalue().encode("gb18030")

    def routes(self) -> web.RouteTableDef:
        routes = web.RouteTableDef()
        routes.get("/api/daily")(self._serve_daily)
        return routes

    def app(self) -> web.Application:
        app = web.Application()
        app.add_routes(self.routes())
        return app

    async def _serve_daily(self, request: web.Request) -> web.Response:
        self.daily_requests += 1
        if self.outages > 0:
            self.outages -= 1
            return web.Response(status=503, text="busy")
        refusal = self._refusal(request.query)
        if refusal is not None:
            return web.Response(status=401, text=f"FAIL:{refusal}")
        try:
            day = datetime.strptime(request.query.get("date", ""), "%Y%m%d").replace(tzinfo=BEIJING).date()
        except ValueError:
            return web.Response(status=400, text="FAIL:invalid_date")
        return web.Response(body=self.daily_file(day), content_type="text/csv", charset="gb18030")

    def _refusal(self, query: Mapping[str, str]) -> str | None:
        if query.get("appid") != self.appid:
            return "unknown_appid"
        if query.get("sign_type") != SIGN_TYPE or not hmac.compare_digest(
            query.get("sign", "").encode(), hnou_sign(query, self.appsecret).encode()
        ):
            return "invalid_sign"
        timestamp = query.get("timestamp", "")
        if (
            not (timestamp.isascii() and timestamp.isdigit())
            or abs(self.clock().timestamp() - int(timestamp)) > TIMESTAMP_TOLERANCE_SECONDS
        ):
            return "invalid_timestamp"
        nonce = query.get("nonce", "")
        if not 16 <= len(nonce) <= 64 or nonce in self._seen_nonces or len(self._seen_nonces) >= SEEN_NONCES_MAX:
            return "invalid_nonce"
        self._seen_nonces.add(nonce)
        return None


def _daily_row(record: SimulatedCompletion) -> list[str]:
    return [
        record.record_no,
        record.id_number,
        record.name,
        record.course_code,
        record.course_title,
        SUBJECT_CODES[record.subject][1],
        record.hours,
        record.completed_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
        "撤销" if record.revoked else "完成",
    ]
