"""``hub offline`` and ``hub continuing-ed``: offline trainings and continuing education for operators
with files on disk.

- ``hub offline file FORM.json``: file a training from a JSON file of the filing's fields (as
  ``POST /api/v1/offline-trainings`` takes them); it goes to the department its unit and subject send it to.
- ``hub offline list [--status filed|approved|rejected]``: the filings, newest first.
- ``hub offline attendance NUMBER FILE``: count the attendance in FILE for an approved training.
- ``hub continuing-ed import FILE``: count the recognised hours in FILE.

A file goes in whole or not at all: a file with bad lines prints each (``hub: FILE line 4: hours: …``)
and then fails with one line. Every act is written to the audit log as the command line's, and
the ledger names its credits' actor ``command_line``. Approving and rejecting are a department
supervisor's, through the API only.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Final

import typer

from config import Settings, load_settings
from gateway.commands import open_hub
from sso.access.model import COMMAND_LINE, AuditAction, Target, TargetKind
from trainings.errors import FileTooLarge, RowsInvalid
from trainings.model import PAGE_SIZE_MAX, ImportReport, Listing
from trainings.offline import Filing, FilingQuery, FilingStatus
from trainings.sheets import UPLOAD_BYTES_MAX

offline_app = typer.Typer(
    help="Offline trainings (线下培训): file them and count their attendance.", no_args_is_help=True
)
continuing_app = typer.Typer(help="Continuing education (继续教育): import recognised hours.", no_args_is_help=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", help="The TOML settings file (default: $HUB_CONFIG, else ./hub.toml).", show_default=False
    ),
]
FileArgument = Annotated[
    Path,
    typer.Argument(
        help="A CSV file (UTF-8 or GB18030) or an .xlsx workbook.",
        exists=True,
        dir_okay=False,
        readable=True,
        show_default=False,
    ),
]
ACTOR: Final = COMMAND_LINE.kind.value
FILED: Final = AuditAction.OFFLINE_TRAINING_FILED
ATTENDED: Final = AuditAction.ATTENDANCE_IMPORTED
RECOGNISED: Final = AuditAction.CONTINUING_EDUCATION_IMPORTED
FORM_BYTES_MAX: Final = 64 * 1024


@offline_app.command("file")
def file_training(
    form: Annotated[
        Path,
        typer.Argument(help="A JSON file of the filing's fields.", exists=True, dir_okay=False, show_default=False),
    ],
    config: ConfigOption = None,
) -> None:
    """File an offline training with the department it goes to."""
    settings = load_settings(config)
    filing = asyncio.run(_file(settings, _json_form(form)))
    typer.echo(
        f"filed {filing.number} ({filing.form.subject.value}) for {filing.form.unit_code} "
        f"with {filing.department_code}: it waits for that department's decision"
    )


async def _file(settings: Settings, form: dict[str, object]) -> Filing:
    from gateway.bearer import audited_act  # noqa: PLC0415  (imported when it runs: see gateway.cli)

    async with open_hub(settings) as hub, audited_act(hub.access.audit, COMMAND_LINE, FILED) as note:
        filing = await hub.offline_trainings.file(form, await hub.organisation.organisation(), ACTOR)
        note.target = Target(TargetKind.OFFLINE_TRAINING, filing.number)
        note.details.update(unit_code=filing.form.unit_code, department_code=filing.department_code)
    return filing


@offline_app.command("list")
def list_trainings(
    status: Annotated[
        FilingStatus | None, typer.Option(help="Only the filings with this status.", show_default=False)
    ] = None,
    config: ConfigOption = None,
) -> None:
    """List the filings, newest first (the last 200)."""
    settings = load_settings(config)
    filings = asyncio.run(_list(settings, FilingQuery(listing=Listing(limit=PAGE_SIZE_MAX), status=status)))
    for filing in filings:
        form = filing.form
        span = f"{form.starts_on.isoformat()}..{form.ends_on.isoformat()}"
        typer.echo(
            f"{filing.number}  {filing.status.value:<8}  {form.subject.value:<12}  {form.unit_code}  "
            f"→ {filing.department_code}  {span}  {form.training_name}"
        )
    if not filings:
        typer.echo("no filings")


async def _list(settings: Settings, query: FilingQuery) -> tuple[Filing, ...]:
    async with open_hub(settings) as hub:
        return (await hub.offline_trainings.filings(query)).filings


@offline_app.command("attendance")
def upload_attendance(
    number: Annotated[str, typer.Argument(help="The filing number, XXPX-2021-000001.", show_default=False)],
    file: FileArgument,
    config: ConfigOption = None,
) -> None:
    """Count the attendance in FILE for an approved training: every line, or none."""
    settings = load_settings(config)
    content = _content(file)
    with _bad_lines_printed(file):
        report = asyncio.run(_attendance(settings, number, content))
    typer.echo(f"{number}: {_described(report)}")


async def _attendance(settings: Settings, number: str, content: bytes) -> ImportReport:
    from gateway.bearer import audited_act  # noqa: PLC0415  (imported when it runs: see gateway.cli)

    async with open_hub(settings) as hub, audited_act(hub.access.audit, COMMAND_LINE, ATTENDED) as note:
        filing = await hub.offline_trainings.filing(number)
        note.target = Target(TargetKind.OFFLINE_TRAINING, filing.number)
        report = await hub.offline_trainings.import_attendance(filing, content, ACTOR, _everyone)
        note.details.update(_counts(report))
    return report


@continuing_app.command("import")
def import_continuing_education(file: FileArgument, config: ConfigOption = None) -> None:
    """Count the recognised hours in FILE: every line, or none.

    The header line: 身份证号,姓名,项目名称,学时,完成日期 and optionally 科目 (公共 or 专业, the default).
    """
    settings = load_settings(config)
    content = _content(file)
    with _bad_lines_printed(file):
        report = asyncio.run(_continuing(settings, content))
    typer.echo(f"{file}: {_described(report)}")


async def _continuing(settings: Settings, content: bytes) -> ImportReport:
    from gateway.bearer import audited_act  # noqa: PLC0415  (imported when it runs: see gateway.cli)

    async with open_hub(settings) as hub, audited_act(hub.access.audit, COMMAND_LINE, RECOGNISED) as note:
        report = await hub.continuing_education.import_file(content, ACTOR)
        note.target = Target(TargetKind.TRAINING_IMPORT, str(report.record.id))
        note.details.update(_counts(report))
    return report


@contextmanager
def _bad_lines_printed(file: Path) -> Iterator[None]:
    """Print each bad line of a refused file on its own line, before the one line that says it failed."""
    try:
        yield
    except RowsInvalid as invalid:
        for error in invalid.errors:
            typer.echo(f"hub: {file} {error.field}: {error.message}", err=True)
        raise


def _counts(report: ImportReport) -> dict[str, int]:
    record = report.record
    return {"import_id": record.id, "rows": record.rows, "appended": record.appended, "duplicates": record.duplicates}


def _described(report: ImportReport) -> str:
    record = report.record
    return (
        f"{record.rows} line(s): {record.appended} counted, {record.duplicates} counted before "
        f"(import {record.id}, {record.file_format.value})"
    )


def _content(file: Path) -> bytes:
    with file.open("rb") as opened:
        content = opened.read(UPLOAD_BYTES_MAX + 1)
    if len(content) > UPLOAD_BYTES_MAX:
        raise FileTooLarge(UPLOAD_BYTES_MAX)
    return content


def _json_form(path: Path) -> dict[str, object]:
    with path.open("rb") as opened:
        content = opened.read(FORM_BYTES_MAX + 1)
    try:
        form = json.loads(content.decode("utf-8")) if len(content) <= FORM_BYTES_MAX else None
    except ValueError:  # not UTF-8, or not JSON
        form = None
    if not isinstance(form, dict):
        raise typer.BadParameter(f"must be a JSON object in UTF-8 of at most {FORM_BYTES_MAX} bytes", param_hint="FORM")
    return form


def _everyone(_unit_code: str) -> bool:
    """The command line acts as an operator: it may credit anyone registered."""
    return True
