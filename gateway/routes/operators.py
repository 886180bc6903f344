"""Operators, auditors and supervisors: people's accounts and the audit log; a password-reset link's
use; and for staff, the download of everything the hub holds about them.

Every call with a bearer token is audited: exactly one entry, whatever the outcome. A person outside
the caller's role or scope and a person who does not exist get the same 404. ID numbers, phone
numbers and e-mail addresses are masked in every answer but the person's own download.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Final

import structlog
from aiohttp import hdrs, web

from gateway.bearer import AuditNote, Caller, audited, authenticate_caller
from gateway.bodies import json_object
from gateway.bootstrap import Hub
from gateway.keys import HUB
from gateway.openapi import SecurityScheme, json_answer, page_answer, page_parameters, problem_answer, unauthenticated
from gateway.parameters import year_parameter
from gateway.routes.feedback import feedback_document
from gateway.sessions import signed_in_person
from ledger.errors import FieldError
from ledger.model import Balance, Entry, PersonId, format_hours
from sso.access.errors import InvalidAccessRequest, OutOfReach
from sso.access.model import (
    AuditAction,
    AuditEntry,
    Role,
    Target,
    TargetKind,
    mask_email,
    mask_phone,
    parse_audit_query,
)
from sso.certificates.service import HistoryItem
from sso.handoff.model import ConsentRecord, VendorAccount
from sso.messages.model import Message
from sso.people.errors import PersonNotFound
from sso.people.model import Person, SessionSummary, check_new_password

JSON_BODY_BYTES_MAX: Final = 16 * 1024
TEXT_FIELD_CHARACTERS_MAX: Final = 100
NO_STORE: Final = {hdrs.CACHE_CONTROL: "no-store"}
READERS: Final = (Role.OPERATOR, Role.SUPERVISOR, Role.AUDITOR)
_PERSON_ID: Final = re.compile(r"[0-9a-f]{32}", re.ASCII)

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()


# ---------------------------------------------------------------- people


@routes.post("/api/v1/people")
async def register_person(request: web.Request) -> web.Response:
    caller = await authenticate_caller(request)
    async with audited(request, caller, AuditAction.PERSON_REGISTERED) as note:
        caller.require(Role.OPERATOR)
        form = await json_object(request, JSON_BODY_BYTES_MAX, InvalidAccessRequest)
        person_id = await request.app[HUB].people.register(form)
        note.target = Target.person(person_id)
        note.details["unit_code"] = str(form.get("unit_code"))
    return web.json_response({"id": person_id}, status=201, headers={hdrs.LOCATION: f"/api/v1/people/{person_id}"})


@routes.get("/api/v1/people/{person_id}")
async def read_person(request: web.Request) -> web.Response:
    caller = await authenticate_caller(request)
    async with audited(request, caller, AuditAction.PERSON_READ) as note:
        caller.require(*READERS)
        person = await person_in_reach(request, caller, note)
        document = await _person_document(request, person)
    return web.json_response(document, headers=NO_STORE)


@routes.get("/api/v1/people/{person_id}/ledger")
async def read_person_ledger(request: web.Request) -> web.Response:
    caller = await authenticate_caller(request)
    async with audited(request, caller, AuditAction.PERSON_LEDGER_READ) as note:
        caller.require(*READERS)
        person = await person_in_reach(request, caller, note)
        year = year_parameter(request.query.get("year"))
        note.details["year"] = year
        ledger = request.app[HUB].ledger
        balance = await ledger.balance(person.id, year)
        entries = await ledger.entries_of(person.id, year)
    document = {
        "person_id": person.id,
        "year": year,
        "balance": _balance_document(balance),
        "entries": [_entry_document(entry) for entry in entries],
    }
    return web.json_response(document, headers=NO_STORE)


@routes.post("/api/v1/people/{person_id}/password-reset")
async def issue_password_reset(request: web.Request) -> web.Response:
    caller = await authenticate_caller(request)
    async with audited(request, caller, AuditAction.PASSWORD_RESET_ISSUED) as note:
        caller.require(Role.OPERATOR)
        person = await person_in_reach(request, caller, note)
        issued = await request.app[HUB].access.reset_links.issue(person.id, issued_by=caller.token_id)
    base_url = request.app[HUB].settings.hub.base_url
    document = {
        "url": f"{base_url}/password-reset#token={issued.secret}",
        "token": issued.secret,
        "expires_at": _instant(issued.expires_at),
    }
    return web.json_response(document, status=201, headers=NO_STORE)


@routes.post("/api/v1/people/{person_id}/transfer")
async def transfer_person(request: web.Request) -> web.Response:
    caller = await authenticate_caller(request)
    async with audited(request, caller, AuditAction.PERSON_TRANSFERRED) as note:
        caller.require(Role.OPERATOR)
        person = await person_in_reach(request, caller, note)
        note.details["from_unit"] = person.unit_code
        unit_code = _text_field(await json_object(request, JSON_BODY_BYTES_MAX, InvalidAccessRequest), "unit_code")
        moved = await request.app[HUB].people.change_unit(person.id, unit_code)
        # Only once it proved to be an institution's code: before, it could be any text, personal data too.
        note.details["to_unit"] = moved.unit_code
        document = await _person_document(request, moved)
    return web.json_response(document, headers=NO_STORE)


@routes.post("/api/v1/people/{person_id}/id-number")
async def correct_id_number(request: web.Request) -> web.Response:
    caller = await authenticate_caller(request)
    async with audited(request, caller, AuditAction.ID_NUMBER_CORRECTED) as note:
        caller.require(Role.OPERATOR)
        person = await person_in_reach(request, caller, note)
        id_number = _text_field(await json_object(request, JSON_BODY_BYTES_MAX, InvalidAccessRequest), "id_number")
        corrected = await request.app[HUB].people.correct_id_number(person.id, id_number)
        # Only that it changed: neither number ever reaches the audit log.
        note.details["changed"] = corrected.id_number != person.id_number
        document = await _person_document(request, corrected)
    return web.json_response(document, headers=NO_STORE)


@routes.post("/api/v1/people/{person_id}/deactivation")
async def deactivate_person(request: web.Request) -> web.Response:
    caller = await authenticate_caller(request)
    async with audited(request, caller, AuditAction.PERSON_DEACTIVATED) as note:
        caller.require(Role.OPERATOR)
        person = await person_in_reach(request, caller, note)
        note.details["already_inactive"] = not person.active
        deactivated = await request.app[HUB].people.deactivate(person.id)
        document = await _person_document(request, deactivated)
    return web.json_response(document, headers=NO_STORE)


async def person_in_reach(request: web.Request, caller: Caller, note: AuditNote) -> Person:
    """The person the path names, if the caller may act on them; ``OutOfReach`` alike for the rest."""
    person_id = request.match_info["person_id"]
    if _PERSON_ID.fullmatch(person_id) is None:
        note.details["reason"] = "malformed_person_id"
        raise OutOfReach
    note.target = Target.person(person_id)
    try:
        person = await request.app[HUB].people.get(person_id)
    except PersonNotFound:
        note.details["reason"] = "unknown_person"
        raise OutOfReach from None
    if not caller.oversees(person.unit_code):
        note.details["reason"] = "outside_scope"
        raise OutOfReach
    return person


async def _person_document(request: web.Request, person: Person) -> dict[str, object]:
    """A person as operators, auditors and supervisors see them: ID number, phone and e-mail masked."""
    unit = await request.app[HUB].organisation.institution(person.unit_code)
    return {
        "id": person.id,
        "name": person.name,
        "id_number_masked": person.masked_id_number,
        "gender": person.gender.value,
        "ethnicity": person.ethnicity,
        "phone_masked": mask_phone(person.phone),
        "email_masked": mask_email(person.email),
        "native_place": person.native_place,
        "education": person.education.value,
        "major": person.major,
        "school": person.school,
        "graduated_on": person.graduated_on.isoformat(),
        "unit": {"code": unit.code, "name": unit.name},
        "title": person.title,
        "title_since": None if person.title_since is None else person.title_since.isoformat(),
        "created_at": _instant(person.created_at),
        "active": person.active,
        "deactivated_at": None if person.deactivated_at is None else _instant(person.deactivated_at),
    }


def _balance_document(balance: Balance) -> dict[str, str]:
    return {
        "total": format_hours(balance.total),
        "public": format_hours(balance.public),
        "professional": format_hours(balance.professional),
    }


def _entry_document(entry: Entry) -> dict[str, object]:
    return {
        "seq": entry.seq,
        "kind": entry.kind.value,
        "source": entry.source.value,
        "record_id": entry.record_id,
        "course": {"id": entry.course_code, "title": entry.course_title},
        "subject": entry.subject.value,
        "hours": format_hours(entry.hours),
        "completed_at": _instant(entry.completed_at),
        "recorded_at": _instant(entry.recorded_at),
        "reverses_seq": entry.reverses_seq,
        "reason": entry.reason,
    }


# ---------------------------------------------------------------- a reset link's use (public)


@routes.post("/api/v1/password-reset")
async def use_password_reset(request: web.Request) -> web.Response:
    form = await json_object(request, JSON_BODY_BYTES_MAX, InvalidAccessRequest)
    token = form.get("token")
    new_password, errors = check_new_password(form.get("new_password"))
    if form.get("new_password_confirm") != form.get("new_password"):
        errors.append(FieldError("new_password_confirm", "must equal new_password"))
    if not isinstance(token, str) or not token:
        errors.insert(0, FieldError("token", "is required: the token of the reset link"))
    if errors or not isinstance(token, str):
        raise InvalidAccessRequest(errors)
    hub = request.app[HUB]
    person_id = await hub.access.reset_links.use(token)
    await hub.people.set_password(person_id, new_password)
    log.info("password_reset_used", person_id=person_id)
    return web.Response(status=204, headers=NO_STORE)


# ---------------------------------------------------------------- for staff: everything about them


@routes.get("/api/v1/me/data")
async def my_data(request: web.Request) -> web.Response:
    person_id = await signed_in_person(request)
    hub = request.app[HUB]
    person = await hub.people.get(person_id)
    document = {
        "format": "training-hours-hub/personal-data",
        "generated_at": _instant(datetime.now(UTC)),
        "person": {**await _person_document(request, person), **_unmasked(person)},
        "consents": [_consent_document(record) for record in await hub.handoff.consent_records(person_id)],
        "vendor_accounts": [
            _vendor_account_document(account) for account in await hub.handoff.vendor_accounts(person_id)
        ],
        "sessions": [_session_document(session) for session in await hub.people.sessions_of(person_id)],
        "password_reset_links": [
            {
                "created_at": _instant(link.created_at),
                "expires_at": _instant(link.expires_at),
                "used_at": None if link.used_at is None else _instant(link.used_at),
            }
            for link in await hub.access.reset_links.of(person_id)
        ],
        "ledger": [await _ledger_year(hub, person_id, year) for year in sorted(hub.settings.rules)],
        "certificates": [_held_certificate_document(item) for item in await hub.certificates.history(person_id)],
        "messages": [_held_message_document(message) for message in await hub.messages.all_of(person_id)],
        "feedback": [feedback_document(feedback) for feedback in await hub.supervision.feedback.all_of(person_id)],
    }
    log.info("personal_data_downloaded", person_id=person_id)
    headers = {**NO_STORE, hdrs.CONTENT_DISPOSITION: 'attachment; filename="my-data.json"'}
    return web.json_response(document, headers=headers, dumps=_readable_json)


def _unmasked(person: Person) -> dict[str, object]:
    """What only the person sees of themselves, in place of the masked values."""
    return {"id_number": person.id_number, "phone": person.phone, "email": person.email}


def _consent_document(record: ConsentRecord) -> dict[str, object]:
    consent = record.consent
    return {
        "vendor": consent.vendor.value,
        "fields": [field.value for field in consent.fields],
        "given_at": _instant(consent.given_at),
        "withdrawn_at": None if record.withdrawn_at is None else _instant(record.withdrawn_at),
    }


def _vendor_account_document(account: VendorAccount) -> dict[str, object]:
    return {
        "vendor": account.vendor.value,
        "subject": account.subject,
        "linked_at": _instant(account.linked_at),
        "account_id": account.account_id,
    }


def _session_document(session: SessionSummary) -> dict[str, object]:
    # Times only: the token and its hash stay out of the download.
    return {
        "opened_at": _instant(session.opened_at),
        "last_seen_at": _instant(session.last_seen_at),
        "expires_at": _instant(session.expires_at),
    }


async def _ledger_year(hub: Hub, person_id: PersonId, year: int) -> dict[str, object]:
    balance = await hub.ledger.balance(person_id, year)
    return {
        "year": year,
        "balance": _balance_document(balance),
        "entries": [_entry_document(entry) for entry in await hub.ledger.entries_of(person_id, year)],
    }


def _held_certificate_document(item: HistoryItem) -> dict[str, object]:
    certificate = item.certificate
    return {
        "certificate_no": certificate.number,
        "year": certificate.year,
        "name": certificate.name,
        "unit_name": certificate.unit_name,
        "hours": certificate.facts.hours(),
        "basis": certificate.basis.value,
        "status": certificate.status.value,
        "issued_at": _instant(certificate.facts.issued_at),
        "revoked_at": None if certificate.revoked_at is None else _instant(certificate.revoked_at),
        "revoked_reason": certificate.revoked_reason,
        "downloads": item.download_count,
    }


def _held_message_document(message: Message) -> dict[str, object]:
    return {
        "kind": message.kind.value,
        "title": message.title,
        "body": message.body,
        "link": message.link,
        "created_at": _instant(message.created_at),
        "read_at": None if message.read_at is None else _instant(message.read_at),
    }


def _readable_json(document: object) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2)


# ---------------------------------------------------------------- the audit log


@routes.get("/api/v1/audit-log")
async def read_audit_log(request: web.Request) -> web.Response:
    caller = await authenticate_caller(request)
    async with audited(request, caller, AuditAction.AUDIT_LOG_READ, Target(TargetKind.AUDIT_LOG, "all")) as note:
        caller.require(Role.AUDITOR)
        query = parse_audit_query(request.query)
        page = await request.app[HUB].access.audit.page(query)
        note.details.update(
            action=None if query.action is None else query.action.value,
            actor=query.actor,
            since=None if query.since is None else _instant(query.since),
            until=None if query.until is None else _instant(query.until),
            entries=len(page.entries),
        )
    document = {"items": [_audit_document(entry) for entry in page.entries], "next_cursor": page.next_cursor}
    return web.json_response(document, headers=NO_STORE)


def _audit_document(entry: AuditEntry) -> dict[str, object]:
    target = entry.target
    return {
        "id": entry.id,
        "occurred_at": _instant(entry.occurred_at),
        "actor": {"kind": entry.actor.kind.value, "token_id": entry.actor.token_id},
        "action": entry.action.value,
        "outcome": entry.outcome.value,
        "target": None if target is None else {"kind": target.kind.value, "id": target.id},
        "details": dict(entry.details),
    }


# ---------------------------------------------------------------- input


def _text_field(form: dict[str, object], name: str) -> str:
    """The one text field a request holds; refuses it missing, too long, or beside other fields."""
    errors = [
        FieldError(other[:TEXT_FIELD_CHARACTERS_MAX], "is not a field of this request")
        for other in form
        if other != name
    ]
    value = form.get(name)
    if not isinstance(value, str) or not 0 < len(value) <= TEXT_FIELD_CHARACTERS_MAX:
        errors.insert(0, FieldError(name, f"is required text of at most {TEXT_FIELD_CHARACTERS_MAX} characters"))
    if errors or not isinstance(value, str):
        raise InvalidAccessRequest(errors)
    return value


def _instant(moment: datetime) -> str:
    return moment.isoformat()


# ---------------------------------------------------------------- the OpenAPI description

_BEARER: Final = (
    "Needs `Authorization: Bearer <token>` (`hub tokens create`). Outside the caller's role or scope, "
    "and for a person who does not exist, the answer is the same 404. Audited."
)
_UNAUTHENTICATED: Final = unauthenticated(
    SecurityScheme.BEARER, "No valid bearer token: WWW-Authenticate names the Bearer challenge"
)
_NOT_FOUND: Final = problem_answer("Nothing here for this caller: outside their role or scope, or no such person")
_INVALID: Final = problem_answer("Invalid input: errors lists every field at fault")
_PERSON_ID_PARAMETER: Final = {
    "name": "person_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
}
_NULLABLE_TEXT: Final = {"type": ["string", "null"]}
_INSTANT: Final = {"type": "string", "format": "date-time"}
_PERSON: Final = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "id_number_masked": {"type": "string", "description": "The first 6 and last 4 characters: 430102********123X"},
        "gender": {"type": "string", "enum": ["男", "女"]},
        "ethnicity": _NULLABLE_TEXT,
        "phone_masked": {"type": "string", "description": "The first 3 and last 4 digits: 138****5678"},
        "email_masked": {"type": "string", "description": "The first character and the domain: z***@example.com"},
        "native_place": {"type": "string"},
        "education": {"type": "string"},
        "major": {"type": "string"},
        "school": {"type": "string"},
        "graduated_on": {"type": "string", "format": "date"},
        "unit": {"type": "object", "properties": {"code": {"type": "string"}, "name": {"type": "string"}}},
        "title": {"type": "string"},
        "title_since": {"type": ["string", "null"], "format": "date"},
        "created_at": _INSTANT,
        "active": {"type": "boolean"},
        "deactivated_at": {"type": ["string", "null"], "format": "date-time"},
    },
}
_HOURS: Final = {"type": "string", "pattern": "^[0-9]+\\.[0-9]{2}$"}


def _json_body(properties: dict[str, object], required: list[str]) -> dict[str, object]:
    schema = {"type": "object", "additionalProperties": False, "required": required, "properties": properties}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _person_operation(summary: str, operation_id: str, body: dict[str, object] | None) -> dict[str, object]:
    operation: dict[str, object] = {
        "summary": summary,
        "description": f"Operators only. {_BEARER}",
        "operationId": operation_id,
        "parameters": [_PERSON_ID_PARAMETER],
        "responses": {
            "200": json_answer("The person as now stored", _PERSON),
            "401": _UNAUTHENTICATED,
            "404": _NOT_FOUND,
            "422": _INVALID,
        },
    }
    if body is not None:
        operation["requestBody"] = body
    return operation


openapi_paths: dict[str, object] = {
    "/api/v1/people": {
        "post": {
            "summary": "Register a person for them",
            "description": f"Operators only; the same fields and rules as POST /api/v1/register. {_BEARER}",
            "operationId": "registerPerson",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"type": "object", "description": "As /api/v1/register"}}},
            },
            "responses": {
                "201": json_answer("Registered; Location names the person", {"properties": {"id": {"type": "string"}}}),
                "401": _UNAUTHENTICATED,
                "404": _NOT_FOUND,
                "409": problem_answer("The fields are valid and the ID number is already registered"),
                "413": problem_answer("The body is too large"),
                "422": _INVALID,
            },
        }
    },
    "/api/v1/people/{person_id}": {
        "get": {
            "summary": "A person, masked",
            "description": f"Operators and auditors; supervisors within their scope. {_BEARER}",
            "operationId": "readPerson",
            "parameters": [_PERSON_ID_PARAMETER],
            "responses": {"200": json_answer("The person", _PERSON), "401": _UNAUTHENTICATED, "404": _NOT_FOUND},
        }
    },
    "/api/v1/people/{person_id}/ledger": {
        "get": {
            "summary": "A person's ledger entries and balance in one training year",
            "description": f"Operators and auditors; supervisors within their scope. {_BEARER}",
            "operationId": "readPersonLedger",
            "parameters": [
                _PERSON_ID_PARAMETER,
                {"name": "year", "in": "query", "required": True, "schema": {"type": "integer"}},
            ],
            "responses": {
                "200": json_answer(
                    "The entries in the order of the ledger, and the counted hours",
                    {
                        "type": "object",
                        "properties": {
                            "person_id": {"type": "string"},
                            "year": {"type": "integer"},
                            "balance": {
                                "type": "object",
                                "properties": {"total": _HOURS, "public": _HOURS, "professional": _HOURS},
                            },
                            "entries": {"type": "array", "items": {"type": "object"}},
                        },
                    },
                ),
                "401": _UNAUTHENTICATED,
                "404": _NOT_FOUND,
                "422": _INVALID,
            },
        }
    },
    "/api/v1/people/{person_id}/password-reset": {
        "post": {
            "summary": "A one-time password-reset link for the person",
            "description": f"Operators only. The link works once, for 24 hours. {_BEARER}",
            "operationId": "issuePasswordReset",
            "parameters": [_PERSON_ID_PARAMETER],
            "responses": {
                "201": json_answer(
                    "The link, its token and when it expires",
                    {"properties": {"url": {"type": "string"}, "token": {"type": "string"}, "expires_at": _INSTANT}},
                ),
                "401": _UNAUTHENTICATED,
                "404": _NOT_FOUND,
            },
        }
    },
    "/api/v1/people/{person_id}/transfer": {
        "post": _person_operation(
            "Transfer the person to another institution",
            "transferPerson",
            _json_body({"unit_code": {"type": "string", "maxLength": TEXT_FIELD_CHARACTERS_MAX}}, ["unit_code"]),
        )
    },
    "/api/v1/people/{person_id}/id-number": {
        "post": _person_operation(
            "Correct a mistyped ID number (the audit log records only that it changed)",
            "correctIdNumber",
            _json_body({"id_number": {"type": "string", "maxLength": TEXT_FIELD_CHARACTERS_MAX}}, ["id_number"]),
        )
    },
    "/api/v1/people/{person_id}/deactivation": {
        "post": _person_operation(
            "Deactivate the account: it cannot sign in and its sessions end", "deactivatePerson", None
        )
    },
    "/api/v1/password-reset": {
        "post": {
            "summary": "Set a new password with the token of a reset link (public)",
            "operationId": "usePasswordReset",
            "requestBody": _json_body(
                {
                    "token": {"type": "string"},
                    "new_password": {"type": "string"},
                    "new_password_confirm": {"type": "string"},
                },
                ["token", "new_password", "new_password_confirm"],
            ),
            "responses": {
                "204": {"description": "The password is set; every session of the person ended"},
                "410": problem_answer("The link is unknown, used or expired"),
                "422": _INVALID,
            },
        }
    },
    "/api/v1/me/data": {
        "get": {
            "summary": "Everything the hub holds about the signed-in person, as a JSON download",
            "description": (
                "Staff, with the session cookie: the profile unmasked, consents (withdrawn ones too), the "
                "accounts at vendors (the pairwise subject and the vendor's account id), live sessions (never "
                "their tokens), password-reset links (never their secrets), the ledger of every year with rules, the "
                "certificates (with how often each was downloaded), the messages, and the feedback the person sent "
                "with its answers."
            ),
            "operationId": "downloadMyData",
            "responses": {
                "200": json_answer(
                    "The download (Content-Disposition: attachment)",
                    {
                        "type": "object",
                        "properties": {
                            "format": {"type": "string"},
                            "generated_at": _INSTANT,
                            "person": {"type": "object"},
                            "consents": {"type": "array", "items": {"type": "object"}},
                            "vendor_accounts": {"type": "array", "items": {"type": "object"}},
                            "sessions": {"type": "array", "items": {"type": "object"}},
                            "password_reset_links": {"type": "array", "items": {"type": "object"}},
                            "ledger": {"type": "array", "items": {"type": "object"}},
                            "certificates": {"type": "array", "items": {"type": "object"}},
                            "messages": {"type": "array", "items": {"type": "object"}},
                            "feedback": {"type": "array", "items": {"type": "object"}},
                        },
                    },
                ),
                "401": unauthenticated(
                    SecurityScheme.SESSION, "No live session: WWW-Authenticate names the session challenge"
                ),
            },
        }
    },
    "/api/v1/audit-log": {
        "get": {
            "summary": "The audit log, newest first",
            "description": f"Auditors only. {_BEARER}",
            "operationId": "readAuditLog",
            "parameters": [
                {"name": "action", "in": "query", "schema": {"type": "string", "enum": [a.value for a in AuditAction]}},
                {"name": "actor", "in": "query", "schema": {"type": "integer"}, "description": "A token id"},
                {"name": "since", "in": "query", "schema": _INSTANT, "description": "Inclusive, with its offset"},
                {"name": "until", "in": "query", "schema": _INSTANT, "description": "Exclusive, with its offset"},
                *page_parameters(200),
            ],
            "responses": {
                "200": page_answer("A page of entries; next_cursor is null on the last page", {"type": "object"}),
                "401": _UNAUTHENTICATED,
                "404": _NOT_FOUND,
                "422": _INVALID,
            },
        }
    },
}
