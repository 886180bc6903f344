"""Offline trainings (线下培训): filing, the department's decision and the upload of attendance; and the
imports of continuing education (继续教育).

Who does what (every call with a bearer token, audited: one entry whatever the outcome):

- File (``POST /api/v1/offline-trainings``): an operator, for any institution, or a supervisor acting
  for an institution (``hub tokens create --role supervisor --institution CODE``), for that institution
  only (``unit_code`` may then be left out). A professional training goes to the institution's
  competent department, a public one to the personnel department of the institution's region.
- Read and list: operators and auditors every filing; a supervisor of a department the filings
  filed with it; a supervisor of an institution the institution's own.
- Approve or reject (``…/approval``, ``…/rejection`` with a reason): a supervisor of the department
  the filing was filed with, and nobody else.
- Upload the attendance (``…/attendance``, once approved and from the training's last day on): an
  operator, or the supervisor of the applying institution, who can credit only its own staff.
- Import continuing education (``POST /api/v1/continuing-education/imports``): operators; operators
  and auditors read the imports.

Anything outside the caller's role or scope answers 404, as for a filing that does not exist. ID
numbers, phones and e-mail addresses are masked in every answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Final

from aiohttp import hdrs, web

from gateway.bearer import AuditNote, Caller, audited, authenticate_caller
from gateway.bodies import json_object, read_upload
from gateway.keys import HUB
from gateway.openapi import SecurityScheme, json_answer, page_answer, page_parameters, problem_answer, unauthenticated
from gateway.parameters import row_id
from ledger.errors import FieldError
from ledger.model import format_hours
from sso.access.errors import OutOfReach
from sso.access.model import AuditAction, Role, ScopeKind, Target, TargetKind, mask_email, mask_phone
from sso.organisation import Organisation
from trainings.continuing_ed import PROJECT_CHARACTERS_MAX
from trainings.errors import FileTooLarge, FilingInvalid, FilingNotFound, ImportNotFound, QueryInvalid, RowsInvalid
from trainings.model import PAGE_SIZE_MAX, ImportedRow, ImportRecord, RowOutcome, parse_listing
from trainings.offline import (
    FILING_FIELDS,
    TEXT_FIELDS,
    Filing,
    FilingQuery,
    FilingStatus,
    filing_id_of,
    parse_filing_query,
)
from trainings.sheets import ROWS_MAX, UPLOAD_BYTES_MAX, FileFormat

JSON_BODY_BYTES_MAX: Final = 32 * 1024
NO_STORE: Final = {hdrs.CACHE_CONTROL: "no-store"}
READERS: Final = (Role.OPERATOR, Role.AUDITOR, Role.SUPERVISOR)
IMPORT_READERS: Final = (Role.OPERATOR, Role.AUDITOR)

routes = web.RouteTableDef()


@routes.post("/api/v1/offline-trainings")
async def file_training(request: web.Request) -> web.Response:
    caller = await authenticate_caller(request)
    async with audited(request, caller, AuditAction.OFFLINE_TRAINING_FILED) as note:
        scope = caller.scope
        unit = scope.code if caller.role is Role.SUPERVISOR and scope and scope.kind is ScopeKind.INSTITUTION else None
        if unit is None:
            caller.require(Role.OPERATOR)
        form = await json_object(request, JSON_BODY_BYTES_MAX, FilingInvalid, empty_allowed=True)
        # A unit files for itself: it may leave its code out, and cannot name another.
        if unit is not None and form.setdefault("unit_code", unit) != unit:
            note.details["reason"] = "outside_scope"
            raise OutOfReach
        hub = request.app[HUB]
        organisation = await hub.organisation.organisation()
        filing = await hub.offline_trainings.file(form, organisation, actor_of(caller))
        note.target = Target(TargetKind.OFFLINE_TRAINING, filing.number)
        note.details.update(
            unit_code=filing.form.unit_code, department_code=filing.department_code, subject=filing.form.subject.value
        )
        document = await _filing_document(request, filing, organisation)
    location = f"/api/v1/offline-trainings/{filing.number}"
    return web.json_response(document, status=201, headers={**NO_STORE, hdrs.LOCATION: location})


@routes.get("/api/v1/offline-trainings")
async def list_trainings(request: web.Request) -> web.Response:
    caller = await authenticate_caller(request)
    target = Target(TargetKind.OFFLINE_TRAINING, "all")
    async with audited(request, caller, AuditAction.OFFLINE_TRAINING_READ, target) as note:
        caller.require(*READERS)
        query = within_reach(parse_filing_query(request.query), caller)
        hub = request.app[HUB]
        page = await hub.offline_trainings.filings(query)
        organisation = await hub.organisation.organisation()
        items = [await _filing_document(request, filing, organisation, imports=False) for filing in page.filings]
        note.details.update(status=None if query.status is None else query.status.value, filings=len(items))
    return web.json_response({"items": items, "next_cursor": page.next_cursor}, headers=NO_STORE)


@routes.get("/api/v1/offline-trainings/{number}")
async def read_training(request: web.Request) -> web.Response:
    caller = await authenticate_caller(request)
    async with audited(request, caller, AuditAction.OFFLINE_TRAINING_READ) as note:
        caller.require(*READERS)
        filing = await filing_in_reach(request, caller, note, _sees)
        document = await _filing_document(request, filing, await request.app[HUB].organisation.organisation())
    return web.json_response(document, headers=NO_STORE)


@routes.post("/api/v1/offline-trainings/{number}/approval")
async def approve_training(request: web.Request) -> web.Response:
    caller = await authenticate_caller(request)
    async with audited(request, caller, AuditAction.OFFLINE_TRAINING_APPROVED) as note:
        filing = await filing_in_reach(request, caller, note, decides)
        hub = request.app[HUB]
        approved = await hub.offline_trainings.approve(filing, actor_of(caller))
        document = await _filing_document(request, approved, await hub.organisation.organisation())
    return web.json_response(document, headers=NO_STORE)


@routes.post("/api/v1/offline-trainings/{number}/rejection")
async def reject_training(request: web.Request) -> web.Response:
    caller = await authenticate_caller(request)
    async with audited(request, caller, AuditAction.OFFLINE_TRAINING_REJECTED) as note:
        filing = await filing_in_reach(request, caller, note, decides)
        form = await json_object(request, JSON_BODY_BYTES_MAX, FilingInvalid, empty_allowed=True)
        unknown = [FieldError(name[:40], "is not a field of a rejection") for name in form if name != "reason"]
        if unknown:
            raise FilingInvalid(unknown)
        hub = request.app[HUB]
        rejected = await hub.offline_trainings.reject(filing, actor_of(caller), form.get("reason"))
        document = await _filing_document(request, rejected, await hub.organisation.organisation())
    return web.json_response(document, headers=NO_STORE)


@routes.post("/api/v1/offline-trainings/{number}/attendance")
async def upload_attendance(request: web.Request) -> web.Response:
    caller = await authenticate_caller(request)
    async with audited(request, caller, AuditAction.ATTENDANCE_IMPORTED) as note:
        filing = await filing_in_reach(request, caller, note, _uploads)
        content = await read_upload(request, UPLOAD_BYTES_MAX)
        if content is None:
            raise FileTooLarge(UPLOAD_BYTES_MAX)
        try:
            report = await request.app[HUB].offline_trainings.import_attendance(
                filing, content, actor_of(caller), caller.oversees
            )
        except RowsInvalid as invalid:
            note.details["bad_lines"] = len({error.field.partition(":")[0] for error in invalid.errors})
            raise
        note.details.update(
            import_id=report.record.id,
            file_format=report.record.file_format.value,
            rows=report.record.rows,
            appended=report.record.appended,
            duplicates=report.record.duplicates,
        )
    return web.json_response(import_document(report.record, filing.number, report.rows), status=201, headers=NO_STORE)


# ---------------------------------------------------------------- continuing education


@routes.post("/api/v1/continuing-education/imports")
async def import_continuing_education(request: web.Request) -> web.Response:
    caller = await authenticate_caller(request)
    async with audited(request, caller, AuditAction.CONTINUING_EDUCATION_IMPORTED) as note:
        caller.require(Role.OPERATOR)
        content = await read_upload(request, UPLOAD_BYTES_MAX)
        if content is None:
            raise FileTooLarge(UPLOAD_BYTES_MAX)
        try:
            report = await request.app[HUB].continuing_education.import_file(content, actor_of(caller))
        except RowsInvalid as invalid:
            note.details["bad_lines"] = len({error.field.partition(":")[0] for error in invalid.errors})
            raise
        record = report.record
        note.target = Target(TargetKind.TRAINING_IMPORT, str(record.id))
        note.details.update(
            file_format=record.file_format.value,
            rows=record.rows,
            appended=record.appended,
            duplicates=record.duplicates,
        )
    location = f"/api/v1/continuing-education/imports/{record.id}"
    document = import_document(record, None, report.rows)
    return web.json_response(document, status=201, headers={**NO_STORE, hdrs.LOCATION: location})


@routes.get("/api/v1/continuing-education/imports")
async def list_continuing_education(request: web.Request) -> web.Response:
    caller = await authenticate_caller(request)
    target = Target(TargetKind.TRAINING_IMPORT, "all")
    async with audited(request, caller, AuditAction.CONTINUING_EDUCATION_READ, target) as note:
        caller.require(*IMPORT_READERS)
        errors: list[FieldError] = []
        listing = parse_listing(request.query, errors, frozenset())
        if errors:
            raise QueryInvalid(errors)
        page = await request.app[HUB].continuing_education.imports(listing)
        note.details["imports"] = len(page.imports)
    items = [import_document(record, None) for record in page.imports]
    return web.json_response({"items": items, "next_cursor": page.next_cursor}, headers=NO_STORE)


@routes.get("/api/v1/continuing-education/imports/{import_id}")
async def read_continuing_education(request: web.Request) -> web.Response:
    caller = await authenticate_caller(request)
    async with audited(request, caller, AuditAction.CONTINUING_EDUCATION_READ) as note:
        caller.require(*IMPORT_READERS)
        text = request.match_info["import_id"]
        import_id = row_id(text)
        if import_id is None:
            note.details["reason"] = "malformed_id"
            raise OutOfReach
        note.target = Target(TargetKind.TRAINING_IMPORT, text)
        try:
            record = await request.app[HUB].continuing_education.import_of(import_id)
        except ImportNotFound:
            note.details["reason"] = "unknown_import"
            raise OutOfReach from None
    return web.json_response(import_document(record, None), headers=NO_STORE)


# ---------------------------------------------------------------- who reaches a filing


def _sees(caller: Caller, filing: Filing) -> bool:
    """Operators and auditors see every filing; a supervisor those filed with or by their unit."""
    scope = caller.scope
    if scope is None:
        return True
    if scope.kind is ScopeKind.DEPARTMENT:
        return filing.department_code == scope.code
    return filing.form.unit_code == scope.code


def within_reach(query: FilingQuery, caller: Caller) -> FilingQuery:
    """The query narrowed to the filings the caller sees: a department's supervisor those filed with
    it, an institution's its own; operators and auditors every one."""
    scope = caller.scope
    if scope is None:
        return query
    unit_or_department = "unit_code" if scope.kind is ScopeKind.INSTITUTION else "department_code"
    return FilingQuery(listing=query.listing, status=query.status, **{unit_or_department: scope.code})


