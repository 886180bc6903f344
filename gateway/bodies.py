"""Reading a request body or an uploaded file under a limit, refused as soon as it is known to exceed it."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Final

from aiohttp import BodyPartReader, MultipartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from ledger.errors import FieldError

FILE_PART: Final = "file"
FORM_PARTS_MAX: Final = 8
FORM_OVERHEAD_BYTES_MAX: Final = 64 * 1024
"""What a form may add to its file: boundaries, part headers, a few small fields."""
CHUNK_BYTES: Final = 64 * 1024


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


async def read_upload(request: web.Request, limit_bytes: int) -> bytes | None:
    """An uploaded file, or ``None`` when it is over ``limit_bytes`` (never read whole).

    The file is the raw body, or, for ``multipart/form-data`` (a browser's form), the part named
    ``file``; the other parts are skipped unread. Raises ``web.HTTPBadRequest`` for a form without
    such a part within its first ``FORM_PARTS_MAX`` parts.
    """
    if request.content_type != "multipart/form-data":
        return await read_at_most(request, limit_bytes)
    if request.content_length is not None and request.content_length > limit_bytes + FORM_OVERHEAD_BYTES_MAX:
        return None
    try:
        return await _file_part(await request.multipart(), limit_bytes)
    except (ValueError, HttpProcessingError):
        # aiohttp's multipart reader says what it could not parse with these (a missing or wrong
        # boundary, a body that ends early, a malformed part header); the message may quote the
        # body, so it is not repeated.
        raise web.HTTPBadRequest(text="the body cannot be read as multipart/form-data") from None


async def _file_part(reader: MultipartReader, limit_bytes: int) -> bytes | None:
    """The ``file`` part of a form, as ``read_upload`` reads it."""
    for _part in range(FORM_PARTS_MAX):
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader) or part.name != FILE_PART:
            await part.release()
            continue
        content = bytearray()
        while chunk := await part.read_chunk(min(CHUNK_BYTES, limit_bytes + 1 - len(content))):
            content += chunk
            if len(content) > limit_bytes:
                return None
        return bytes(content)
    raise web.HTTPBadRequest(text=f"the form has no part named {FILE_PART} holding the file")


async def json_object(
    request: web.Request,
    limit_bytes: int,
    invalid: Callable[[Sequence[FieldError]], Exception],
    *,
    empty_allowed: bool = False,
) -> dict[str, object]:
    """The body as a JSON object (an empty one for an empty body where ``empty_allowed``). Raises 413 over
    ``limit_bytes``, and ``invalid(errors)`` for a body that is no JSON object in UTF-8, naming the field ``body``."""
    body = await read_at_most(request, limit_bytes)
    if body is None:
        raise web.HTTPRequestEntityTooLarge(max_size=limit_bytes, actual_size=request.content_length or limit_bytes + 1)
    if empty_allowed and not body.strip():
        return {}
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        # The parser's message may quote the body, which may hold personal data: say only what failed.
        raise invalid([FieldError("body", "must be a JSON object in UTF-8")]) from None
    if not isinstance(document, dict):
        raise invalid([FieldError("body", "must be a JSON object")])
    return document
