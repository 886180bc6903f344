"""Offline trainings and continuing education through a real aiohttp test server, on SQLite and
PostgreSQL: the filing's validation and routing, who may decide (404 for everyone else), attendance in
UTF-8, GB18030 and .xlsx counted whole or not at all and exactly once, the ledger and balances after
it, the audit log, and answers that never show a whole ID number or phone."""

from __future__ import annotations

import hashlib
import io
import subprocess
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData
from openpyxl import Workbook

from ledger.model import BEIJING, Credit, PersonId, new_credit, new_reversal
from sso.access.model import AuditAction, AuditOutcome, Role, Target, TargetKind
from sso.id_numbers import make_id_number, mask_id_number

from ..sso.people.forms import registration_form
from ..trainings.forms import filing_form
from .access_support import Client, ClientMaker, audit_entries, bearer, hub_of, new_token, serve_hub

TODAY = date(2021, 12, 1)
STAFF = {
    "王芳": ("430100-0001", make_id_number("430102", date(1990, 3, 7), 124, today=TODAY)),
    "欧阳娜娜": ("430100-0001", make_id_number("430102", date(1988, 5, 9), 126, today=TODAY)),
    "李强": ("430100-0001", make_id_number("430102", date(1985, 6, 1), 13, today=TODAY)),
    "赵敏": ("430181-0001", make_id_number("430181", date(1979, 1, 2), 22, today=TODAY)),
}
ATTENDANCE = "/api/v1/offline-trainings/{number}/attendance"


@pytest.fixture
async def client(aiohttp_client: ClientMaker, settings_file: Path, database_url: str) -> Client:
    return await serve_hub(aiohttp_client, settings_file, database_url)


@pytest.fixture
async def people(client: Client) -> dict[str, str]:
    """The staff of ``STAFF`` registered, by name: their person ids."""
    registered = {}
    for sequence, (name, (unit, id_number)) in enumerate(STAFF.items()):
        form = registration_form(
            name=name, id_number=id_number, unit_code=unit, phone=f"1390000{sequence:04d}", email=f"s{sequence}@x.cn"
        )
        registered[name] = await hub_of(client).people.register(form)
    return registered


@pytest.fixture
async def operator(client: Client) -> dict[str, str]:
    return bearer(await new_token(client, Role.OPERATOR))


async def supervisor(
    client: Client, *, department: str | None = None, institution: str | None = None
) -> dict[str, str]:
    return bearer(await new_token(client, Role.SUPERVISOR, department=department, institution=institution))


async def _json(response: Any, status: int) -> Any:
    assert response.status == status, await response.text()
    return await response.json()


async def filed(client: Client, headers: dict[str, str], **changes: object) -> dict[str, Any]:
    return await _json(
        await client.post("/api/v1/offline-trainings", json=filing_form(**changes), headers=headers), 201
    )


async def approved(client: Client, operator: dict[str, str], **changes: object) -> dict[str, Any]:
    filing = await filed(client, operator, **changes)
    health = await supervisor(client, department=filing["department"]["code"])
    return await _json(await client.post(f"/api/v1/offline-trainings/{filing['number']}/approval", headers=health), 200)


def attendance_csv(*lines: tuple[str, str], header: str = "身份证号,姓名,学时") -> str:
    return "".join(f"{row}\r\n" for row in (header, *(f"{STAFF[name][1]},{name},{hours}" for name, hours in lines)))


def attendance_xlsx(*lines: tuple[str, object]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["身份证号", "姓名", "天数"])
    for name, days in lines:
        sheet.append([STAFF[name][1], name, days])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def assert_nothing_personal(answer: str) -> None:
    for _unit, id_number in STAFF.values():
        assert id_number not in answer
        assert id_number[:17] not in answer
    assert "13907310001" not in answer  # the contact's phone
    assert "peixun@example.cn" not in answer


async def balance(client: Client, person_id: str) -> tuple[int, int]:
    balance = await hub_of(client).ledger.balance(person_id, 2021)
    return balance.public, balance.professional


# ---------------------------------------------------------------- filing


