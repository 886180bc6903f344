"""The vendors' side of a scenario: completions spread over the three vendors, delivered each in its
own protocol by its simulator, and what the ledger must hold once they are all in.

- ischinese pushes each completion as a signed webhook and retries until a 2xx (``send``);
- hnou posts each as a signed form and retries, signed afresh, until ``SUCCESS`` (``notify``);
- webtrn publishes its completions in batches, with a fresh ``updated_at``, for the hub to pull.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import text

from adapters.hnou.simulator_hours import SimulatedCompletion as HnouCompletion
from adapters.ischinese.simulator_hours import SimulatedCompletion
from gateway.database import create_engine
from ledger.model import BEIJING, parse_hours

from .stage import Learner, Stage

YEAR = 2021
HOURS = ("0.5", "1", "1.5", "2", "2.5", "3")
COURSES = {
    "public": ("XJP-2021-01", "习近平新时代中国特色社会主义思想概论"),
    "professional": ("ZY-2021-07", "行业前沿"),
}
WEBTRN_FIRST_ID = 500_000
SENDS_AT_ONCE = 16

Key = tuple[str, str]
"""(source, record id)."""


@dataclass(frozen=True, slots=True)
class Planned:
    """One completion a vendor will report: whose, which subject, how many hundredths of an hour."""

    source: str
    record_id: str
    learner: Learner
    subject: str
    hours: str
    completed_at: datetime

    @property
    def key(self) -> Key:
        return (self.source, self.record_id)


def plan(learners: list[Learner], count: int, seed: int) -> list[Planned]:
    """``count`` completions over the three vendors in turn, for learners and hours drawn from ``seed``."""
    chance = random.Random(seed)
    planned = []
    for number in range(count):
        source = ("ischinese", "webtrn", "hnou")[number % 3]
        record_id = {
            "ischinese": f"c-{number:07d}",
            "webtrn": str(WEBTRN_FIRST_ID + number),
            "hnou": f"HN{YEAR}{number:08d}",
        }[source]
        completed = datetime(YEAR, 1, 1, 9, tzinfo=BEIJING) + timedelta(minutes=chance.randrange(360 * 24 * 60))
        planned.append(
            Planned(
                source=source,
                record_id=record_id,
                learner=chance.choice(learners),
                subject=chance.choice(("public", "professional")),
                hours=chance.choice(HOURS),
                completed_at=completed,
            )
        )
    return planned


@dataclass
class Deliveries:
    """Delivers planned completions through the stage's simulators and counts what happened."""

    stage: Stage
    acknowledged: int = 0
    tries: int = 0
    retried_answers: Counter[str] = field(default_factory=Counter)
    """Each answer a vendor retried after: ``HTTP 503``, ``200 FAIL:unavailable``, ``unreachable``…"""
    webtrn_published: int = 0
    _progress: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def push(self, planned: Planned) -> None:
        """ischinese or hnou: deliver one completion, retrying as the vendor does until it is taken."""
        if planned.source == "ischinese":
            sending = await self.stage.ischinese.hours.send(
                self.stage.ischinese.hours.keep(ischinese_completion(planned))
            )
            self._count([_label(attempt.status, attempt.text) for attempt in sending.attempts])
        else:
            self.stage.hnou.hours.keep(hnou_completion(planned))
            answers = await self.stage.hnou.hours.notify(planned.record_id)
            self._count([_label(status, text_) for status, text_ in answers])
        async with self._progress:
            self.acknowledged += 1
            self._progress.notify_all()

    def _count(self, answers: list[str]) -> None:
        self.tries += len(answers)
        self.retried_answers.update(answers[:-1])

    async def acknowledged_at_least(self, count: int) -> None:
        async with self._progress:
            await self._progress.wait_for(lambda: self.acknowledged >= count)

    def publish_webtrn(self, batch: list[Planned]) -> None:
        """webtrn makes these completions visible, updated now."""
        now = datetime.now(UTC)
        for planned in batch:
            self.stage.webtrn.api.complete(
                int(planned.record_id),
                sub=planned.learner.webtrn_sub,
                updated_at=now,
                course_code=COURSES[planned.subject][0],
                course_name=COURSES[planned.subject][1],
                subject=planned.subject,
                hours=planned.hours,
                finished_at=planned.completed_at,
            )
        self.webtrn_published += len(batch)

    async def push_all(self, planned: list[Planned]) -> None:
        """Push every ischinese and hnou completion, ``SENDS_AT_ONCE`` at a time."""
        gate = asyncio.Semaphore(SENDS_AT_ONCE)

        async def one(item: Planned) -> None:
            async with gate:
                await self.push(item)

        await asyncio.gather(*(one(item) for item in planned))


