"""Liveness, readiness and the OpenAPI document."""

from __future__ import annotations

import asyncio

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from gateway.keys import HUB, OPENAPI
from gateway.openapi import problem_answer
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


openapi_paths: dict[str, object] = {
    "/healthz": {
        "get": {"summary": "The process is up", "operationId": "healthz", "responses": {"200": {"description": "Up"}}}
    },
    "/readyz": {
        "get": {
            "summary": "The database is reachable",
            "operationId": "readyz",
            "responses": {"200": {"description": "Ready"}, "503": problem_answer("The database cannot be reached")},
        }
    },
    "/openapi.json": {
        "get": {
            "summary": "This document",
            "operationId": "openapi",
            "responses": {"200": {"description": "The OpenAPI 3.1 document"}},
        }
    },
}


@routes.get("/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(request.app[OPENAPI])