async def test_a_filing_with_fields_at_fault_is_refused_naming_every_one(
    client: Client, operator: dict[str, str]
) -> None:
    response = await client.post(
        "/api/v1/offline-trainings",
        json=filing_form(unit_code="430100-health", postcode="4100", head_count=0, plan=..., email="x"),
        headers=operator,
    )
    empty = await client.post("/api/v1/offline-trainings", json={}, headers=operator)
    not_json = await client.post("/api/v1/offline-trainings", data=b"{", headers=operator)

    problem = await _json(response, 422)
    assert response.content_type == "application/problem+json"
    assert [error["field"] for error in problem["errors"]] == ["unit_code", "postcode", "email", "head_count", "plan"]
    assert len((await _json(empty, 422))["errors"]) == 17
    assert [error["field"] for error in (await _json(not_json, 422))["errors"]] == ["body"]
    entries = await audit_entries(client)
    assert [(entry.action, entry.outcome, entry.details.get("error")) for entry in entries] == [
        (AuditAction.OFFLINE_TRAINING_FILED, AuditOutcome.REFUSED, "filing_invalid")
    ] * 3


async def test_a_filing_goes_to_the_competent_or_the_personnel_department(
    client: Client, operator: dict[str, str]
) -> None:
    professional = await filed(client, operator)
    public = await filed(client, operator, subject="public")

    assert (professional["number"], professional["status"]) == ("XXPX-2021-000001", "filed")
    assert professional["department"] == {"code": "430100-health", "name": "长沙市卫生健康委员会"}
    assert public["department"] == {"code": "430100-personnel", "name": "长沙市人力资源和社会保障局"}
    assert professional["unit"] == {"code": "430100-0001", "name": "长沙市中心医院"}
    assert (professional["days"], professional["hours_max"]) == (3, "22.50")
    assert (professional["contact_phone_masked"], professional["email_masked"]) == ("139****0001", "p***@example.cn")
    assert professional["filed_by"].startswith("operator:")
    assert_nothing_personal(str(professional))


async def test_an_institution_files_for_itself_alone_and_departments_and_auditors_file_nothing(
    client: Client, people: dict[str, str]
) -> None:
    hospital = await supervisor(client, institution="430100-0001")
    form = filing_form(unit_code=...)

    own = await client.post("/api/v1/offline-trainings", json=form, headers=hospital)
    other = await client.post("/api/v1/offline-trainings", json=filing_form(unit_code="430181-0001"), headers=hospital)
    department = await client.post(
        "/api/v1/offline-trainings", json=filing_form(), headers=await supervisor(client, department="430100-health")
    )
    auditor = await client.post(
        "/api/v1/offline-trainings", json=filing_form(), headers=bearer(await new_token(client, Role.AUDITOR))
    )
    nobody = await client.post("/api/v1/offline-trainings", json=filing_form())

    assert (await _json(own, 201))["unit"]["code"] == "430100-0001"
    assert [other.status, department.status, auditor.status, nobody.status] == [404, 404, 404, 401]
    assert nobody.headers["WWW-Authenticate"] == 'Bearer realm="hub"'
    outcomes = [(entry.outcome, entry.details.get("reason")) for entry in await audit_entries(client)]
    assert outcomes == [
        (AuditOutcome.SUCCEEDED, None),
        (AuditOutcome.DENIED, "outside_scope"),
        (AuditOutcome.DENIED, None),
        (AuditOutcome.DENIED, None),
    ]


# ---------------------------------------------------------------- deciding


