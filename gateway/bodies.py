"""Reading a request body under a limit, refused as soon as it is known to exceed it."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from aiohttp import web

from ledger.errors import FieldError


async def read_at_most(request: web.Request, limit_bytes: int) -> bytes | None:
    """The raw body, or ``None`` when it is over ``limit_bytes`` (never read whole)."""
    if request.content_length is not None and request.content_length > limit_bytes:
        return None
    body = bytearray()
    # read(n) returns what has arrived, up to n bytes: loop until the end or one byte over the limit.
    while chunk := await request.content.read(limit_bytes + 1 - len(body)):
        body += chunk
        if len(body) > limit_bytes:
            return None
    return bytes(body)


async def json_object(
    request: web.Request, limit_bytes: int, invalid: Callable[[Sequence[FieldError]], Exception]
) -> dict[str, object]:
    """The body as a JSON object. Raises 413 over ``limit_bytes``, and ``invalid(errors)`` for a body that is
    no JSON object in UTF-8, naming the field ``body``."""
    body = await read_at_most(request, limit_bytes)
    if body is None:
        raise web.HTTPRequestEntityTooLarge(max_size=limit_bytes, actual_size=request.content_length or limit_bytes + 1)
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        # The parser's message may quote the body, which may hold personal data: say only what failed.
        raise invalid([FieldError("body", "must be a JSON object in UTF-8")]) from None
    if not isinstance(document, dict):
        raise invalid([FieldError("body", "must be a JSON object")])
    return document