def _label(status: int, text_: str) -> str:
    """An answer as a vendor saw it: unreachable, the status of a JSON answer, or a text answer whole."""
    if status == 0:
        return "unreachable"
    if text_.startswith(("SUCCESS", "FAIL:")):
        return f"{status} {text_}"
    try:
        problem = json.loads(text_)
    except ValueError:
        return f"HTTP {status} (not JSON)"
    kind = problem.get("type", "") if isinstance(problem, dict) else ""
    return f"HTTP {status} {str(kind).rsplit('/', 1)[-1]}".rstrip()


def ischinese_completion(planned: Planned) -> SimulatedCompletion:
    code, title = COURSES[planned.subject]
    return SimulatedCompletion(
        planned.record_id,
        planned.learner.ischinese_sub,
        code,
        title,
        planned.subject,
        planned.hours,
        planned.completed_at,
    )


def hnou_completion(planned: Planned) -> HnouCompletion:
    code, title = COURSES[planned.subject]
    return HnouCompletion(
        record_no=planned.record_id,
        id_number=planned.learner.id_number,
        name=planned.learner.name,
        course_code=code,
        course_title=title,
        subject=planned.subject,
        hours=planned.hours,
        completed_at=planned.completed_at,
    )


# ---------------------------------------------------------------- what the ledger holds


@dataclass(frozen=True, slots=True)
class LedgerState:
    """The ledger as the database holds it, read with plain SQL."""

    entries: list[tuple[str, str, str, str, str, int]]
    """(source, record id, kind, person id, subject, hours) of every entry."""
    balances: dict[tuple[str, str], int]
    """Stored hundredths by (person id, subject), for the year."""
    held: int
    receipts: int

    def keys(self, kind: str = "credit") -> list[Key]:
        return [(source, record_id) for source, record_id, entry_kind, *_ in self.entries if entry_kind == kind]

    def count(self, source: str) -> int:
        return sum(1 for entry in self.entries if entry[0] == source)


async def ledger_state(database_url: str) -> LedgerState:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            entries = (
                await connection.execute(
                    text("SELECT source, record_id, kind, person_id, subject, hours FROM ledger_entry ORDER BY seq")
                )
            ).all()
            balances = (
                await connection.execute(
                    text("SELECT person_id, subject, hours FROM ledger_balance WHERE year = :year"), {"year": YEAR}
                )
            ).all()
            held = (await connection.execute(text("SELECT count(*) FROM ledger_held_record"))).scalar_one()
            receipts = (await connection.execute(text("SELECT count(*) FROM ledger_receipt"))).scalar_one()
    finally:
        await engine.dispose()
    return LedgerState(
        entries=[tuple(row) for row in entries],  # type: ignore[misc]
        balances={(row.person_id, row.subject): row.hours for row in balances},
        held=held,
        receipts=receipts,
    )


def expected_balances(planned: list[Planned]) -> dict[tuple[str, str], int]:
    """Each person's hundredths by subject, recomputed from what the vendors reported."""
    totals: Counter[tuple[str, str]] = Counter()
    for item in planned:
        totals[(item.learner.person_id, item.subject)] += parse_hours(Decimal(item.hours))
    return dict(totals)


async def wait_until(condition: Callable[[], Awaitable[bool]], *, seconds: float, step: float = 0.25) -> bool:
    """Check ``condition`` every ``step`` until it holds or ``seconds`` pass; whether it held."""
    for _ in range(int(seconds / step)):
        if await condition():
            return True
        await asyncio.sleep(step)
    return await condition()
