"""Operators: the records the hub held, and their release or rejection.

``GET /api/v1/quarantine`` lists held records oldest first (``status=held`` by default: those still
waiting), by vendor and reason, with cursor paging: a conflicting version beside the ledger's stored
entry, an unknown learner's record, a malformed record with its reason; ID numbers and names
masked. ``POST /api/v1/quarantine/{id}/release`` takes one into the ledger (its vendor's adapter
translates it again: 422 while its learner is still unknown or it still cannot be read; a
conflicting version replaces the stored credit: a reversal and a new credit);
``POST /api/v1/quarantine/{id}/reject`` dismisses one with a ``reason``. A record is decided once
(409 after), and every call is audited. Auditors, supervisors and staff get 404; no credentials 401.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Final

from aiohttp import hdrs, web

from adapters.quarantine.errors import InvalidQuarantineRequest
from adapters.quarantine.model import (
    PAGE_SIZE_DEFAULT,
    REASON_CHARACTERS_MAX,
    VENDORS,
    parse_decision,
    parse_quarantine_query,
)
from adapters.quarantine.service import QuarantineItem
from gateway.bearer import AuditNote, Caller, audited, authenticate_caller
from gateway.bodies import read_at_most
from gateway.keys import HUB
from gateway.openapi import page_answer, page_parameters, problem_answer
from gateway.parameters import row_id
from ledger.errors import FieldError
from ledger.model import HELD_PAGE_SIZE_MAX, Entry, HeldId, HeldStatus, HoldReason, format_hours
from sso.access.errors import OutOfReach
from sso.access.model import AuditAction, Role, Target, TargetKind
from sso.id_numbers import mask_id_numbers_in

JSON_BODY_BYTES_MAX: Final = 4 * 1024
NO_STORE: Final = {hdrs.CACHE_CONTROL: "no-store"}

routes = web.RouteTableDef()


@routes.get("/api/v1/quarantine")
async def list_quarantine(request: web.Request) -> web.Response:
    caller = await authenticate_caller(request)
    async with audited(request, caller, AuditAction.QUARANTINE_READ) as note:
        caller.require(Role.OPERATOR)
        query = parse_quarantine_query(request.query.items())
        note.details.update(status=query.status.value, vendor=query.source, reason=query.reason)
        page = await request.app[HUB].quarantine.page(query)
    document = {"items": [_item_document(item) for item in page.items], "next_cursor": page.next_cursor}
    return web.json_response(document, headers=NO_STORE)


@routes.post("/api/v1/quarantine/{held_id}/release")
async def release_held_record(request: web.Request) -> web.Response:
    caller = await authenticate_caller(request)
    async with audited(request, caller, AuditAction.HELD_RECORD_RELEASED) as note:
        caller.require(Role.OPERATOR)
        held_id = _held_id(request, note)
        reason = parse_decision(await _json_body(request, empty_allowed=True), reason_required=False)
        item, outcome = await request.app[HUB].quarantine.release(held_id, actor=_actor(caller), reason=reason)
        note.details.update(vendor=item.held.record.source.value, outcome=outcome.kind.value)
    document = {**_item_document(item), "outcome": outcome.kind.value}
    return web.json_response(document, headers=NO_STORE)


@routes.post("/api/v1/quarantine/{held_id}/reject")
async def reject_held_record(request: web.Request) -> web.Response:
    caller = await authenticate_caller(request)
    async with audited(request, caller, AuditAction.HELD_RECORD_REJECTED) as note:
        caller.require(Role.OPERATOR)
        held_id = _held_id(request, note)
        reason = parse_decision(await _json_body(request, empty_allowed=False), reason_required=True)
        item = await request.app[HUB].quarantine.reject(held_id, actor=_actor(caller), reason=str(reason))
        note.details["vendor"] = item.held.record.source.value
    return web.json_response(_item_document(item), headers=NO_STORE)


def _held_id(request: web.Request, note: AuditNote) -> HeldId:
    text = request.match_info["held_id"]
    held_id = row_id(text)
    if held_id is None:
        note.details["reason"] = "malformed_held_id"
        raise OutOfReach
    note.target = Target(TargetKind.HELD_RECORD, text)
    return HeldId(held_id)


def _actor(caller: Caller) -> str:
    """The caller as the ledger names who decided: role and token id, never a name."""
    return f"{caller.role.value}:token:{caller.token_id}"


async def _json_body(request: web.Request, *, empty_allowed: bool) -> object:
    body = await read_at_most(request, JSON_BODY_BYTES_MAX)
    if body is None:
        raise web.HTTPRequestEntityTooLarge(max_size=JSON_BODY_BYTES_MAX, actual_size=request.content_length or 0)
    if not body.strip() and empty_allowed:
        return {}
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        # The parser's message may quote the body: say only what failed.
        raise InvalidQuarantineRequest([FieldError("body", "must be a JSON object in UTF-8")]) from None


def _item_document(item: QuarantineItem) -> dict[str, object]:
    held, record = item.held, item.held.record
    decision = held.decision
    return {
        "id": held.id,
        "vendor": record.source.value,
        "reason": record.reason,
        "record_id": mask_id_numbers_in(record.record_id),
        "kind": record.kind.value,
        "received_at": _instant(record.received_at),
        "detail": mask_id_numbers_in(record.detail),
        "status": HeldStatus.HELD.value if decision is None else decision.decision.value,
        "held": dict(item.view),
        "stored": None if item.stored is None else _entry_document(item.stored),
        "decision": None
        if decision is None
        else {
            "decision": decision.decision.value,
            "actor": decision.actor,
            "reason": decision.reason,
            "decided_at": _instant(decision.decided_at),
            "entry_seqs": list(decision.entry_seqs),
        },
    }


def _entry_document(entry: Entry) -> dict[str, object]:
    return {
        "seq": entry.seq,
        "kind": entry.kind.value,
        "person_id": entry.person_id,
        "course_code": entry.course_code,
        "course_title": entry.course_title,
        "subject": entry.subject.value,
        "hours": format_hours(entry.hours),
        "completed_at": _instant(entry.completed_at),
        "recorded_at": _instant(entry.recorded_at),
        "year": entry.year,
    }


def _instant(moment: datetime) -> str:
    return moment.isoformat()


# ---------------------------------------------------------------- the OpenAPI description

_DESCRIPTION: Final = (
    "Operators only. Needs `Authorization: Bearer <token>`; for auditors, supervisors and staff the answer is "
    "404. Every call is audited."
)
_INSTANT: Final = {"type": "string", "format": "date-time"}
_ENTRY: Final = {
    "type": ["object", "null"],
    "description": "For a conflicting version: the ledger's stored entry it conflicts with",
    "properties": {
        "seq": {"type": "integer"},
        "kind": {"type": "string"},
        "person_id": {"type": "string"},
        "course_code": {"type": "string"},
        "course_title": {"type": "string"},
        "subject": {"type": "string"},
        "hours": {"type": "string", "description": 'Two fractional digits: "3.50"'},
        "completed_at": _INSTANT,
        "recorded_at": _INSTANT,
        "year": {"type": "integer"},
    },
}
_ITEM: Final = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "vendor": {"type": "string", "enum": [vendor.value for vendor in VENDORS]},
        "reason": {"type": "string", "enum": [reason.value for reason in HoldReason]},
        "record_id": {"type": "string", "description": "The vendor's id of the record"},
        "kind": {"type": "string", "enum": ["credit", "reversal"]},
        "received_at": _INSTANT,
        "detail": {"type": "string", "description": "Why it is held: for a malformed record, the fields at fault"},
        "status": {"type": "string", "enum": [status.value for status in HeldStatus]},
        "held": {
            "type": "object",
            "description": (
                "The record as held. A conflicting version: person_id, course_code, course_title, subject, hours, "
                "completed_at, year (to compare with `stored`). An unknown learner: the vendor's fields, with the "
                "sub (ischinese, webtrn) or id_number_masked and learner_name_masked (hnou). A malformed record: "
                "its text (`item`, `line`) with anything shaped like an ID number masked"
            ),
        },
        "stored": _ENTRY,
        "decision": {
            "type": ["object", "null"],
            "properties": {
                "decision": {"type": "string", "enum": ["released", "rejected"]},
                "actor": {"type": "string", "description": "The operator's role and token id"},
                "reason": {"type": ["string", "null"]},
                "decided_at": _INSTANT,
                "entry_seqs": {
                    "type": "array",
                    "items": {"type": "integer"},
                    "description": "The ledger entries a release wrote (or the one it found already there)",
                },
            },
        },
    },
}
_ITEM_ANSWER: Final = {"application/json": {"schema": _ITEM}}
_REASON_BODY: Final = {
    "type": "object",
    "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": REASON_CHARACTERS_MAX}},
}
_HELD_ID_PARAMETER: Final = {"name": "held_id", "in": "path", "required": True, "schema": {"type": "integer"}}
_UNAUTHENTICATED: Final = problem_answer("No valid bearer token: WWW-Authenticate names the Bearer challenge")
_NOT_FOUND: Final = problem_answer("Not for this caller, or no held record has this id")
_INVALID: Final = problem_answer("Invalid parameters or body: errors lists every one at fault")

openapi_paths: dict[str, object] = {
    "/api/v1/quarantine": {
        "get": {
            "summary": "Held records, oldest first: conflicting versions, unknown learners, malformed records",
            "description": _DESCRIPTION,
            "operationId": "listQuarantine",
            "parameters": [
                {"name": "vendor", "in": "query", "schema": {"type": "string", "enum": [v.value for v in VENDORS]}},
                {"name": "reason", "in": "query", "schema": {"type": "string", "enum": [r.value for r in HoldReason]}},
                {
                    "name": "status",
                    "in": "query",
                    "schema": {"type": "string", "enum": [s.value for s in HeldStatus], "default": "held"},
                    "description": "held: still waiting for a decision",
                },
                *page_parameters(HELD_PAGE_SIZE_MAX, PAGE_SIZE_DEFAULT),
            ],
            "responses": {
                "200": page_answer("A page of held records; next_cursor is null on the last page", _ITEM),
                "401": _UNAUTHENTICATED,
                "404": problem_answer("Not for this caller: only operators review the quarantine"),
                "422": _INVALID,
                "503": problem_answer("The database cannot be reached; retry"),
            },
        }
    },
    "/api/v1/quarantine/{held_id}/release": {
        "post": {
            "summary": "Take a held record into the ledger, translated again by its vendor's adapter",
            "description": _DESCRIPTION
            + " A conflicting version replaces the stored credit: a reversal of it and a new credit.",
            "operationId": "releaseHeldRecord",
            "parameters": [_HELD_ID_PARAMETER],
            "requestBody": {"required": False, "content": {"application/json": {"schema": _REASON_BODY}}},
            "responses": {
                "200": {
                    "description": "Released; `outcome` says what the ledger did (appended, duplicate, pending, held)",
                    "content": _ITEM_ANSWER,
                },
                "401": _UNAUTHENTICATED,
                "404": _NOT_FOUND,
                "409": problem_answer(
                    "Already decided, the stored entry changed since, or the vendor is not configured; nothing changed"
                ),
                "422": problem_answer(
                    "The learner is still unknown, the record still cannot be read (errors names the fields), "
                    "its year has no rules, or the body is invalid; nothing changed"
                ),
                "503": problem_answer("The database cannot be reached; retry"),
            },
        }
    },
    "/api/v1/quarantine/{held_id}/reject": {
        "post": {
            "summary": "Dismiss a held record, with a reason; the ledger is unchanged",
            "description": _DESCRIPTION,
            "operationId": "rejectHeldRecord",
            "parameters": [_HELD_ID_PARAMETER],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {**_REASON_BODY, "required": ["reason"]}}},
            },
            "responses": {
                "200": {"description": "Rejected", "content": _ITEM_ANSWER},
                "401": _UNAUTHENTICATED,
                "404": _NOT_FOUND,
                "409": problem_answer("Already decided; nothing changed"),
                "422": _INVALID,
                "503": problem_answer("The database cannot be reached; retry"),
            },
        }
    },
}
