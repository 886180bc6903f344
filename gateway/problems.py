"""RFC 9457 problem details: the one table from errors to answers, and the middleware that uses it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import structlog
from aiohttp import web

from ledger.errors import FieldError, InvalidCommand, LedgerError, LedgerUnavailable, NoRulesForYear

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://hub.example/problems/"

STATUS_BY_ERROR: tuple[tuple[type[LedgerError], int], ...] = (
    (InvalidCommand, 422),
    (NoRulesForYear, 422),
    (LedgerUnavailable, 503),
)

log = structlog.get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def problem(
    status: int,
    *,
    code: str,
    title: str,
    detail: str,
    errors: Sequence[FieldError] = (),
    headers: dict[str, str] | None = None,
) -> web.Response:
    """A problem+json answer; ``errors`` lists every field at fault."""
    body: dict[str, object] = {"type": PROBLEM_TYPE_BASE + code, "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = [{"field": error.field, "message": error.message} for error in errors]
    response = web.json_response(body, status=status, headers=headers)
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def problem_for(error: LedgerError) -> web.Response:
    status = next((status for kind, status in STATUS_BY_ERROR if isinstance(error, kind)), 400)
    errors = error.errors if isinstance(error, InvalidCommand) else ()
    return problem(status, code=error.code, title=error.title, detail=str(error), errors=errors)


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answers the project's errors and aiohttp's own HTTP errors as problems."""
    try:
        return await handler(request)
    except LedgerError as error:
        log.info("request_refused", path=request.path, code=error.code)
        return problem_for(error)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return problem(error.status, code=f"http_{error.status}", title=error.reason, detail=error.text or error.reason)
