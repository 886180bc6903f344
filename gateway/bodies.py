"""Reading a request body under a limit, refused as soon as it is known to exceed it."""

from __future__ import annotations

from aiohttp import web


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
