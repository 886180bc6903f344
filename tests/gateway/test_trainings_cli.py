"""``hub offline`` and ``hub continuing-ed`` as an operator runs them, with files on disk: the real program
on the test databases. A refused file prints each bad line, then one line saying nothing was imported."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from config import load_settings
from gateway.bootstrap import open_hub
from sso.access.model import ActorKind, AuditAction, AuditOutcome, AuditQuery
from sso.id_numbers import make_id_number
from sso.organisation import load_organisation

from ..sso.people.forms import registration_form
from ..trainings.forms import filing_form
from .conftest import RunHub

ORGANISATION_FILE = Path(__file__).parents[2] / "config" / "organisation" / "hunan.json"
WANG = make_id_number("430102", date(1990, 3, 7), 124, today=date(2021, 12, 1))
LI = make_id_number("430102", date(1985, 6, 1), 13, today=date(2021, 12, 1))


@pytest.fixture
async def people(settings_file: Path) -> dict[str, str]:
    """王芳 and 李强 of 长沙市中心医院, registered in a hub that holds the sample organisation."""
    async with open_hub(load_settings(settings_file)) as hub:
        await hub.organisation.replace(load_organisation(ORGANISATION_FILE))
        wang = await hub.people.register(registration_form(id_number=WANG))
        li = await hub.people.register(registration_form(name="李强", id_number=LI, phone="13900000013"))
    return {"王芳": wang, "李强": li}


def _lines(stream: str) -> list[str]:
    return stream.strip().splitlines()


async def test_an_operator_files_and_counts_attendance_from_files_on_disk(
    run_hub: RunHub, settings_file: Path, people: dict[str, str], tmp_path: Path
) -> None:
    config = ("--config", str(settings_file))
    form = tmp_path / "备案表.json"
    form.write_text(json.dumps(filing_form(), ensure_ascii=False), encoding="utf-8")
    attendance = tmp_path / "签到表.csv"
    attendance.write_bytes(f"身份证号,姓名,天数\r\n{WANG},王芳,3\r\n{LI},李强,1\r\n".encode("gb18030"))

    filed = run_hub("offline", "file", str(form), *config)
    early = run_hub("offline", "attendance", "XXPX-2021-000001", str(attendance), *config)
    async with open_hub(load_settings(settings_file)) as hub:
        filing = await hub.offline_trainings.filing("XXPX-2021-000001")
        await hub.offline_trainings.approve(filing, "supervisor:1")
    counted = run_hub("offline", "attendance", "XXPX-2021-000001", str(attendance), *config)
    again = run_hub("offline", "attendance", "XXPX-2021-000001", str(attendance), *config)
    listed = run_hub("offline", "list", "--status", "approved", *config)

    assert filed.returncode == 0, filed.stderr
    assert _lines(filed.stdout) == [
        "filed XXPX-2021-000001 (professional) for 430100-0001 with 430100-health: "
        "it waits for that department's decision"
    ]
    assert (early.returncode, _lines(early.stderr)) == (
        1,
        ["hub: error: the offline training XXPX-2021-000001 is filed: attendance is taken once approved"],
    )
    assert counted.returncode == 0, counted.stderr
    assert _lines(counted.stdout) == [
        "XXPX-2021-000001: 2 line(s): 2 counted, 0 counted before (import 1, csv-gb18030)"
    ]
    assert _lines(again.stdout) == ["XXPX-2021-000001: 2 line(s): 0 counted, 2 counted before (import 2, csv-gb18030)"]
    (line,) = _lines(listed.stdout)
    assert line.startswith(
        "XXPX-2021-000001  approved  professional  430100-0001  → 430100-health  2021-09-06..2021-09-08"
    )
    async with open_hub(load_settings(settings_file)) as hub:
        wang = await hub.ledger.balance(people["王芳"], 2021)
        li = await hub.ledger.balance(people["李强"], 2021)
        (entry,) = await hub.ledger.entries_of(people["李强"], 2021)
        audit = await hub.access.audit.page(AuditQuery())
    assert (wang.professional, li.professional, entry.actor) == (2250, 750, "command_line")
    assert [(entry.actor.kind, entry.action, entry.outcome) for entry in reversed(audit.entries)] == [
        (ActorKind.COMMAND_LINE, AuditAction.OFFLINE_TRAINING_FILED, AuditOutcome.SUCCEEDED),
        (ActorKind.COMMAND_LINE, AuditAction.ATTENDANCE_IMPORTED, AuditOutcome.REFUSED),
        (ActorKind.COMMAND_LINE, AuditAction.ATTENDANCE_IMPORTED, AuditOutcome.SUCCEEDED),
        (ActorKind.COMMAND_LINE, AuditAction.ATTENDANCE_IMPORTED, AuditOutcome.SUCCEEDED),
    ]


async def test_a_file_with_bad_lines_prints_each_and_imports_nothing(
    run_hub: RunHub, settings_file: Path, people: dict[str, str], tmp_path: Path
) -> None:
    recognised = tmp_path / "继续教育.csv"
    recognised.write_text(
        "身份证号,姓名,项目名称,学时,完成日期,科目\n"
        f"{WANG},王芳,心血管疾病诊疗新进展,12,2021-05-20,\n"
        f"{LI},李四,医学伦理,2,2021-05-20,公共\n"
        f"{WANG[:17]}{'0' if WANG[17] != '0' else '1'},王芳,急诊医学,3,2021-05-21,\n",
        encoding="utf-8-sig",
    )

    refused = run_hub("continuing-ed", "import", str(recognised), "--config", str(settings_file))

    assert refused.returncode == 1
    assert _lines(refused.stderr) == [
        f"hub: {recognised} line 3: name: does not match the name registered for this ID number",
        f"hub: {recognised} line 4: id_number: the ID number's check digit does not match its other digits",
        "hub: error: 2 bad row(s); nothing was imported",
    ]
    assert WANG not in refused.stderr
    assert LI not in refused.stderr
    async with open_hub(load_settings(settings_file)) as hub:
        assert (await hub.ledger.balance(people["王芳"], 2021)).total == 0


async def test_recognised_hours_are_imported_once_from_a_file(
    run_hub: RunHub, settings_file: Path, people: dict[str, str], tmp_path: Path
) -> None:
    recognised = tmp_path / "继续教育.csv"
    recognised.write_bytes(
        f"身份证号,姓名,项目名称,学时,完成日期,科目\n{WANG},王芳,事业单位人事制度解读,6.5,2021-06-02,公共\n".encode(
            "gb18030"
        )
    )

    imported = run_hub("continuing-ed", "import", str(recognised), "--config", str(settings_file))
    again = run_hub("continuing-ed", "import", str(recognised), "--config", str(settings_file))

    assert imported.returncode == 0, imported.stderr
    assert _lines(imported.stdout) == [f"{recognised}: 1 line(s): 1 counted, 0 counted before (import 1, csv-gb18030)"]
    assert _lines(again.stdout) == [f"{recognised}: 1 line(s): 0 counted, 1 counted before (import 2, csv-gb18030)"]
    async with open_hub(load_settings(settings_file)) as hub:
        assert (await hub.ledger.balance(people["王芳"], 2021)).public == 650


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ("offline", "attendance", "XXPX-2021-000009", "{file}"),
            "hub: error: there is no offline training with this number",
        ),
        (("offline", "file", "{file}"), "hub: error: Invalid value for FORM: must be a JSON object in UTF-8"),
        (("continuing-ed", "import", "{missing}"), "hub: error: Invalid value for 'file': file"),
    ],
)
def test_a_command_that_cannot_do_its_work_says_why_in_one_line(
    run_hub: RunHub, settings_file: Path, tmp_path: Path, arguments: tuple[str, ...], message: str
) -> None:
    file = tmp_path / "file.csv"
    file.write_text("身份证号,姓名,学时\n", encoding="utf-8")
    paths = {"file": str(file), "missing": str(tmp_path / "missing.csv")}

    result = run_hub(*(argument.format(**paths) for argument in arguments), "--config", str(settings_file))

    assert result.returncode != 0
    (line,) = _lines(result.stderr)
    assert line.startswith(message)