def decides(caller: Caller, filing: Filing) -> bool:
    """Only a supervisor of the department the filing was filed with decides it."""
    scope = caller.scope
    return (
        caller.role is Role.SUPERVISOR
        and scope is not None
        and scope.kind is ScopeKind.DEPARTMENT
        and scope.code == filing.department_code
    )


def _uploads(caller: Caller, filing: Filing) -> bool:
    """An operator, or the supervisor of the applying institution, uploads its attendance."""
    scope = caller.scope
    if caller.role is Role.OPERATOR:
        return True
    return (
        caller.role is Role.SUPERVISOR
        and scope is not None
        and scope.kind is ScopeKind.INSTITUTION
        and scope.code == filing.form.unit_code
    )


async def filing_in_reach(
    request: web.Request, caller: Caller, note: AuditNote, reaches: Callable[[Caller, Filing], bool]
) -> Filing:
    """The filing the path names, if ``reaches(caller, filing)``; ``OutOfReach`` alike for the rest."""
    number = request.match_info["number"]
    if filing_id_of(number) is None:
        note.details["reason"] = "malformed_number"
        raise OutOfReach
    note.target = Target(TargetKind.OFFLINE_TRAINING, number)
    try:
        filing = await request.app[HUB].offline_trainings.filing(number)
    except FilingNotFound:
        note.details["reason"] = "unknown_filing"
        raise OutOfReach from None
    if not reaches(caller, filing):
        note.details["reason"] = "outside_scope"
        raise OutOfReach
    return filing


