"""An offline training's attendance of 1000 people, uploaded as a GB18030 CSV and as an .xlsx sheet and
counted through the hub's own code (read, check every line, look the people up, write), against the
ledger's write alone of 1000 credits of the same shape, in the same run, on PostgreSQL.

    python -m bench.attendance_import [--people 1000] [--rounds 3]

Needs the machine's PostgreSQL (``HUB_BENCH_POSTGRESQL_URL``, default 127.0.0.1:5432, database
``test``); it creates a database of its own and drops it at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path

from argon2 import PasswordHasher
from openpyxl import Workbook

from bench.scratch import scratch_database
from gateway.database import create_engine
from gateway.directory import PeopleRegistry
from ledger.model import Hours, PersonId, YearRules, new_credit, sha256_hex
from ledger.service import Ledger
from ledger.store import SqlLedgerStore
from sso.id_numbers import IdNumber, make_id_number
from sso.organisation import load_organisation
from sso.people.service import PeopleService
from sso.personal_data import DataKeyring
from sso.units.service import OrganisationService
from trainings.offline import Filing
from trainings.service import OfflineTrainings
from trainings.store import SqlTrainingsStore

RULES = {2021: YearRules(2021, Hours(9000), Hours(3000), Hours(6000), Hours(750))}
ORGANISATION = load_organisation(Path(__file__).parents[1] / "config" / "organisation" / "hunan.json")
UNIT = "430100-0001"
# Registering is not what is measured: the cheapest argon2 parameters.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
FORM: dict[str, object] = {
    "unit_code": UNIT,
    "subject": "professional",
    "organiser": "长沙市医学继续教育培训中心",
    "organiser_address": "长沙市芙蓉区韶山北路 61 号",
    "postcode": "410011",
    "email": "peixun@example.cn",
    "responsible_person": "刘建国",
    "contact_name": "陈静",
    "contact_title": "科员",
    "contact_phone": "13907310001",
    "training_name": "急危重症救治能力提升培训",
    "starts_on": "2021-09-06",
    "ends_on": "2021-09-08",
    "place": "长沙市中心医院学术报告厅",
    "scope": "全院临床医师",
    "plan": "理论授课、模拟演练、考核。",
}


async def _register(people: PeopleService, count: int) -> list[tuple[IdNumber, str, PersonId]]:
    staff = []
    for number in range(count):
        id_number = make_id_number("430102", date(1970 + number % 30, 1 + number % 12, 1 + number % 28), number)
        name = f"员工{number:04d}"
        person_id = await people.register(
            {
                "name": name,
                "password": "bench2021pass",
                "id_number": id_number,
                "gender": "男" if number % 2 else "女",
                "phone": f"139{number:08d}",
                "email": f"staff{number}@bench.example.cn",
                "native_place": "湖南",
                "education": "大学本科",
                "major": "临床医学",
                "school": "中南大学",
                "graduated_on": "2010-06-30",
                "unit_code": UNIT,
                "title": "其他",
            }
        )
        staff.append((id_number, name, person_id))
    return staff


def _csv(staff: list[tuple[IdNumber, str, PersonId]]) -> bytes:
    lines = ["身份证号,姓名,学时", *(f"{id_number},{name},15" for id_number, name, _person in staff)]
    return "\r\n".join(lines).encode("gb18030")


def _xlsx(staff: list[tuple[IdNumber, str, PersonId]]) -> bytes:
    book = Workbook()
    sheet = book.active
    if sheet is None:
        raise ValueError("a new workbook has a sheet")
    sheet.append(["身份证号", "姓名", "天数"])
    for id_number, name, _person in staff:
        sheet.append([id_number, name, 2])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def _timed(work: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await work()
    return time.perf_counter() - started


async def _measure(url: str, count: int, rounds: int) -> dict[str, list[float]]:
    engine = create_engine(url)
    keyring = DataKeyring.generate()
    organisation = OrganisationService(engine)
    await organisation.replace(ORGANISATION)
    people = PeopleService(engine, keyring, organisation, password_hasher=FAST_HASHER)
    ledger = Ledger(SqlLedgerStore(engine), RULES)
    offline = OfflineTrainings(SqlTrainingsStore(engine, keyring), ledger, PeopleRegistry(people), RULES)
    staff = await _register(people, count)
    files = {"csv": _csv(staff), "xlsx": _xlsx(staff)}
    timings: dict[str, list[float]] = {"ledger": [], "csv": [], "xlsx": []}

    async def approved() -> Filing:
        filing = await offline.file({**FORM, "head_count": count}, ORGANISATION, "operator:1")
        return await offline.approve(filing, "supervisor:2")

    for round_number in range(rounds + 1):  # the first round warms up and is not counted
        credits = [
            new_credit(
                person_id=person_id,
                source="offline",
                record_id=f"BENCH-{round_number}/{person_id}",
                course_code=f"BENCH-{round_number}",
                course_title="急危重症救治能力提升培训",
                subject="professional",
                hours="15",
                completed_at=(await approved()).completed_at,
                actor="operator:1",
                payload_hash=sha256_hex(b"bench"),
            )
            for _id_number, _name, person_id in staff
        ]
        elapsed = {"ledger": await _timed(lambda credits=credits: ledger.record_whole(credits))}
        # Each round takes the formats in another order: the first write after another one is slower.
        for kind in sorted(files, reverse=bool(round_number % 2)):
            filing = await approved()
            elapsed[kind] = await _timed(
                lambda filing=filing, content=files[kind]: offline.import_attendance(
                    filing, content, "operator:1", lambda _unit: True
                )
            )
        if round_number:
            for kind, seconds in elapsed.items():
                timings[kind].append(seconds)
    await engine.dispose()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=1000, help="people in the file (at most 1000)")
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    with scratch_database() as url:
        timings = asyncio.run(_measure(url, arguments.people, arguments.rounds))
    baseline = statistics.median(timings["ledger"])
    print(f"attendance of {arguments.people} people, median of {arguments.rounds} rounds, PostgreSQL:")
    print(f"  baseline: the ledger's write alone of the same credits   {baseline * 1000:8.1f} ms   1.00")
    for kind, label in (("csv", "a GB18030 CSV uploaded and counted"), ("xlsx", "an .xlsx sheet uploaded and counted")):
        median = statistics.median(timings[kind])
        print(f"  {label:<52} {median * 1000:8.1f} ms   {median / baseline:.2f}")


if __name__ == "__main__":
    main()
