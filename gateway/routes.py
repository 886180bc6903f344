"""Routes of the hub that belong to no single area: liveness, readiness and the OpenAPI document."""

from __future__ import annotations

import asyncio

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from gateway.keys import HUB
from gateway.openapi import openapi_document
from gateway.problems import problem

READINESS_TIMEOUT_SECONDS = 2

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "up"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    try:
        async with asyncio.timeout(READINESS_TIMEOUT_SECONDS), request.app[HUB].engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (TimeoutError, DBAPIError, OSError):
        return problem(503, code="database_unreachable", title="Not ready", detail="the database cannot be reached")
    return web.json_response({"status": "ready"})


@routes.get("/openapi.json")
async def openapi(_request: web.Request) -> web.Response:
    return web.json_response(openapi_document())