async def test_only_a_supervisor_of_the_receiving_department_decides_and_only_once(
    client: Client, operator: dict[str, str]
) -> None:
    filing = await filed(client, operator)
    approval = f"/api/v1/offline-trainings/{filing['number']}/approval"
    others = [
        operator,
        bearer(await new_token(client, Role.AUDITOR)),
        await supervisor(client, department="430100-personnel"),  # oversees the unit, but the filing is professional
        await supervisor(client, department="430000-health"),
        await supervisor(client, institution="430100-0001"),
    ]

    refused = [(await client.post(approval, headers=headers)).status for headers in others]
    health = await supervisor(client, department="430100-health")
    decided = await _json(await client.post(approval, headers=health), 200)
    again = await client.post(approval, headers=health)
    rejection = await client.post(
        f"/api/v1/offline-trainings/{filing['number']}/rejection", json={"reason": "迟了"}, headers=health
    )
    unknown = await client.post("/api/v1/offline-trainings/XXPX-2021-000099/approval", headers=health)
    malformed = await client.post("/api/v1/offline-trainings/430102199003071245/approval", headers=health)

    assert refused == [404] * 5
    assert (decided["status"], decided["decided_by"]) == ("approved", decided["decided_by"])
    assert decided["decided_by"].startswith("supervisor:")
    assert len(decided["evidence_hash"]) == 64
    assert (again.status, rejection.status, unknown.status, malformed.status) == (409, 409, 404, 404)
    entries = [entry for entry in await audit_entries(client) if entry.action is AuditAction.OFFLINE_TRAINING_APPROVED]
    assert [entry.outcome for entry in entries] == [
        *[AuditOutcome.DENIED] * 5,
        AuditOutcome.SUCCEEDED,
        AuditOutcome.REFUSED,
        AuditOutcome.DENIED,
        AuditOutcome.DENIED,
    ]
    assert entries[5].target == Target(TargetKind.OFFLINE_TRAINING, filing["number"])
    assert [entry.details.get("reason") for entry in entries[-2:]] == ["unknown_filing", "malformed_number"]


async def test_a_public_filing_is_rejected_by_its_personnel_department_with_a_reason(
    client: Client, operator: dict[str, str]
) -> None:
    filing = await filed(client, operator, subject="public")
    rejection = f"/api/v1/offline-trainings/{filing['number']}/rejection"
    personnel = await supervisor(client, department="430100-personnel")

    health = await client.post(
        rejection, json={"reason": "不是我们的"}, headers=await supervisor(client, department="430100-health")
    )
    without_reason = await client.post(rejection, json={}, headers=personnel)
    extra = await client.post(rejection, json={"reason": "x", "note": "y"}, headers=personnel)
    rejected = await _json(await client.post(rejection, json={"reason": "培训计划不完整"}, headers=personnel), 200)

    assert health.status == 404
    assert [error["field"] for error in (await _json(without_reason, 422))["errors"]] == ["reason"]
    assert [error["field"] for error in (await _json(extra, 422))["errors"]] == ["note"]
    assert (rejected["status"], rejected["reason"]) == ("rejected", "培训计划不完整")
    upload = await client.post(ATTENDANCE.format(number=filing["number"]), data=attendance_csv(), headers=operator)
    assert upload.status == 409


async def test_each_supervisor_reads_and_lists_the_filings_within_reach(
    client: Client, operator: dict[str, str]
) -> None:
    professional = await filed(client, operator)
    public = await filed(client, operator, subject="public")
    await filed(client, operator, unit_code="430181-0001")
    health = await supervisor(client, department="430100-health")
    personnel = await supervisor(client, department="430100-personnel")
    hospital = await supervisor(client, institution="430100-0001")

    async def numbers(headers: dict[str, str], query: str = "") -> list[str]:
        page = await _json(await client.get(f"/api/v1/offline-trainings{query}", headers=headers), 200)
        return [item["number"] for item in page["items"]]

    assert await numbers(operator) == ["XXPX-2021-000003", public["number"], professional["number"]]
    assert await numbers(health) == [professional["number"]]
    assert await numbers(personnel) == [public["number"]]
    assert await numbers(hospital) == [public["number"], professional["number"]]
    assert await numbers(operator, "?status=approved") == []
    page = await _json(await client.get("/api/v1/offline-trainings?limit=2", headers=operator), 200)
    assert page["next_cursor"] is not None
    bad = await client.get("/api/v1/offline-trainings?status=maybe&limit=0&colour=red", headers=operator)
    assert [error["field"] for error in (await _json(bad, 422))["errors"]] == ["colour", "limit", "status"]
    read = f"/api/v1/offline-trainings/{professional['number']}"
    assert (await client.get(read, headers=personnel)).status == 404
    assert (await _json(await client.get(read, headers=hospital), 200))["attendance_imports"] == []


# ---------------------------------------------------------------- attendance


