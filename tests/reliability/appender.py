"""One process of appenders for the concurrency scenario: WRITERS writers, each on its own
connection, each recording APPENDS credits one by one through the ledger's service; prints a JSON
line of the outcomes.

    python tests/reliability/appender.py DATABASE_URL PROCESS WRITERS APPENDS
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
from collections import Counter
from datetime import datetime

from gateway.database import create_engine
from ledger.model import BEIJING, Hours, YearRules, new_credit
from ledger.service import Ledger
from ledger.store import SqlLedgerStore

RULES_2021 = YearRules(
    year=2021,
    total=Hours(9000),
    public=Hours(3000),
    professional=Hours(6000),
    hours_per_day=Hours(750),
    mandatory={},
)


async def _writer(database_url: str, process: int, writer: int, appends: int) -> Counter[str]:
    engine = create_engine(database_url)
    ledger = Ledger(SqlLedgerStore(engine), {2021: RULES_2021})
    outcomes: Counter[str] = Counter()
    try:
        for number in range(appends):
            record_id = f"p{process}-w{writer}-{number}"
            credit = new_credit(
                person_id=f"person-{process}-{writer}",
                source="ischinese",
                record_id=record_id,
                course_code="XJP-2021-01",
                course_title="习近平新时代中国特色社会主义思想概论",
                subject="public" if number % 2 else "professional",
                hours="1.25",
                completed_at=datetime(2021, 6, 1, 9, 0, tzinfo=BEIJING),
                actor="vendor:ischinese",
                payload_hash=hashlib.sha256(record_id.encode()).hexdigest(),
            )
            outcomes[(await ledger.record(credit)).kind.value] += 1
    finally:
        await engine.dispose()
    return outcomes


async def _main(database_url: str, process: int, writers: int, appends: int) -> None:
    results = await asyncio.gather(*(_writer(database_url, process, writer, appends) for writer in range(writers)))
    print(json.dumps(sum(results, Counter())))


if __name__ == "__main__":
    url, process_number, writer_count, append_count = sys.argv[1:]
    asyncio.run(_main(url, int(process_number), int(writer_count), int(append_count)))
