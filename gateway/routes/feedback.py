"""Feedback on violations: staff send it with their session and read the answers; supervisors list the
feedback about the institutions their scope reaches and answer it, each call audited.

Supervisors never learn who sent feedback: its answers show what was written, about which institution
and when. Feedback about an institution outside the caller's scope and feedback that does not exist
get the same 404. Nothing that people write reaches a log.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Final

import structlog
from aiohttp import hdrs, web

from gateway.bearer import AuditNote, Caller, audited, authenticate_caller
from gateway.bodies import json_object
from gateway.keys import HUB
from gateway.openapi import SecurityScheme, page_answer, page_parameters, problem_answer, unauthenticated
from gateway.sessions import signed_in_person
from sso.access.errors import OutOfReach
from sso.access.model import AuditAction, Role, Target, TargetKind
from sso.errors import UnknownOrganisationCode
from supervision.errors import FeedbackNotFound, FieldError, InvalidSupervisionRequest
from supervision.feedback.model import (
    ANSWER_CHARACTERS_MAX,
    FEEDBACK_PER_WINDOW_MAX,
    SUBJECT_CHARACTERS_MAX,
    TEXT_CHARACTERS_MAX,
    Feedback,
    FeedbackId,
    FeedbackPage,
    FeedbackStatus,
)
from supervision.model import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX, QueryName, Reach, encode_cursor, parse_query, reach_of

BODY_BYTES_MAX: Final = 32 * 1024
FEEDBACK_ID_MAX: Final = 2**31 - 1
NO_STORE: Final = {hdrs.CACHE_CONTROL: "no-store"}
_FEEDBACK_ID: Final = re.compile(r"[1-9][0-9]{0,9}", re.ASCII)
_MINE_PARAMETERS: Final = frozenset({QueryName.CURSOR, QueryName.LIMIT})
_LIST_PARAMETERS: Final = frozenset({QueryName.STATUS, QueryName.CURSOR, QueryName.LIMIT})
_STATUSES: Final = {QueryName.STATUS: [member.value for member in FeedbackStatus]}

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()


# ---------------------------------------------------------------- staff


@routes.post("/api/v1/me/feedback")
async def send_feedback(request: web.Request) -> web.Response:
    person_id = await signed_in_person(request)
    hub = request.app[HUB]
    person = await hub.people.get(person_id)
    feedback = await hub.supervision.feedback.submit(
        person_id, person.unit_code, await json_object(request, BODY_BYTES_MAX, InvalidSupervisionRequest)
    )
    log.info("feedback_received", person_id=person_id, feedback_id=feedback.id, institution=feedback.institution)
    return web.json_response(feedback_document(feedback), status=201, headers=NO_STORE)


@routes.get("/api/v1/me/feedback")
async def my_feedback(request: web.Request) -> web.Response:
    person_id = await signed_in_person(request)
    query = parse_query(request.query.items(), _MINE_PARAMETERS)
    page = await request.app[HUB].supervision.feedback.of_person(person_id, _before(query.cursor), query.limit)
    return web.json_response(_page_document(page), headers=NO_STORE)


# ---------------------------------------------------------------- supervisors


@routes.get("/api/v1/feedback")
async def list_feedback(request: web.Request) -> web.Response:
    caller = await authenticate_caller(request)
    async with audited(request, caller, AuditAction.FEEDBACK_LISTED) as note:
        reach = reach_of_caller(caller, note)
        query = parse_query(request.query.items(), _LIST_PARAMETERS, choices=_STATUSES)
        status = None if QueryName.STATUS not in query.values else FeedbackStatus(query.values[QueryName.STATUS])
        note.details["status"] = None if status is None else status.value
        page = await request.app[HUB].supervision.feedback.within(reach, status, _before(query.cursor), query.limit)
        note.details["items"] = len(page.items)
    return web.json_response(_page_document(page), headers=NO_STORE)


@routes.post("/api/v1/feedback/{feedback_id}/answer")
async def answer_feedback(request: web.Request) -> web.Response:
    caller = await authenticate_caller(request)
    async with audited(request, caller, AuditAction.FEEDBACK_ANSWERED) as note:
        caller.require(Role.SUPERVISOR)
        feedback = await feedback_in_reach(request, caller, note)
        desk = request.app[HUB].supervision.feedback
        answered = await desk.answer(
            feedback.id, await json_object(request, BODY_BYTES_MAX, InvalidSupervisionRequest), by=caller.token_id
        )
    return web.json_response(feedback_document(answered), headers=NO_STORE)


def reach_of_caller(caller: Caller, note: AuditNote) -> Reach:
    """The institutions a supervisor's scope reaches. Raises ``OutOfReach`` for anyone else, and for a scope
    whose unit the organisation no longer holds."""
    caller.require(Role.SUPERVISOR)
    if caller.scope is None or caller.organisation is None:
        raise OutOfReach
    try:
        reach = reach_of(caller.organisation, caller.scope)
    except UnknownOrganisationCode:  # the token's unit left the organisation at an import
        note.details["reason"] = "scope_unit_gone"
        raise OutOfReach from None
    note.target = Target(TargetKind.UNIT, caller.scope.code)
    return reach


async def feedback_in_reach(request: web.Request, caller: Caller, note: AuditNote) -> Feedback:
    """The feedback the path's ``feedback_id`` names, if the caller's scope reaches its institution;
    ``OutOfReach`` alike otherwise."""
    text = request.match_info["feedback_id"]
    if _FEEDBACK_ID.fullmatch(text) is None or int(text) > FEEDBACK_ID_MAX:
        note.details["reason"] = "malformed_feedback_id"
        raise OutOfReach
    note.target = Target(TargetKind.FEEDBACK, text)
    try:
        feedback = await request.app[HUB].supervision.feedback.get(int(text))
    except FeedbackNotFound:
        note.details["reason"] = "unknown_feedback"
        raise OutOfReach from None
    note.details["institution"] = feedback.institution
    if not caller.oversees(feedback.institution):
        note.details["reason"] = "outside_scope"
        raise OutOfReach
    return feedback


def _before(cursor: tuple[str, ...] | None) -> FeedbackId | None:
    if cursor is None:
        return None
    if not cursor[0].isdigit():
        raise InvalidSupervisionRequest([FieldError("cursor", "must be a next_cursor this endpoint gave")])
    return FeedbackId(int(cursor[0]))


# ---------------------------------------------------------------- documents and bodies


def feedback_document(feedback: Feedback) -> dict[str, object]:
    """Feedback as its sender and the supervisors see it: never who sent it."""
    answer = feedback.answer
    return {
        "id": feedback.id,
        "institution": feedback.institution,
        "subject": feedback.subject,
        "text": feedback.text,
        "submitted_at": _instant(feedback.submitted_at),
        "status": feedback.status.value,
        "answer": None if answer is None else {"text": answer.text, "answered_at": _instant(answer.answered_at)},
    }


def _page_document(page: FeedbackPage) -> dict[str, object]:
    return {
        "items": [feedback_document(feedback) for feedback in page.items],
        "next_cursor": None if page.next_before is None else encode_cursor(str(page.next_before)),
    }


def _instant(moment: datetime) -> str:
    return moment.isoformat()


# ---------------------------------------------------------------- the OpenAPI description

_SUPERVISORS: Final = (
    "Supervisors only, with `Authorization: Bearer <token>`. Feedback is about one institution; a supervisor "
    "reaches the feedback about the institutions their scope reaches. Who sent it is never shown. Audited."
)
_INSTANT: Final = {"type": "string", "format": "date-time"}
_FEEDBACK: Final = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "institution": {"type": "string", "description": "The code of the institution it is about"},
        "subject": {"type": "string"},
        "text": {"type": "string"},
        "submitted_at": _INSTANT,
        "status": {"type": "string", "enum": [status.value for status in FeedbackStatus]},
        "answer": {
            "type": ["object", "null"],
            "properties": {"text": {"type": "string"}, "answered_at": _INSTANT},
        },
    },
}
_PAGE: Final = page_answer("Feedback newest first; next_cursor is null on the last page", _FEEDBACK)
_ONE: Final = {"description": "The feedback", "content": {"application/json": {"schema": _FEEDBACK}}}
_PAGE_PARAMETERS: Final = page_parameters(PAGE_SIZE_MAX, PAGE_SIZE_DEFAULT)
_SESSION_REQUIRED: Final = unauthenticated(
    SecurityScheme.SESSION, "No live session: WWW-Authenticate names the session challenge"
)
_BEARER_REQUIRED: Final = unauthenticated(
    SecurityScheme.BEARER, "No valid bearer token: WWW-Authenticate names the Bearer challenge"
)
_INVALID: Final = problem_answer("Invalid input: errors lists every field or parameter at fault")
_NOT_FOUND: Final = problem_answer("No such feedback for this caller: outside their scope, or unknown")


def _text_schema(characters_max: int) -> dict[str, object]:
    return {"type": "string", "minLength": 1, "maxLength": characters_max}


openapi_paths: dict[str, object] = {
    "/api/v1/me/feedback": {
        "post": {
            "summary": "Send feedback on a violation to the supervisors of an institution",
            "description": (
                "Staff, with the session cookie. About the institution named, or else the sender's own. "
                f"At most {FEEDBACK_PER_WINDOW_MAX} a day; then 429 with Retry-After. The supervisors who "
                "reach the institution read it without learning who sent it; the answer shows here."
            ),
            "operationId": "sendFeedback",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["subject", "text"],
                            "properties": {
                                "subject": _text_schema(SUBJECT_CHARACTERS_MAX),
                                "text": _text_schema(TEXT_CHARACTERS_MAX),
                                "institution": {"type": "string", "description": "An institution's code"},
                            },
                        }
                    }
                },
            },
            "responses": {
                "201": _ONE,
                "401": _SESSION_REQUIRED,
                "413": problem_answer("The body is too large"),
                "422": _INVALID,
                "429": problem_answer("Too much feedback today: Retry-After says when more is taken"),
            },
        },
        "get": {
            "summary": "The signed-in person's feedback with its answers",
            "description": "Staff, with the session cookie.",
            "operationId": "listMyFeedback",
            "parameters": _PAGE_PARAMETERS,
            "responses": {"200": _PAGE, "401": _SESSION_REQUIRED, "422": _INVALID},
        },
    },
    "/api/v1/feedback": {
        "get": {
            "summary": "Feedback about the institutions in the caller's scope, newest first",
            "description": _SUPERVISORS,
            "operationId": "listFeedback",
            "parameters": [
                {"name": "status", "in": "query", "schema": {"type": "string", "enum": ["open", "answered"]}},
                *_PAGE_PARAMETERS,
            ],
            "responses": {"200": _PAGE, "401": _BEARER_REQUIRED, "404": _NOT_FOUND, "422": _INVALID},
        }
    },
    "/api/v1/feedback/{feedback_id}/answer": {
        "post": {
            "summary": "Answer feedback; the sender reads the answer",
            "description": f"{_SUPERVISORS} Feedback is answered once.",
            "operationId": "answerFeedback",
            "parameters": [{"name": "feedback_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["text"],
                            "properties": {"text": _text_schema(ANSWER_CHARACTERS_MAX)},
                        }
                    }
                },
            },
            "responses": {
                "200": _ONE,
                "401": _BEARER_REQUIRED,
                "404": _NOT_FOUND,
                "409": problem_answer("The feedback has been answered already"),
                "413": problem_answer("The body is too large"),
                "422": _INVALID,
            },
        }
    },
}