async def test_attendance_in_utf8_gb18030_and_xlsx_is_counted_in_the_ledger(
    client: Client, operator: dict[str, str], people: dict[str, str]
) -> None:
    filing = await approved(client, operator)
    upload = ATTENDANCE.format(number=filing["number"])
    form = FormData()
    form.add_field("note", "ignored")
    form.add_field("file", attendance_csv(("欧阳娜娜", "7.5")).encode("gb18030"), filename="签到表.csv")

    utf8 = await _json(
        await client.post(upload, data=b"\xef\xbb\xbf" + attendance_csv(("王芳", "22.5")).encode(), headers=operator),
        201,
    )
    gb18030 = await _json(await client.post(upload, data=form, headers=operator), 201)
    xlsx = await _json(await client.post(upload, data=attendance_xlsx(("李强", 2)), headers=operator), 201)

    assert [(answer["file_format"], answer["appended"]) for answer in (utf8, gb18030, xlsx)] == [
        ("csv-utf-8", 1),
        ("csv-gb18030", 1),
        ("xlsx", 1),
    ]
    (line,) = utf8["lines"]
    assert line == {
        "line": 2,
        "person_id": people["王芳"],
        "id_number_masked": mask_id_number(STAFF["王芳"][1]),
        "subject": "professional",
        "hours": "22.50",
        "record_id": f"{filing['number']}/{people['王芳']}",
        "outcome": "appended",
    }
    assert await balance(client, people["王芳"]) == (0, 2250)
    assert await balance(client, people["欧阳娜娜"]) == (0, 750)
    assert await balance(client, people["李强"]) == (0, 1500)
    ledger = await _json(await client.get(f"/api/v1/people/{people['李强']}/ledger?year=2021", headers=operator), 200)
    (entry,) = ledger["entries"]
    assert (entry["source"], entry["course"]) == ("offline", {"id": filing["number"], "title": filing["training_name"]})
    assert entry["completed_at"] == "2021-09-08T15:59:59+00:00"
    read = await _json(await client.get(f"/api/v1/offline-trainings/{filing['number']}", headers=operator), 200)
    assert [record["appended"] for record in read["attendance_imports"]] == [1, 1, 1]
    for answer in (utf8, gb18030, xlsx, read):
        assert_nothing_personal(str(answer))


async def test_the_same_file_twice_adds_nothing_and_a_changed_one_is_refused_whole(
    client: Client, operator: dict[str, str], people: dict[str, str]
) -> None:
    filing = await approved(client, operator)
    upload = ATTENDANCE.format(number=filing["number"])
    content = attendance_csv(("王芳", "8"), ("李强", "8"))

    first = await _json(await client.post(upload, data=content, headers=operator), 201)
    again = await _json(await client.post(upload, data=content.encode("gb18030"), headers=operator), 201)
    changed = await client.post(upload, data=attendance_csv(("欧阳娜娜", "8"), ("李强", "10")), headers=operator)

    assert (first["appended"], first["duplicates"]) == (2, 0)
    assert (again["appended"], again["duplicates"]) == (0, 2)
    assert [line["outcome"] for line in again["lines"]] == ["duplicate", "duplicate"]
    problem = await _json(changed, 422)
    assert [error["field"] for error in problem["errors"]] == ["line 3"]
    assert await balance(client, people["李强"]) == (0, 800)
    assert await balance(client, people["欧阳娜娜"]) == (0, 0)
    assert (await hub_of(client).ledger.verify_chain()).entries_checked == 2


