"""Staff messages: the signed-in person's messages, newest first, read and unread, and marking one read."""

from __future__ import annotations

from typing import Final

from aiohttp import hdrs, web

from gateway.keys import HUB
from gateway.openapi import SecurityScheme, page_parameters, problem_answer, unauthenticated
from gateway.parameters import row_id
from gateway.sessions import signed_in_person
from sso.messages.errors import MessageNotFound
from sso.messages.model import MESSAGES_PAGE_SIZE_MAX, Message, ReadState, parse_message_query

NO_STORE: Final = {hdrs.CACHE_CONTROL: "no-store"}

routes = web.RouteTableDef()


@routes.get("/api/v1/me/messages")
async def my_messages(request: web.Request) -> web.Response:
    person_id = await signed_in_person(request)
    query = parse_message_query(request.query)
    page = await request.app[HUB].messages.page(person_id, query)
    document = {
        "items": [_message_document(message) for message in page.messages],
        "unread": page.unread,
        "next_cursor": page.next_cursor,
    }
    return web.json_response(document, headers=NO_STORE)


@routes.post("/api/v1/me/messages/{message_id}/read")
async def read_message(request: web.Request) -> web.Response:
    person_id = await signed_in_person(request)
    text = request.match_info["message_id"]
    message_id = row_id(text)
    if message_id is None:
        raise MessageNotFound
    message = await request.app[HUB].messages.mark_read(person_id, message_id)
    return web.json_response(_message_document(message), headers=NO_STORE)


def _message_document(message: Message) -> dict[str, object]:
    return {
        "id": message.id,
        "kind": message.kind.value,
        "title": message.title,
        "body": message.body,
        "link": message.link,
        "created_at": message.created_at.isoformat(),
        "read": message.read,
        "read_at": None if message.read_at is None else message.read_at.isoformat(),
    }


# ---------------------------------------------------------------- the OpenAPI description

_MESSAGE: Final = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "kind": {
            "type": "string",
            "description": "What it is about: certificate_issued, certificate_revoked, and kinds other areas add",
        },
        "title": {"type": "string"},
        "body": {"type": "string"},
        "link": {"type": ["string", "null"], "description": "A path or URL to what it tells of"},
        "created_at": {"type": "string", "format": "date-time"},
        "read": {"type": "boolean"},
        "read_at": {"type": ["string", "null"], "format": "date-time"},
    },
}
_NOT_SIGNED_IN: Final = unauthenticated(
    SecurityScheme.SESSION, "No live session: WWW-Authenticate names the session challenge"
)

openapi_paths: dict[str, object] = {
    "/api/v1/me/messages": {
        "get": {
            "summary": "The signed-in person's messages, newest first",
            "operationId": "listMyMessages",
            "parameters": [
                {
                    "name": "status",
                    "in": "query",
                    "schema": {"type": "string", "enum": [state.value for state in ReadState], "default": "all"},
                },
                *page_parameters(MESSAGES_PAGE_SIZE_MAX),
            ],
            "responses": {
                "200": {
                    "description": "A page of messages; unread counts all the person's unread ones",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "items": {"type": "array", "items": _MESSAGE},
                                    "unread": {"type": "integer"},
                                    "next_cursor": {"type": ["string", "null"]},
                                },
                            }
                        }
                    },
                },
                "401": _NOT_SIGNED_IN,
                "422": problem_answer("Invalid query: errors lists every parameter at fault"),
            },
        }
    },
    "/api/v1/me/messages/{message_id}/read": {
        "post": {
            "summary": "Mark one of the signed-in person's messages read (again: it keeps the first moment)",
            "operationId": "readMyMessage",
            "parameters": [{"name": "message_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": {
                "200": {"description": "The message", "content": {"application/json": {"schema": _MESSAGE}}},
                "401": _NOT_SIGNED_IN,
                "404": problem_answer("The person has no message with this id"),
            },
        }
    },
}
