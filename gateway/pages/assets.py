"""The pages' stylesheet, served by the hub itself: no build step, no other origin.

Pages link it as ``/static/hub.css?v=<digest>``: an answer to the URL of the current digest may be
kept for a year, since a changed sheet has another URL; any other is kept a few minutes.
"""

from __future__ import annotations

from typing import Final

from aiohttp import hdrs, web

from gateway.keys import STYLESHEET
from gateway.pages.rendering import PAGE_HEADERS
from gateway.pages.stylesheet import STYLESHEET_PATH

__all__ = ["openapi_paths", "routes"]

VERSIONED_CACHE: Final = "public, max-age=31536000, immutable"
UNVERSIONED_CACHE: Final = "public, max-age=300"

routes = web.RouteTableDef()


@routes.get(STYLESHEET_PATH)
async def stylesheet(request: web.Request) -> web.Response:
    sheet = request.app[STYLESHEET]
    cache = VERSIONED_CACHE if request.query.get("v") == sheet.version else UNVERSIONED_CACHE
    headers = {**PAGE_HEADERS, hdrs.CACHE_CONTROL: cache}
    return web.Response(body=sheet.content, content_type="text/css", charset="utf-8", headers=headers)


openapi_paths: dict[str, object] = {
    STYLESHEET_PATH: {
        "get": {
            "summary": "The pages' stylesheet (public)",
            "operationId": "stylesheet",
            "parameters": [
                {
                    "name": "v",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": "The sheet's version; with the current one the answer may be kept a year",
                }
            ],
            "responses": {"200": {"description": "CSS", "content": {"text/css": {"schema": {"type": "string"}}}}},
        }
    }
}
