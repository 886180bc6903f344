"""The composition root: ``create_app(settings)`` builds the whole web service."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from config import Settings
from gateway.bootstrap import open_hub
from gateway.jobs import running_scheduler
from gateway.keys import DELIVERIES, HUB, OPENAPI
from gateway.openapi import openapi_document
from gateway.problems import problem_middleware
from gateway.routes import AREAS
from ledger.group_commit import running_group_commit

REQUEST_BODY_BYTES_MAX = 1024 * 1024


def create_app(settings: Settings, *, scheduler: bool = False) -> web.Application:
    """The hub's aiohttp application; with ``scheduler`` it also runs the scheduled jobs."""
    app = web.Application(middlewares=[problem_middleware], client_max_size=REQUEST_BODY_BYTES_MAX)

    async def hub_context(app: web.Application) -> AsyncIterator[None]:
        async with open_hub(settings) as hub, running_group_commit(hub.ledger) as deliveries:
            app[HUB] = hub
            app[DELIVERIES] = deliveries
            if not scheduler:
                yield
                return
            async with running_scheduler(hub):
                yield

    app.cleanup_ctx.append(hub_context)
    for area in AREAS:
        app.add_routes(area.routes)
    app[OPENAPI] = openapi_document(AREAS)
    return app