async def test_a_file_with_bad_lines_counts_nothing_and_names_every_bad_line(
    client: Client, operator: dict[str, str], people: dict[str, str]
) -> None:
    filing = await approved(client, operator)
    wang = STAFF["王芳"][1]
    lines = [
        "身份证号,姓名,学时",
        f"{wang},王芳,8",  # 2: fine
        f"{wang[:17]}{'0' if wang[17] != '0' else '1'},王芳,8",  # 3: a bad check digit
        f"{make_id_number('430102', date(1991, 1, 1), 15, today=TODAY)},钱多,8",  # 4: nobody registered
        f"{STAFF['李强'][1]},李四,8",  # 5: another name
        f"{STAFF['欧阳娜娜'][1]},欧阳娜娜,八",  # 6: no number
        f"{STAFF['赵敏'][1]},赵敏,23",  # 7: more than 3 days of 7.5 hours
        f"{wang},王芳,1",  # 8: the same person as line 2
    ]

    response = await client.post(
        ATTENDANCE.format(number=filing["number"]), data="\r\n".join(lines).encode("gb18030"), headers=operator
    )

    problem = await _json(response, 422)
    assert (problem["title"], problem["detail"]) == ("The file has bad rows", "6 bad row(s); nothing was imported")
    assert [(error["field"], error["message"]) for error in problem["errors"]] == [
        ("line 3: id_number", "the ID number's check digit does not match its other digits"),
        ("line 4: id_number", "no registered person in reach has this ID number"),
        ("line 5: name", "does not match the name registered for this ID number"),
        ("line 6: hours", 'must be a decimal number such as "3.50"'),
        ("line 7: hours", "is more than the 3 day(s) of the training allow (22.50 hours)"),
        ("line 8: id_number", "the same person as line 2"),
    ]
    assert_nothing_personal(await response.text())
    assert "钱多" not in await response.text()
    assert await balance(client, people["王芳"]) == (0, 0)
    (entry,) = [entry for entry in await audit_entries(client) if entry.action is AuditAction.ATTENDANCE_IMPORTED]
    assert (entry.outcome, entry.details["error"], entry.details["bad_lines"]) == (
        AuditOutcome.REFUSED,
        "rows_invalid",
        6,
    )


async def test_an_institution_uploads_for_its_own_staff_and_nobody_else_uploads(
    client: Client, operator: dict[str, str], people: dict[str, str]
) -> None:
    filing = await approved(client, operator)
    upload = ATTENDANCE.format(number=filing["number"])
    hospital = await supervisor(client, institution="430100-0001")

    outsider = await client.post(upload, data=attendance_csv(("王芳", "8"), ("赵敏", "8")), headers=hospital)
    own = await client.post(upload, data=attendance_csv(("王芳", "8")), headers=hospital)
    others = [
        await client.post(upload, data=attendance_csv(("王芳", "8")), headers=headers)
        for headers in (
            await supervisor(client, department="430100-health"),
            await supervisor(client, institution="430181-0001"),
            bearer(await new_token(client, Role.AUDITOR)),
        )
    ]

    assert [error["field"] for error in (await _json(outsider, 422))["errors"]] == ["line 3: id_number"]
    assert (await _json(own, 201))["appended"] == 1
    assert [response.status for response in others] == [404, 404, 404]
    assert await balance(client, people["赵敏"]) == (0, 0)


async def test_attendance_waits_for_approval_and_refuses_a_file_over_the_limit(
    client: Client, operator: dict[str, str]
) -> None:
    filing = await filed(client, operator)
    upload = ATTENDANCE.format(number=filing["number"])

    waiting = await client.post(upload, data=attendance_csv(("王芳", "8")), headers=operator)
    health = await supervisor(client, department="430100-health")
    await client.post(f"/api/v1/offline-trainings/{filing['number']}/approval", headers=health)
    too_large = await client.post(upload, data=io.BytesIO(b"x" * (4 * 1024 * 1024 + 1)), headers=operator)
    form_without_file = FormData()
    form_without_file.add_field("note", "no file", content_type="text/plain")  # a content type makes it multipart
    empty_form = await client.post(upload, data=form_without_file, headers=operator)

    assert (await _json(waiting, 409))["detail"].endswith("attendance is taken once approved")
    assert (await _json(too_large, 413))["title"] == "The file is too large"
    assert (await _json(empty_form, 400))["detail"] == "the form has no part named file holding the file"


# ---------------------------------------------------------------- continuing education


