"""The OpenAPI 3.1 document of the hub's HTTP interface, served at ``/openapi.json``.

Each area declares its paths; the document adds what they share: the problem schema, the two ways
to sign in (``components.securitySchemes``) and the ``security`` requirement of every operation that
needs credentials. That requirement is derived from the operation's 401 answer, never written per
path: an answer made by ``unauthenticated(scheme, …)`` names its scheme's challenge, and any other
401 of an ``/api/`` path is the bearer token's, the credential of everyone there but staff. An
operation that states its own ``security`` keeps it (``[]`` for one that is public although it can
answer 401, such as the login, whose credentials are in its body).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from types import ModuleType
from typing import Final

from gateway.bearer import BEARER_CHALLENGE
from gateway.sessions import SESSION_CHALLENGE, SESSION_COOKIE

API_PREFIX: Final = "/api/"
HTTP_METHODS: Final = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})

PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}
HTML_CONTENT: Final = {"text/html": {"schema": {"type": "string"}}}
PAGE_FORM_REFUSED: Final = "The form cannot be read (400), is too large (413), or lacks this browser's form token (403)"
PAGE_SIGN_IN_FIRST: Final = "Not signed in: to the login page, which comes back here"
CONSOLE_SIGN_IN_FIRST: Final = "No console session: to the sign-in page, which comes back here"
PROBLEM_CONTENT: Final = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


class SecurityScheme(StrEnum):
    """The ways to call the hub with credentials, named as in ``components.securitySchemes``."""

    BEARER = "bearer"
    """Operators, auditors and supervisors: ``Authorization: Bearer <token>``."""
    SESSION = "session"
    """Staff: the session cookie that the login sets."""

    @property
    def challenge_header(self) -> str:
        """The name, in ``components.headers``, of the ``WWW-Authenticate`` this scheme's 401 carries."""
        return f"{self.value.capitalize()}Challenge"


SECURITY_SCHEMES: Final[Mapping[SecurityScheme, Mapping[str, str]]] = {
    SecurityScheme.BEARER: {
        "type": "http",
        "scheme": "bearer",
        "description": (
            "Operators, auditors and supervisors, with a token from `hub tokens create`. A request that "
            "carries an Authorization header is judged by it alone: on a route for staff a valid token "
            "answers 404, as for anything else outside its holder's role or scope."
        ),
    },
    SecurityScheme.SESSION: {
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE,
        "description": "Staff: the session cookie POST /api/v1/login sets (HttpOnly, SameSite=Lax).",
    },
}
CHALLENGES: Final[Mapping[SecurityScheme, str]] = {
    SecurityScheme.BEARER: f'`{BEARER_CHALLENGE}`, with `error="invalid_token"` for a refused token',
    SecurityScheme.SESSION: f"`{SESSION_CHALLENGE}`: sign in to get the cookie",
}


def problem_answer(description: str) -> dict[str, object]:
    """An answer in the document: a problem+json body with this description."""
    return {"description": description, "content": PROBLEM_CONTENT}


def json_answer(description: str, schema: object) -> dict[str, object]:
    """An answer in the document: a JSON body of ``schema``."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def page_parameters(limit_max: int, limit_default: int | None = None) -> list[dict[str, object]]:
    """The query parameters of a cursor-paged listing: ``cursor`` (a page's ``next_cursor``) and ``limit``."""
    limit: dict[str, object] = {"type": "integer", "minimum": 1, "maximum": limit_max}
    if limit_default is not None:
        limit["default"] = limit_default
    return [
        {"name": "cursor", "in": "query", "schema": {"type": "string"}, "description": "A next_cursor"},
        {"name": "limit", "in": "query", "schema": limit},
    ]


def page_answer(description: str, item_schema: object) -> dict[str, object]:
    """The answer of a cursor-paged listing: its ``items`` and a ``next_cursor`` that is null on the last page."""
    return json_answer(
        description,
        {
            "type": "object",
            "properties": {
                "items": {"type": "array", "items": item_schema},
                "next_cursor": {"type": ["string", "null"], "description": "Continues the list; null on the last page"},
            },
        },
    )


def html_page_operation(
    summary: str, operation_id: str, *, download: Mapping[str, object] | None = None, **answers: str
) -> dict[str, object]:
    """An operation that answers pages; ``answers`` maps a status (``_303``) to its description, and
    ``download`` is the 200 of one that answers a file instead."""
    responses: dict[str, object] = {} if download is None else {"200": download}
    for status, text in answers.items():
        code = status.removeprefix("_")
        responses[code] = (
            {"description": text} if code.startswith("3") else {"description": text, "content": HTML_CONTENT}
        )
    return {"summary": summary, "operationId": operation_id, "responses": responses}


def unauthenticated(
    scheme: SecurityScheme, description: str, content: Mapping[str, object] = PROBLEM_CONTENT
) -> dict[str, object]:
    """The 401 of an operation that needs ``scheme``'s credentials (a problem+json body unless
    ``content`` says otherwise); the operation's ``security`` is derived from it."""
    challenge = {"$ref": f"#/components/headers/{scheme.challenge_header}"}
    return {"description": description, "headers": {"WWW-Authenticate": challenge}, "content": content}


def openapi_document(areas: Iterable[ModuleType]) -> dict[str, object]:
    """The whole document, from the paths each area of routes declares."""
    paths: dict[str, object] = {}
    for area in areas:
        paths.update(area.openapi_paths)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Training-hours hub", "version": "1"},
        "paths": {path: _with_security(path, item) for path, item in paths.items()},
        "components": {
            "schemas": {"Problem": PROBLEM_SCHEMA},
            "securitySchemes": {str(scheme): dict(fields) for scheme, fields in SECURITY_SCHEMES.items()},
            "headers": {
                scheme.challenge_header: {"description": description, "schema": {"type": "string"}}
                for scheme, description in CHALLENGES.items()
            },
        },
    }


def _with_security(path: str, item: object) -> object:
    """The path's operations, each with the security requirement its 401 answer implies (copies: the
    areas' declarations stay as they are)."""
    if not isinstance(item, dict):
        return item
    return {
        method: _operation_with_security(path, operation) if method in HTTP_METHODS else operation
        for method, operation in item.items()
    }


def _operation_with_security(path: str, operation: object) -> object:
    if not isinstance(operation, dict) or "security" in operation:
        return operation
    scheme = _challenged_scheme(path, operation.get("responses", {}).get("401"))
    return operation if scheme is None else {**operation, "security": [{str(scheme): []}]}


def _challenged_scheme(path: str, answer: object) -> SecurityScheme | None:
    if not isinstance(answer, dict):
        return None
    challenge = answer.get("headers", {}).get("WWW-Authenticate", {}).get("$ref", "")
    for scheme in SecurityScheme:
        if challenge == f"#/components/headers/{scheme.challenge_header}":
            return scheme
    return SecurityScheme.BEARER if path.startswith(API_PREFIX) else None
