"""Notices: a supervisor tells the staff of a unit they oversee something, and each active person of it
gets a staff message (``GET /api/v1/me/messages``); supervisors list what their unit has sent.

Supervisors only, with their bearer token; every call audited. A unit outside the caller's scope and
one that does not exist get the same 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from aiohttp import hdrs, web

from gateway.bearer import audited, authenticate_caller
from gateway.bodies import json_object
from gateway.keys import HUB
from gateway.openapi import page_answer, page_parameters, problem_answer
from gateway.parameters import row_id
from sso.access.errors import OutOfReach
from sso.access.model import AuditAction, Role, Target, TargetKind
from supervision.errors import FieldError, InvalidSupervisionRequest
from supervision.model import (
    MESSAGE_BODY_CHARACTERS_MAX,
    MESSAGE_TITLE_CHARACTERS_MAX,
    PAGE_SIZE_DEFAULT,
    PAGE_SIZE_MAX,
    QueryName,
    encode_cursor,
    parse_query,
)
from supervision.notices.model import NOTICES_PER_WINDOW_MAX, Notice, NoticeId, parse_notice
from supervision.reports.model import report_for

BODY_BYTES_MAX: Final = 16 * 1024
NO_STORE: Final = {hdrs.CACHE_CONTROL: "no-store"}
_LIST_PARAMETERS: Final = frozenset({QueryName.CURSOR, QueryName.LIMIT})

routes = web.RouteTableDef()


@routes.post("/api/v1/notices")
async def send_notice(request: web.Request) -> web.Response:
    caller = await authenticate_caller(request)
    async with audited(request, caller, AuditAction.NOTICE_SENT) as note:
        caller.require(Role.SUPERVISOR)
        form = parse_notice(await json_object(request, BODY_BYTES_MAX, InvalidSupervisionRequest))
        scope, organisation = caller.scope, caller.organisation
        report = None
        if scope is not None and organisation is not None:
            report = report_for(organisation, scope, scope.code if form.unit is None else form.unit)
        if scope is None or report is None:
            note.details["reason"] = "unknown_or_outside_scope"
            raise OutOfReach
        # Only now: before, the unit could be any text, personal data too.
        note.target = Target(TargetKind.UNIT, report.unit.code)
        notice = await request.app[HUB].supervision.notices.send(report, form, scope=scope, by=caller.token_id)
        note.details.update(notice_id=notice.id, recipients=notice.recipients)
    return web.json_response(_notice_document(notice), status=201, headers=NO_STORE)


@routes.get("/api/v1/notices")
async def list_notices(request: web.Request) -> web.Response:
    caller = await authenticate_caller(request)
    async with audited(request, caller, AuditAction.NOTICES_LISTED) as note:
        caller.require(Role.SUPERVISOR)
        scope = caller.scope
        if scope is None:
            raise OutOfReach
        note.target = Target(TargetKind.UNIT, scope.code)
        query = parse_query(request.query.items(), _LIST_PARAMETERS)
        before = None if query.cursor is None else _notice_id(query.cursor[0])
        page = await request.app[HUB].supervision.notices.sent_from(scope, before, query.limit)
        note.details["items"] = len(page.items)
    document = {
        "items": [_notice_document(notice) for notice in page.items],
        "next_cursor": None if page.next_before is None else encode_cursor(str(page.next_before)),
    }
    return web.json_response(document, headers=NO_STORE)


def _notice_id(text: str) -> NoticeId:
    notice_id = row_id(text)
    if notice_id is None:
        raise InvalidSupervisionRequest([FieldError("cursor", "must be a next_cursor this endpoint gave")])
    return NoticeId(notice_id)


def _notice_document(notice: Notice) -> dict[str, object]:
    return {
        "id": notice.id,
        "unit": notice.unit_code,
        "title": notice.title,
        "body": notice.body,
        "sent_at": _instant(notice.sent_at),
        "recipients": notice.recipients,
    }


def _instant(moment: datetime) -> str:
    return moment.isoformat()


# ---------------------------------------------------------------- the OpenAPI description

_DESCRIPTION: Final = (
    "Supervisors only, with `Authorization: Bearer <token>`. The unit is the supervisor's own unless the "
    "form names another they may report on (see `/api/v1/units/{code}/compliance`); the notice reaches "
    "every active person of the institutions under it that the token's scope reaches, as a staff message "
    f"(kind `supervisor_notice`). At most {NOTICES_PER_WINDOW_MAX} notices a day per token. Audited."
)
_NOTICE: Final = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "unit": {"type": "string", "description": "The code of the unit it went to"},
        "title": {"type": "string"},
        "body": {"type": "string"},
        "sent_at": {"type": "string", "format": "date-time"},
        "recipients": {"type": "integer", "description": "The people it reached"},
    },
}
_UNAUTHENTICATED: Final = problem_answer("No valid bearer token: WWW-Authenticate names the Bearer challenge")
_NOT_FOUND: Final = problem_answer("No such unit for this caller: outside their role or scope, or unknown")
_INVALID: Final = problem_answer("Invalid input: errors lists every field or parameter at fault")

openapi_paths: dict[str, object] = {
    "/api/v1/notices": {
        "post": {
            "summary": "Send a notice to the staff of a unit the caller oversees",
            "description": _DESCRIPTION,
            "operationId": "sendNotice",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["title", "body"],
                            "properties": {
                                "title": {"type": "string", "minLength": 1, "maxLength": MESSAGE_TITLE_CHARACTERS_MAX},
                                "body": {"type": "string", "minLength": 1, "maxLength": MESSAGE_BODY_CHARACTERS_MAX},
                                "unit": {"type": "string", "description": "A region, department or institution code"},
                            },
                        }
                    }
                },
            },
            "responses": {
                "201": {"description": "Sent", "content": {"application/json": {"schema": _NOTICE}}},
                "401": _UNAUTHENTICATED,
                "404": _NOT_FOUND,
                "413": problem_answer("The body is too large"),
                "422": _INVALID,
                "429": problem_answer("Too many notices today: Retry-After says when more are taken"),
            },
        },
        "get": {
            "summary": "The notices supervisors of the caller's unit have sent, newest first",
            "description": "Supervisors only, with `Authorization: Bearer <token>`. Audited.",
            "operationId": "listNotices",
            "parameters": [
                *page_parameters(PAGE_SIZE_MAX, PAGE_SIZE_DEFAULT),
            ],
            "responses": {
                "200": page_answer("A page of notices; next_cursor is null on the last page", _NOTICE),
                "401": _UNAUTHENTICATED,
                "404": _NOT_FOUND,
                "422": _INVALID,
            },
        },
    }
}