async def test_continuing_education_is_imported_by_operators_once(
    client: Client, operator: dict[str, str], people: dict[str, str]
) -> None:
    content = (
        "身份证号,姓名,项目名称,学时,完成日期,科目\r\n"
        f"{STAFF['王芳'][1]},王芳,心血管疾病诊疗新进展,12,2021-05-20,\r\n"
        f"{STAFF['王芳'][1]},王芳,事业单位人事制度解读,6.5,2021-06-02,公共\r\n"
    ).encode("gb18030")
    imports = "/api/v1/continuing-education/imports"
    auditor = bearer(await new_token(client, Role.AUDITOR))

    created = await client.post(imports, data=content, headers=operator)
    again = await _json(await client.post(imports, data=content, headers=operator), 201)
    by_supervisor = await client.post(
        imports, data=content, headers=await supervisor(client, department="430100-health")
    )
    by_auditor = await client.post(imports, data=content, headers=auditor)
    bad = await client.post(imports, data=content.replace(b"6.5", b"-1"), headers=operator)

    first = await _json(created, 201)
    assert created.headers["Location"] == f"{imports}/{first['id']}"
    assert (first["source"], first["appended"], first["file_format"]) == ("continuing_ed", 2, "csv-gb18030")
    assert [line["subject"] for line in first["lines"]] == ["professional", "public"]
    assert (again["appended"], again["duplicates"]) == (0, 2)
    assert (by_supervisor.status, by_auditor.status) == (404, 404)
    assert [error["field"] for error in (await _json(bad, 422))["errors"]] == ["line 3: hours"]
    assert await balance(client, people["王芳"]) == (650, 1200)
    listed = await _json(await client.get(f"{imports}?limit=1", headers=auditor), 200)
    assert ([item["id"] for item in listed["items"]], listed["next_cursor"]) == ([again["id"]], str(again["id"]))
    read = await _json(await client.get(f"{imports}/{first['id']}", headers=auditor), 200)
    assert (read["rows"], read["appended"], "lines" in read) == (2, 2, False)
    assert (await client.get(f"{imports}/999", headers=auditor)).status == 404
    assert (
        await client.get(f"{imports}/{first['id']}", headers=await supervisor(client, institution="430100-0001"))
    ).status == 404
    assert_nothing_personal(str(first))
    actions = [(entry.action, entry.outcome) for entry in await audit_entries(client)]
    assert actions[:5] == [
        (AuditAction.CONTINUING_EDUCATION_IMPORTED, AuditOutcome.SUCCEEDED),
        (AuditAction.CONTINUING_EDUCATION_IMPORTED, AuditOutcome.SUCCEEDED),
        (AuditAction.CONTINUING_EDUCATION_IMPORTED, AuditOutcome.DENIED),
        (AuditAction.CONTINUING_EDUCATION_IMPORTED, AuditOutcome.DENIED),
        (AuditAction.CONTINUING_EDUCATION_IMPORTED, AuditOutcome.REFUSED),
    ]


async def test_uploads_leave_no_id_number_in_the_logs_or_the_database(
    aiohttp_client: ClientMaker,
    settings_file: Path,
    database_url: str,
    personal_data_probe: Any,
    id_number_needles_of: Callable[[str], set[str]],
) -> None:
    client = await serve_hub(aiohttp_client, settings_file, database_url)
    operator = bearer(await new_token(client, Role.OPERATOR))
    for sequence, (name, (unit, id_number)) in enumerate(STAFF.items()):
        form = registration_form(name=name, id_number=id_number, unit_code=unit, phone=f"1390000{sequence:04d}")
        await hub_of(client).people.register(form)
    unregistered = make_id_number("430102", date(1991, 1, 1), 15, today=TODAY)
    filing = await approved(client, operator)
    upload = ATTENDANCE.format(number=filing["number"])

    await _json(await client.post(upload, data=attendance_csv(("王芳", "8"), ("李强", "x")), headers=operator), 422)
    await _json(
        await client.post(upload, data=f"身份证号,姓名,学时\r\n{unregistered},钱多,8\r\n", headers=operator), 422
    )
    await _json(await client.post(upload, data=attendance_xlsx(("王芳", 1), ("李强", 1)), headers=operator), 201)
    recognised = f"身份证号,姓名,项目名称,学时,完成日期\r\n{STAFF['赵敏'][1]},赵敏,农业技术推广,20,2021-07-01\r\n"
    await _json(await client.post("/api/v1/continuing-education/imports", data=recognised, headers=operator), 201)
    await _json(await client.get("/api/v1/audit-log", headers=bearer(await new_token(client, Role.AUDITOR))), 200)

    needles = {needle for _unit, id_number in STAFF.values() for needle in id_number_needles_of(id_number)}
    needles |= id_number_needles_of(unregistered) | {"13907310001", "peixun@example.cn"}  # the filing's contact
    assert await personal_data_probe.places_holding(needles) == {}


