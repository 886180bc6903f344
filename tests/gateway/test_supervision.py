"""Supervisors' compliance reports through a real aiohttp test server on SQLite and PostgreSQL: the numbers of
a seeded organisation against hand-computed ones, the people short of the rules a page at a time, the CSV
download read back with the csv module, and the scope of every token."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path
from typing import Any

import pytest

from sso.access.model import AuditAction, AuditEntry, AuditOutcome, Role, Target, TargetKind
from sso.id_numbers import mask_id_number, normalise_id_number

from ..sso.people.forms import PASSWORD
from .access_support import Client, ClientMaker, audit_entries, bearer, hub_of, new_token, serve_hub
from .supervision_support import credit, enrol, id_number, record, reversal, with_mandatory_topics

CHANGSHA = ["430100-0001", "430100-0002", "430102-0001", "430121-0001", "430181-0001", "430181-0002", "430181-0003"]
NOBODY = {"people": 0, "met": 0, "not_met": 0, "hours": {"total": "0.00", "public": "0.00", "professional": "0.00"}}


def _tally(people: int, met: int, total: str, public: str, professional: str) -> dict[str, object]:
    hours = {"total": total, "public": public, "professional": professional}
    return {"people": people, "met": met, "not_met": people - met, "hours": hours}


@pytest.fixture
async def client(aiohttp_client: ClientMaker, settings_file: Path, database_url: str) -> Client:
    return await serve_hub(aiohttp_client, with_mandatory_topics(settings_file), database_url)


@pytest.fixture
async def people(client: Client) -> dict[str, str]:
    """Seven people of Changsha and Zhuzhou and their 2021, the numbers of which the tests compute by hand."""
    ids = {
        "zhang": await enrol(client, 1, "430100-0001", "张伟"),
        "ouyang": await enrol(client, 2, "430100-0001", "欧阳娜娜"),
        "li": await enrol(client, 3, "430100-0001", "李娜"),
        "gone": await enrol(client, 4, "430100-0001", "刘洋"),
        "wang": await enrol(client, 5, "430100-0002", "王强"),
        "zhao": await enrol(client, 6, "430181-0001", "赵敏"),
        "chen": await enrol(client, 7, "430200-0001", "陈静"),
    }
    await record(
        client,
        # 张伟 meets every rule: 30 public with both mandatory topics, 60 professional.
        credit(ids["zhang"], "z-1", "ischinese:XJP-2021-01", "public", "10"),
        credit(ids["zhang"], "z-2", "hnou:DS-2021", "public", "20"),
        credit(ids["zhang"], "z-3", "webtrn:C2001", "professional", "60"),
        # 欧阳娜娜 misses 17.50 public, 20 professional and party history.
        credit(ids["ouyang"], "o-1", "ischinese:XJP-2021-01", "public", "12.5"),
        credit(ids["ouyang"], "o-2", "webtrn:C2002", "professional", "40"),
        # 李娜 has the hours, but her course of Xi Jinping Thought was revoked.
        credit(ids["li"], "l-1", "hnou:DS-2021", "public", "35"),
        credit(ids["li"], "l-2", "offline:OFF-1", "professional", "70"),
        credit(ids["li"], "l-3", "webtrn:C1001", "public", "5"),
        reversal("l-3", "webtrn"),
        # 刘洋 met the rules but his account is deactivated: no longer counted.
        credit(ids["gone"], "g-1", "ischinese:XJP-2021-01", "public", "30"),
        # 赵敏 meets them through ischinese, hnou and continuing education.
        credit(ids["zhao"], "m-1", "ischinese:XJP-2021-01", "public", "15"),
        credit(ids["zhao"], "m-2", "hnou:DS-2021", "public", "15"),
        credit(ids["zhao"], "m-3", "continuing_ed:CE-1", "professional", "60"),
    )
    await hub_of(client).people.deactivate(ids["gone"])
    return ids


async def _supervisor(
    client: Client, *, department: str | None = None, institution: str | None = None
) -> dict[str, str]:
    return bearer(await new_token(client, Role.SUPERVISOR, department=department, institution=institution))


async def test_compliance_counts_each_institution_and_region_of_the_unit(
    client: Client, people: dict[str, str]
) -> None:
    supervisor = await _supervisor(client, department="430100-personnel")

    response = await client.get("/api/v1/units/430100/compliance?year=2021", headers=supervisor)

    assert response.status == 200
    report = await response.json()
    assert report["unit"] == {"code": "430100", "name": "长沙市", "kind": "region"}
    assert report["required"] == {
        "total": "90.00",
        "public": "30.00",
        "professional": "60.00",
        "mandatory": ["party_history", "xi_thought"],
    }
    assert report["total"] == _tally(5, 2, "337.50", "107.50", "230.00")
    institutions = {item.pop("code"): item for item in report["institutions"]}
    assert list(institutions) == CHANGSHA
    assert institutions["430100-0001"] == {
        "name": "长沙市中心医院",
        "region": "430100",
        **_tally(3, 1, "247.50", "77.50", "170.00"),
    }
    assert institutions["430100-0002"] == {"name": "长沙市第一中学", "region": "430100", **_tally(1, 0, *["0.00"] * 3)}
    assert institutions["430181-0001"] == {
        "name": "浏阳市人民医院",
        "region": "430181",
        **_tally(1, 1, "90.00", "30.00", "60.00"),
    }
    for empty in ("430102-0001", "430121-0001", "430181-0002", "430181-0003"):
        assert {name: value for name, value in institutions[empty].items() if name in NOBODY} == NOBODY
    regions = {item.pop("code"): item for item in report["regions"]}
    assert regions == {
        "430100": {"name": "长沙市", "parent": "430000", **_tally(5, 2, "337.50", "107.50", "230.00")},
        "430102": {"name": "芙蓉区", "parent": "430100", **NOBODY},
        "430121": {"name": "长沙县", "parent": "430100", **NOBODY},
        "430181": {"name": "浏阳市", "parent": "430100", **_tally(1, 1, "90.00", "30.00", "60.00")},
    }


async def test_a_competent_department_counts_only_the_institutions_it_governs(
    client: Client, people: dict[str, str]
) -> None:
    supervisor = await _supervisor(client, department="430100-health")

    by_region = await (await client.get("/api/v1/units/430100/compliance?year=2021", headers=supervisor)).json()
    by_itself = await (await client.get("/api/v1/units/430100-health/compliance?year=2021", headers=supervisor)).json()

    assert [item["code"] for item in by_region["institutions"]] == ["430100-0001"]
    assert by_region["total"] == _tally(3, 1, "247.50", "77.50", "170.00")
    assert [region["code"] for region in by_region["regions"]] == ["430100"]
    assert by_itself["unit"] == {"code": "430100-health", "name": "长沙市卫生健康委员会", "kind": "department"}
    assert by_itself["total"] == by_region["total"]


async def test_the_people_short_of_the_rules_come_a_page_at_a_time_masked(
    client: Client, people: dict[str, str]
) -> None:
    supervisor = await _supervisor(client, department="430100-personnel")

    first = await client.get("/api/v1/units/430100/compliance/short?year=2021&limit=2", headers=supervisor)
    page = await first.json()
    second = await client.get(
        f"/api/v1/units/430100/compliance/short?year=2021&limit=2&cursor={page['next_cursor']}", headers=supervisor
    )
    last = await second.json()

    assert (first.status, second.status) == (200, 200)
    assert (len(page["items"]), len(last["items"]), last["next_cursor"]) == (2, 1, None)
    short = {item["person_id"]: item for item in page["items"] + last["items"]}
    assert set(short) == {people["ouyang"], people["li"], people["wang"]}
    assert short[people["ouyang"]] == {
        "person_id": people["ouyang"],
        "institution": {"code": "430100-0001", "name": "长沙市中心医院"},
        "id_number_masked": mask_id_number(normalise_id_number(id_number(2))),
        "name_masked": "欧***",
        "earned": {"total": "52.50", "public": "12.50", "professional": "40.00"},
        "missing": {"total": "37.50", "public": "17.50", "professional": "20.00", "mandatory": ["party_history"]},
    }
    assert short[people["li"]]["missing"] == {
        "total": "0.00",
        "public": "0.00",
        "professional": "0.00",
        "mandatory": ["xi_thought"],
    }
    assert short[people["wang"]]["name_masked"] == "王*"
    assert short[people["wang"]]["missing"] == {
        "total": "90.00",
        "public": "30.00",
        "professional": "60.00",
        "mandatory": ["party_history", "xi_thought"],
    }
    assert last["items"][0]["institution"]["code"] == "430100-0002"  # institutions in code order
    for sequence in range(1, 8):
        assert id_number(sequence)[:14] not in await first.text() + await second.text()


def _csv_rows(body: bytes) -> list[dict[str, str]]:
    assert body.startswith(b"\xef\xbb\xbf")  # a UTF-8 byte-order mark, for Excel
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))


async def test_the_report_downloads_as_csv_that_excel_and_the_csv_module_read(
    client: Client, people: dict[str, str]
) -> None:
    supervisor = await _supervisor(client, department="430100-personnel")

    response = await client.get("/api/v1/units/430100/compliance?year=2021&format=csv", headers=supervisor)
    accepted = await client.get(
        "/api/v1/units/430100/compliance?year=2021", headers={**supervisor, "Accept": "text/csv"}
    )

    assert response.status == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="compliance-430100-2021.csv"'
    body = await response.read()
    assert await accepted.read() == body
    rows = _csv_rows(body)
    assert [(row["level"], row["code"]) for row in rows] == [
        ("person", "430100-0001"),
        ("person", "430100-0001"),
        ("institution", "430100-0001"),
        ("person", "430100-0002"),
        ("institution", "430100-0002"),
        *(("institution", code) for code in CHANGSHA[2:]),
        *(("region", code) for code in ("430100", "430102", "430121", "430181")),
        ("unit", "430100"),
    ]
    ouyang = next(row for row in rows if row["name_masked"] == "欧***")
    assert ouyang == {
        "level": "person",
        "code": "430100-0001",
        "name": "长沙市中心医院",
        "region_code": "430100",
        "id_number_masked": mask_id_number(normalise_id_number(id_number(2))),
        "name_masked": "欧***",
        "people": "",
        "met": "",
        "not_met": "",
        "hours_total": "52.50",
        "hours_public": "12.50",
        "hours_professional": "40.00",
        "missing_total": "37.50",
        "missing_public": "17.50",
        "missing_professional": "20.00",
        "missing_mandatory": "party_history",
    }
    wang = next(row for row in rows if row["name_masked"] == "王*")
    assert wang["missing_mandatory"] == "party_history;xi_thought"
    centre = rows[2]
    assert (centre["people"], centre["met"], centre["not_met"], centre["hours_total"]) == ("3", "1", "2", "247.50")
    assert (centre["missing_total"], centre["id_number_masked"]) == ("", "")
    liuyang = next(row for row in rows if row["level"] == "region" and row["code"] == "430181")
    assert (liuyang["name"], liuyang["region_code"], liuyang["people"], liuyang["met"]) == (
        "浏阳市",
        "430100",
        "1",
        "1",
    )
    unit = rows[-1]
    assert (unit["name"], unit["people"], unit["met"], unit["not_met"]) == ("长沙市", "5", "2", "3")
    assert (unit["hours_total"], unit["hours_public"], unit["hours_professional"]) == ("337.50", "107.50", "230.00")
    assert id_number(2)[:14].encode() not in body

    entries = await _compliance_reads(client, 2)
    assert [(entry.outcome, entry.details.get("format"), entry.details.get("rows")) for entry in entries] == [
        (AuditOutcome.SUCCEEDED, "csv", len(rows)),
        (AuditOutcome.SUCCEEDED, "csv", len(rows)),
    ]
    assert entries[0].target == Target(TargetKind.UNIT, "430100")


async def test_a_year_without_rules_and_bad_parameters_are_refused(client: Client, people: dict[str, str]) -> None:
    supervisor = await _supervisor(client, department="430100-personnel")
    refused: dict[str, Any] = {}
    for path in (
        "/api/v1/units/430100/compliance?year=2020",
        "/api/v1/units/430100/compliance?year=2020&format=csv",
        "/api/v1/units/430100/compliance/short?year=2020",
        "/api/v1/units/430100/vendor-share?year=2020",
        "/api/v1/units/430100/compliance?year=21&format=xml&colour=red",
        "/api/v1/units/430100/compliance/short?year=2021&cursor=bogus&limit=501",
    ):
        response = await client.get(path, headers=supervisor)
        assert (response.status, response.content_type) == (422, "application/problem+json"), path
        refused[path] = await response.json()

    assert {problem["type"].rsplit("/", 1)[1] for problem in list(refused.values())[:4]} == {"no_rules_for_year"}
    fields = [[error["field"] for error in problem.get("errors", [])] for problem in list(refused.values())[4:]]
    assert fields == [["colour", "year", "format"], ["cursor", "limit"]]


async def test_supervisors_reach_only_their_scope_and_everyone_else_gets_404(
    client: Client, people: dict[str, str]
) -> None:
    personnel = await _supervisor(client, department="430100-personnel")
    health = await _supervisor(client, department="430100-health")
    hospital = await _supervisor(client, institution="430181-0001")
    outsiders = [
        (personnel, "430200"),
        (personnel, "430000"),
        (personnel, "430200-0001"),
        (personnel, "no-such-unit"),
        (personnel, "430102199003071234"),
        (health, "430100-personnel"),
        (health, "430100-0002"),
        (hospital, "430181"),
        (hospital, "430100-0001"),
        (bearer(await new_token(client, Role.OPERATOR)), "430100"),
        (bearer(await new_token(client, Role.AUDITOR)), "430100"),
    ]
    for headers, unit in outsiders:
        for part in ("compliance", "compliance/short", "vendor-share"):
            response = await client.get(f"/api/v1/units/{unit}/{part}?year=2021", headers=headers)
            assert response.status == 404, (unit, part)
            assert "2021" not in await response.text()
    anonymous = await client.get("/api/v1/units/430100/compliance?year=2021")
    login = await client.post("/api/v1/login", json={"id_number": id_number(6), "password": PASSWORD})
    as_staff = await client.get("/api/v1/units/430181-0001/compliance?year=2021")
    own = await client.get("/api/v1/units/430181-0001/compliance?year=2021", headers=hospital)

    assert (login.status, as_staff.status) == (200, 404)
    assert anonymous.status == 401
    assert anonymous.headers["WWW-Authenticate"] == 'Bearer realm="hub"'
    assert own.status == 200
    assert (await own.json())["total"] == _tally(1, 1, "90.00", "30.00", "60.00")
    entries = await audit_entries(client)
    denied = [entry for entry in entries if entry.outcome is AuditOutcome.DENIED]
    assert len(denied) == 3 * len(outsiders)
    assert {entry.target for entry in denied} == {None}  # a code outside the scope is never written down
    assert entries[-1].action is AuditAction.COMPLIANCE_READ
    assert (entries[-1].outcome, entries[-1].target) == (AuditOutcome.SUCCEEDED, Target(TargetKind.UNIT, "430181-0001"))


async def test_no_id_number_or_phone_reaches_a_log_or_a_table_in_clear(
    client: Client, people: dict[str, str], personal_data_probe: Any, id_number_needles_of: Any
) -> None:
    supervisor = await _supervisor(client, department="430100-personnel")

    for path in (
        "/api/v1/units/430100/compliance?year=2021",
        "/api/v1/units/430100/compliance?year=2021&format=csv",
        "/api/v1/units/430100/compliance/short?year=2021",
        "/api/v1/units/430100/vendor-share?year=2021",
        f"/api/v1/units/{id_number(2)}/compliance?year=2021",
    ):
        assert (await client.get(path, headers=supervisor)).status in {200, 404}

    needles = {needle for sequence in range(1, 8) for needle in id_number_needles_of(id_number(sequence))}
    needles |= {f"139{sequence:08d}" for sequence in range(1, 8)}
    assert await personal_data_probe.places_holding(needles) == {}
    assert "FROM person" in personal_data_probe.logs()  # the rosters' statements and rows were logged, and searched


async def _compliance_reads(client: Client, count: int) -> list[AuditEntry]:
    """The audit entries of compliance reads, once ``count`` are there (at most 10 s): a streamed
    download is audited after its last byte, which the client may have read before the entry lands."""
    for _ in range(100):
        entries = [entry for entry in await audit_entries(client) if entry.action is AuditAction.COMPLIANCE_READ]
        if len(entries) >= count:
            return entries
        await asyncio.sleep(0.1)
    return entries
