"""Builders of commands and a ledger on the test database."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.model import Credit, Hours, Reversal, YearRules, new_credit, new_reversal
from ledger.service import Ledger
from ledger.store import SqlLedgerStore

BEIJING_OFFSET = timezone(timedelta(hours=8))
RULES_2021 = YearRules(
    year=2021,
    total=Hours(9000),
    public=Hours(3000),
    professional=Hours(6000),
    hours_per_day=Hours(750),
    mandatory={"xi_thought": frozenset({"ischinese:XJP-2021-01", "webtrn:C1001"})},
)

MakeCredit = Callable[..., Credit]
MakeReversal = Callable[..., Reversal]


def payload_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def make_credit() -> MakeCredit:
    def make(record_id: str = "c-1", **overrides: object) -> Credit:
        fields: dict[str, object] = {
            "person_id": "person-1",
            "source": "ischinese",
            "record_id": record_id,
            "course_code": "XJP-2021-01",
            "course_title": "习近平新时代中国特色社会主义思想概论",
            "subject": "public",
            "hours": "3.5",
            "completed_at": datetime(2021, 6, 1, 9, 58, 12, tzinfo=BEIJING_OFFSET),
            "actor": "vendor:ischinese",
            "payload_hash": payload_hash(record_id),
        }
        fields.update(overrides)
        return new_credit(**fields)  # type: ignore[arg-type]

    return make


@pytest.fixture
def make_reversal() -> MakeReversal:
    def make(record_id: str = "c-1", **overrides: object) -> Reversal:
        fields: dict[str, object] = {
            "source": "ischinese",
            "record_id": record_id,
            "reason": "learner cheated",
            "actor": "vendor:ischinese",
            "payload_hash": payload_hash(f"revoked {record_id}"),
        }
        fields.update(overrides)
        return new_reversal(**fields)  # type: ignore[arg-type]

    return make


@pytest.fixture
def ledger(engine: AsyncEngine) -> Ledger:
    return Ledger(SqlLedgerStore(engine), {2021: RULES_2021})