# ---------------------------------------------------------------- a year met across every source


async def test_a_year_met_across_vendors_offline_and_continuing_education_is_certified_until_a_reversal(
    client: Client, operator: dict[str, str], people: dict[str, str], tmp_path: Path
) -> None:
    hub, wang = hub_of(client), people["王芳"]
    for source, record, subject, hours in (
        ("ischinese", "c-1", "public", "20"),
        ("webtrn", "88123", "professional", "30"),
        ("hnou", "R-1", "public", "5"),
    ):
        await hub.ledger.record(vendor_credit(wang, source, record, subject, hours))
    filing = await approved(client, operator)
    upload = ATTENDANCE.format(number=filing["number"])
    await _json(await client.post(upload, data=attendance_csv(("王芳", "22.5")).encode(), headers=operator), 201)
    continuing = (
        "身份证号,姓名,项目名称,学时,完成日期,科目\r\n"
        f"{STAFF['王芳'][1]},王芳,心血管疾病诊疗新进展,12,2021-05-20,\r\n"
        f"{STAFF['王芳'][1]},王芳,事业单位人事制度解读,6.5,2021-06-02,公共\r\n"
    )
    await _json(await client.post("/api/v1/continuing-education/imports", data=continuing, headers=operator), 201)

    await hub.certificates.review_due()
    (item,) = await hub.certificates.history(PersonId(wang))
    number = item.certificate.facts.certificate_no
    verified = await _json(await client.get(f"/verify/{number}.json"), 200)
    health = await supervisor(client, department="430100-health")
    pdf = await client.get(f"/api/v1/certificates/{number}.pdf", headers=health)
    text = pdf_text(await pdf.read(), tmp_path)

    assert {entry.source.value for entry in await hub.ledger.entries_of(wang, 2021)} == {
        "ischinese", "webtrn", "hnou", "offline", "continuing_ed",
    }  # fmt: skip
    assert (verified["status"], verified["hours"]) == (
        "valid",
        {"total": "96.00", "public": "31.50", "professional": "64.50"},
    )
    assert number in text
    assert "王芳" in text

    revoked = new_reversal(
        source="ischinese", record_id="c-1", reason="revoked", actor="vendor:ischinese", payload_hash="a" * 64
    )
    await hub.ledger.record(revoked)
    await hub.certificates.review_due()

    assert (await _json(await client.get(f"/verify/{number}.json"), 200))["status"] == "revoked"
    kinds = [message.kind.value for message in await hub.messages.all_of(PersonId(wang))]
    assert kinds == ["certificate_revoked", "certificate_issued"]  # newest first


def vendor_credit(person_id: str, source: str, record: str, subject: str, hours: str) -> Credit:
    return new_credit(
        person_id=person_id,
        source=source,
        record_id=record,
        course_code=f"{source}-course",
        course_title="课程",
        subject=subject,
        hours=hours,
        completed_at=datetime(2021, 3, 2, 9, 58, tzinfo=BEIJING),
        actor=f"vendor:{source}",
        payload_hash=hashlib.sha256(record.encode()).hexdigest(),
    )


def pdf_text(pdf: bytes, directory: Path) -> str:
    """The PDF's text as poppler's pdftotext reads it."""
    path = directory / "certificate.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(  # noqa: S603  (a fixed program on a file of the test's own)
        ["pdftotext", "-enc", "UTF-8", str(path), "-"],  # noqa: S607  (Debian's poppler-utils, from make setup)
        capture_output=True,
        check=True,
        timeout=60,
    )
    return done.stdout.decode()


async def test_a_form_that_is_not_multipart_is_refused_as_a_bad_request(
    client: Client, operator: dict[str, str]
) -> None:
    headers = {**operator, "Content-Type": "multipart/form-data; boundary=xx"}

    refused = await client.post("/api/v1/continuing-education/imports", data=b"not a form", headers=headers)

    assert refused.status == 400
    assert refused.content_type == "application/problem+json"
    assert (await refused.json())["detail"] == "the body cannot be read as multipart/form-data"