# ---------------------------------------------------------------- answers


async def _filing_document(
    request: web.Request, filing: Filing, organisation: Organisation, *, imports: bool = True
) -> dict[str, object]:
    """A filing as answered: its contact's phone and its e-mail masked."""
    form = filing.form
    unit = organisation.institutions.get(form.unit_code)
    department = organisation.departments.get(filing.department_code)
    rules = request.app[HUB].ledger.rules_for(form.year)
    document: dict[str, object] = {
        "number": filing.number,
        "status": filing.status.value,
        "unit": {"code": form.unit_code, "name": None if unit is None else unit.name},
        "department": {"code": filing.department_code, "name": None if department is None else department.name},
        "subject": form.subject.value,
        "organiser": form.organiser,
        "organiser_address": form.organiser_address,
        "postcode": form.postcode,
        "email_masked": mask_email(form.email),
        "responsible_person": form.responsible_person,
        "contact_name": form.contact_name,
        "contact_title": form.contact_title,
        "contact_phone_masked": mask_phone(form.contact_phone),
        "training_name": form.training_name,
        "starts_on": form.starts_on.isoformat(),
        "ends_on": form.ends_on.isoformat(),
        "days": form.days,
        "hours_max": format_hours(filing.hours_max(rules)),
        "place": form.place,
        "scope": form.scope,
        "head_count": form.head_count,
        "plan": form.plan,
        "filed_at": instant(filing.filed_at),
        "filed_by": filing.filed_by,
        "decided_at": None if filing.decided_at is None else instant(filing.decided_at),
        "decided_by": filing.decided_by,
        "reason": filing.reason,
        "evidence_hash": filing.evidence_hash,
    }
    if imports:
        records = await request.app[HUB].offline_trainings.imports_of(filing)
        document["attendance_imports"] = [import_document(record, filing.number) for record in records]
    return document


