"""Hours that come from the hub's own forms and files, through its API as the people concerned use it:
a hospital files an offline training, its competent department approves it, the hospital uploads the
attendance (a GB18030 CSV, with a bad line fixed after the first try, then the same file once more);
an operator imports a year of recognised continuing education (an .xlsx sheet)."""

from __future__ import annotations

import io
from datetime import date
from typing import Any, Final

import httpx
from openpyxl import Workbook
from rich.console import Console

from gateway.demo.api import TIMEOUT_SECONDS, answer, bearer, issue_token
from gateway.demo.cast import HOSPITAL, YEAR
from gateway.demo.handoffs import Arrival
from gateway.demo.stage import Stage
from sso.access.model import Role

__all__ = ["CONTINUING_EDUCATION", "continuing_education_is_imported", "offline_training_is_attended"]

TRAINING: Final[dict[str, object]] = {
    "subject": "professional",
    "organiser": "湖南省医学继续教育培训中心",
    "organiser_address": "长沙市芙蓉区解放西路 61 号",
    "postcode": "410005",
    "email": "peixun@demo.example.cn",
    "responsible_person": "刘建国",
    "contact_name": "陈静",
    "contact_title": "科员",
    "contact_phone": "0731-83929999",
    "training_name": "急危重症救治能力提升培训",
    "starts_on": f"{YEAR}-09-06",
    "ends_on": f"{YEAR}-09-08",
    "place": "湖南省人民医院学术报告厅",
    "scope": "全院临床医师",
    "plan": "第一天：理论授课；第二天：模拟演练；第三天：考核。",
}
DAYS_ATTENDED: Final = ("3", "2.5", "3", "1")
"""Each attendee's days in turn; a day counts the year's hours_per_day (7.5)."""
CONTINUING_EDUCATION: Final = (
    ("心血管疾病诊疗新进展", "12", date(YEAR, 5, 20), "专业"),
    ("事业单位人事制度解读", "6", date(YEAR, 6, 2), "公共"),
)
"""The projects the import recognises for the staff who have continuing education: name, hours, day, subject."""


async def offline_training_is_attended(stage: Stage, arrivals: list[Arrival], console: Console) -> None:
    """The hospital files, its department approves, the hospital uploads its attendance."""
    hospital = bearer(await issue_token(stage, Role.SUPERVISOR, institution=HOSPITAL.code))
    attendees = [arrival for arrival in arrivals if arrival.member.attends_offline]
    async with httpx.AsyncClient(base_url=stage.hub_url, timeout=TIMEOUT_SECONDS) as http:
        form = {**TRAINING, "head_count": len(attendees)}
        filing = await answer(await http.post("/api/v1/offline-trainings", json=form, headers=hospital), 201)
        number, department = filing["number"], filing["department"]
        console.print(
            f"  {HOSPITAL.name} files {number} 「{filing['training_name']}」 ({filing['starts_on']} to "
            f"{filing['ends_on']}, {filing['subject']}): it goes to {department['name']}"
        )
        approver = bearer(await issue_token(stage, Role.SUPERVISOR, department=department["code"]))
        approved = await answer(await http.post(f"/api/v1/offline-trainings/{number}/approval", headers=approver), 200)
        console.print(f"  {department['name']} approves it; evidence {approved['evidence_hash'][:16]}…")
        upload = f"/api/v1/offline-trainings/{number}/attendance"
        mistyped = _attendance(attendees, mistype_first=True)
        refused = await answer(await http.post(upload, content=mistyped, headers=hospital), 422)
        errors = "; ".join(f"{error['field']}: {error['message']}" for error in refused["errors"])
        console.print(f"  the attendance, GB18030 CSV, with a mistyped name → 422, nothing counted ({errors})")
        corrected = _attendance(attendees, mistype_first=False)
        counted = await answer(await http.post(upload, content=corrected, headers=hospital), 201)
        console.print(f"  corrected → {_counts(counted)}")
        again = await answer(await http.post(upload, content=corrected, headers=hospital), 201)
        console.print(f"  the same file again → {_counts(again)}: nothing changes")


async def continuing_education_is_imported(stage: Stage, arrivals: list[Arrival], console: Console) -> None:
    """An operator imports the recognised hours of the staff who have continuing education, from an .xlsx sheet."""
    operator = bearer(await issue_token(stage, Role.OPERATOR))
    recognised = [arrival for arrival in arrivals if arrival.member.continuing_education]
    async with httpx.AsyncClient(base_url=stage.hub_url, timeout=TIMEOUT_SECONDS) as http:
        imported = await answer(
            await http.post("/api/v1/continuing-education/imports", content=_sheet(recognised), headers=operator), 201
        )
    console.print(
        f"  {len(CONTINUING_EDUCATION)} projects for each of {len(recognised)} people, as an .xlsx sheet "
        f"({imported['file_format']}) → {_counts(imported)}"
    )


def _attendance(attendees: list[Arrival], *, mistype_first: bool) -> bytes:
    lines = ["身份证号,姓名,天数"]
    for number, arrival in enumerate(attendees):
        name = arrival.member.name
        if mistype_first and number == 0:
            name = name[::-1] if len(name) > 1 else f"{name}某"
        lines.append(f"{arrival.member.id_number},{name},{DAYS_ATTENDED[number % len(DAYS_ATTENDED)]}")
    return "\r\n".join(lines).encode("gb18030")


def _sheet(people: list[Arrival]) -> bytes:
    book = Workbook()
    sheet = book.active
    if sheet is None:
        raise ValueError("a new workbook has a sheet")
    sheet.append(["身份证号", "姓名", "项目名称", "学时", "完成日期", "科目"])
    for arrival in people:
        for project, hours, day, subject in CONTINUING_EDUCATION:
            sheet.append([arrival.member.id_number, arrival.member.name, project, hours, day.isoformat(), subject])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _counts(answer: dict[str, Any]) -> str:
    return f"{answer['appended']} counted, {answer['duplicates']} counted before (import {answer['id']})"