def actor_of(caller: Caller) -> str:
    """How the ledger and the filings name who acted: ``operator:7``."""
    return f"{caller.role.value}:{caller.token_id}"


def instant(moment: datetime) -> str:
    return moment.isoformat()


def import_document(
    record: ImportRecord, training_number: str | None, rows: Sequence[ImportedRow] | None = None
) -> dict[str, object]:
    """An import as answered; with ``rows``, each line of its file and what became of it, ID numbers masked."""
    document: dict[str, object] = {
        "id": record.id,
        "source": record.source.value,
        "offline_training": training_number,
        "file_sha256": record.file_sha256,
        "file_format": record.file_format.value,
        "rows": record.rows,
        "appended": record.appended,
        "duplicates": record.duplicates,
        "imported_at": instant(record.imported_at),
        "imported_by": record.imported_by,
    }
    if rows is not None:
        document["lines"] = [
            {
                "line": row.line,
                "person_id": row.person_id,
                "id_number_masked": row.id_number_masked,
                "subject": row.subject.value,
                "hours": format_hours(row.hours),
                "record_id": row.record_id,
                "outcome": row.outcome.value,
            }
            for row in rows
        ]
    return document


# ---------------------------------------------------------------- the OpenAPI description

_DECIDERS: Final = "Only a supervisor of the department the filing was filed with; anyone else gets 404. Audited."
_REFUSED_FILE: Final = problem_answer(
    "The file is unreadable or has bad lines (errors names each); nothing was counted"
)
_UNAUTHENTICATED: Final = unauthenticated(
    SecurityScheme.BEARER, "No valid bearer token: WWW-Authenticate names the Bearer challenge"
)
_NOT_FOUND: Final = problem_answer("Nothing here for this caller: outside their role or scope, or no such filing")
_INVALID: Final = problem_answer("Invalid input: errors lists every field at fault")
_NUMBER: Final = {
    "name": "number",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^XXPX-[0-9]{4}-[0-9]{6,9}$"},
    "description": "The filing number, e.g. XXPX-2021-000001",
}
_DAY: Final = {"type": "string", "format": "date"}
INSTANT_SCHEMA: Final = {"type": "string", "format": "date-time"}
HOURS_SCHEMA: Final = {"type": "string", "pattern": "^[0-9]+\\.[0-9]{2}$"}
IMPORT_SCHEMA: Final = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "source": {"type": "string", "enum": ["offline", "continuing_ed"]},
        "offline_training": {"type": ["string", "null"], "description": "The filing number, for attendance"},
        "file_sha256": {"type": "string"},
        "file_format": {"type": "string", "enum": [file_format.value for file_format in FileFormat]},
        "rows": {"type": "integer"},
        "appended": {"type": "integer", "description": "Lines counted by this import"},
        "duplicates": {"type": "integer", "description": "Lines an earlier import counted already: unchanged"},
        "imported_at": INSTANT_SCHEMA,
        "imported_by": {"type": "string"},
        "lines": {
            "type": "array",
            "description": "In the answer to an upload only: each line of the file and what became of it",
            "items": {
                "type": "object",
                "properties": {
                    "line": {"type": "integer"},
                    "person_id": {"type": "string"},
                    "id_number_masked": {"type": "string"},
                    "subject": {"type": "string", "enum": ["public", "professional"]},
                    "hours": HOURS_SCHEMA,
                    "record_id": {"type": "string", "description": "The ledger's record id of the line"},
                    "outcome": {"type": "string", "enum": [outcome.value for outcome in RowOutcome]},
                },
            },
        },
    },
}
UPLOAD_BODY: Final = {
    "required": True,
    "description": (
        f"The file, at most {UPLOAD_BYTES_MAX} bytes and {ROWS_MAX} lines: as the raw body (any media type; the "
        "format is told by the bytes), or as the part named `file` of a multipart/form-data form"
    ),
    "content": {
        "text/csv": {"schema": {"type": "string"}},
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
            "schema": {"type": "string", "contentMediaType": "application/octet-stream"}
        },
        "multipart/form-data": {
            "schema": {"type": "object", "required": ["file"], "properties": {"file": {"type": "string"}}}
        },
    },
}
_FORM_PROPERTIES: Final[dict[str, object]] = {
    "unit_code": {"type": "string", "description": "The applying institution (optional for its own supervisor)"},
    "subject": {"type": "string", "enum": ["public", "professional"]},
    **{
        name: {"type": "string", "minLength": 1, "maxLength": limit, "description": description}
        for (name, limit), description in zip(
            TEXT_FIELDS.items(),
            (
                "The training institution (培训机构)",
                "Its address",
                "The responsible person (负责人)",
                "The contact (联系人)",
                "The contact's title (职务)",
                "The training's name: the course title of its credits",
                "Where it takes place",
                "Who it is for (培训范围)",
                "The training plan (培训计划)",
            ),
            strict=True,
        )
    },
    "postcode": {"type": "string", "pattern": "^[0-9]{6}$"},
    "email": {"type": "string", "format": "email"},
    "contact_phone": {"type": "string", "description": "A mobile number or a landline such as 0731-84567890"},
    "starts_on": {**_DAY, "description": "The first day"},
    "ends_on": {
        **_DAY,
        "description": "The last day: in the year of starts_on, at most 30 days after it; its hours are completed "
        "at the end of this day, Beijing time",
    },
    "head_count": {"type": "integer", "minimum": 1, "maximum": 1000},
}
_MASKED_OR_NESTED: Final = frozenset({"unit_code", "email", "contact_phone"})
_FILING: Final = {
    "type": "object",
    "properties": {
        "number": {"type": "string"},
        "status": {"type": "string", "enum": [status.value for status in FilingStatus]},
        "unit": {"type": "object", "properties": {"code": {"type": "string"}, "name": {"type": ["string", "null"]}}},
        "department": {
            "type": "object",
            "description": "Where it was filed: the unit's competent department (professional) or the personnel "
            "department of the unit's region (public)",
            "properties": {"code": {"type": "string"}, "name": {"type": ["string", "null"]}},
        },
        **{
            name: schema
            for name, schema in _FORM_PROPERTIES.items()
            if name not in {"unit_code", "email", "contact_phone"}
        },
        "email_masked": {"type": "string"},
        "contact_phone_masked": {"type": "string"},
        "days": {"type": "integer"},
        "hours_max": {**HOURS_SCHEMA, "description": "The most hours one person can earn: days × hours_per_day"},
        "filed_at": INSTANT_SCHEMA,
        "filed_by": {"type": "string", "description": "operator:<token id>, supervisor:<token id> or command_line"},
        "decided_at": {**INSTANT_SCHEMA, "type": ["string", "null"]},
        "decided_by": {"type": ["string", "null"]},
        "reason": {"type": ["string", "null"], "description": "Why it was rejected"},
        "evidence_hash": {
            "type": ["string", "null"],
            "description": "SHA-256 of the approved filing: the payload hash of every credit of its attendance",
        },
        "attendance_imports": {"type": "array", "items": IMPORT_SCHEMA},
    },
}


_FILING_BODY: Final = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "additionalProperties": False,
                "required": [name for name in FILING_FIELDS if name != "unit_code"],
                "properties": _FORM_PROPERTIES,
            }
        }
    },
}

openapi_paths: dict[str, object] = {
    "/api/v1/offline-trainings": {
        "post": {
            "summary": "File an offline training (线下培训备案表)",
            "description": (
                "An operator for any institution, or a supervisor of an institution for that institution. A "
                "professional training is filed with the institution's competent department, a public one with "
                "the personnel department of its region. Every field is required; a 422 lists every one at fault. "
                "Audited."
            ),
            "operationId": "fileOfflineTraining",
            "requestBody": _FILING_BODY,
            "responses": {
                "201": json_answer("Filed; Location names it", _FILING),
                "401": _UNAUTHENTICATED,
                "404": _NOT_FOUND,
                "413": problem_answer("The body is too large"),
                "422": _INVALID,
            },
        },
        "get": {
            "summary": "Offline trainings, newest first",
            "description": (
                "Operators and auditors: every filing. A department's supervisor: those filed with the department. "
                "An institution's supervisor: the institution's own. Audited."
            ),
            "operationId": "listOfflineTrainings",
            "parameters": [
                {
                    "name": "status",
                    "in": "query",
                    "schema": {"type": "string", "enum": [s.value for s in FilingStatus]},
                },
                *page_parameters(PAGE_SIZE_MAX),
            ],
            "responses": {
                "200": page_answer("A page of filings; next_cursor is null on the last page", _FILING),
                "401": _UNAUTHENTICATED,
                "404": _NOT_FOUND,
                "422": _INVALID,
            },
        },
    },
    "/api/v1/offline-trainings/{number}": {
        "get": {
            "summary": "An offline training, with its attendance imports",
            "description": "As the listing says who sees what. Audited.",
            "operationId": "readOfflineTraining",
            "parameters": [_NUMBER],
            "responses": {"200": json_answer("The filing", _FILING), "401": _UNAUTHENTICATED, "404": _NOT_FOUND},
        }
    },
    "/api/v1/offline-trainings/{number}/approval": {
        "post": {
            "summary": "Approve a filing",
            "description": _DECIDERS,
            "operationId": "approveOfflineTraining",
            "parameters": [_NUMBER],
            "responses": {
                "200": json_answer("Approved", _FILING),
                "401": _UNAUTHENTICATED,
                "404": _NOT_FOUND,
                "409": problem_answer("The filing was approved or rejected already"),
            },
        }
    },
    "/api/v1/offline-trainings/{number}/rejection": {
        "post": {
            "summary": "Reject a filing, with a reason",
            "description": _DECIDERS,
            "operationId": "rejectOfflineTraining",
            "parameters": [_NUMBER],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["reason"],
                            "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 500}},
                        }
                    }
                },
            },
            "responses": {
                "200": json_answer("Rejected", _FILING),
                "401": _UNAUTHENTICATED,
                "404": _NOT_FOUND,
                "409": problem_answer("The filing was approved or rejected already"),
                "422": _INVALID,
            },
        }
    },
    "/api/v1/offline-trainings/{number}/attendance": {
        "post": {
            "summary": "Upload the attendance of an approved training: every line counted, or none",
            "description": (
                "An operator, or the supervisor of the applying institution (who credits its own staff only). The "
                "file: a CSV in UTF-8 (with or without BOM) or GB18030, or an .xlsx sheet, with a header line "
                "身份证号,姓名 and 学时 (hours) or 天数 (days; a day counts the year's hours_per_day), one line per "
                "person, at most the filing's head count and 1000 lines. Each person's credit (source offline, "
                "record id <number>/<person id>, course code the filing number, course title the training's name) "
                "is counted once: uploading the same file again adds nothing (every line a duplicate); a file that "
                "gives someone already counted other hours is refused whole, naming the line. A file with any bad "
                "line imports nothing, and the 422 names every bad line (`line 4: id_number`) with its reason: an "
                "unknown ID number or a bad check digit, a name that is not the registered person's, hours that "
                "are not a positive number with at most two decimals or are more than the training's days allow, "
                "the same person twice. Accepted from the training's last day on. Audited."
            ),
            "operationId": "uploadOfflineAttendance",
            "parameters": [_NUMBER],
            "requestBody": UPLOAD_BODY,
            "responses": {
                "201": json_answer("Counted: each line and what became of it", IMPORT_SCHEMA),
                "401": _UNAUTHENTICATED,
                "404": _NOT_FOUND,
                "409": problem_answer("The filing is not approved, or its training is not over yet"),
                "413": problem_answer(f"The file is over {UPLOAD_BYTES_MAX} bytes"),
                "422": problem_answer(
                    "The file is unreadable, or has bad lines: errors names each; nothing was counted"
                ),
            },
        }
    },
    "/api/v1/continuing-education/imports": {
        "post": {
            "summary": "Import recognised continuing-education hours: every line counted, or none",
            "description": (
                "Operators only. The file: a CSV in UTF-8 (with or without BOM) or GB18030, or an .xlsx sheet, "
                "with the header line 身份证号,姓名,项目名称,学时,完成日期,科目 (or id_number, name, project, hours, "
                "completed_on, subject), at most 1000 lines. 科目 is optional, as a column and in each line: 公共 "
                "(public) or 专业 (professional, the default). 完成日期 is YYYY-MM-DD (or YYYY/M/D), not after today, "
                f"in a year with rules; 学时 a positive decimal with at most two places; 项目名称 at most "
                f"{PROJECT_CHARACTERS_MAX} characters. Each line is a credit of source continuing_ed, course code and "
                "title the project, completed at the end of its day (Beijing time), its record id derived from the "
                "person, the project and the day: importing a file again adds nothing, and a file that gives a "
                "counted record other hours or another subject is refused whole. Any bad line (an unknown ID "
                "number, a bad check digit, a name that is not the registered person's, bad hours or day, the same "
                "record twice) imports nothing; the 422 names every bad line. Audited."
            ),
            "operationId": "importContinuingEducation",
            "requestBody": UPLOAD_BODY,
            "responses": {
                "201": json_answer("Counted; Location names the import", IMPORT_SCHEMA),
                "401": _UNAUTHENTICATED,
                "404": _NOT_FOUND,
                "413": problem_answer(f"The file is over {UPLOAD_BYTES_MAX} bytes"),
                "422": problem_answer(
                    "The file is unreadable, or has bad lines: errors names each; nothing was counted"
                ),
            },
        },
        "get": {
            "summary": "Continuing-education imports, newest first",
            "description": "Operators and auditors. Audited.",
            "operationId": "listContinuingEducationImports",
            "parameters": [
                *page_parameters(PAGE_SIZE_MAX),
            ],
            "responses": {
                "200": page_answer("A page of imports; next_cursor is null on the last page", IMPORT_SCHEMA),
                "401": _UNAUTHENTICATED,
                "404": _NOT_FOUND,
                "422": _INVALID,
            },
        },
    },
    "/api/v1/continuing-education/imports/{import_id}": {
        "get": {
            "summary": "A continuing-education import",
            "description": "Operators and auditors. Audited.",
            "operationId": "readContinuingEducationImport",
            "parameters": [{"name": "import_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": {"200": json_answer("The import", IMPORT_SCHEMA), "401": _UNAUTHENTICATED, "404": _NOT_FOUND},
        }
    },
}
