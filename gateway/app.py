"""The composition root: ``create_app(settings)`` builds the whole web service."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp_jinja2
import jinja2
from aiohttp import web

from config import Settings
from gateway.bootstrap import open_hub
from gateway.jobs import running_scheduler
from gateway.keys import DELIVERIES, HUB, METRICS, OPENAPI, STYLESHEET, VENDOR_HEALTH, VERIFY_THROTTLE
from gateway.metrics import metrics_registry
from gateway.openapi import openapi_document
from gateway.pages.rendering import page_refusals
from gateway.pages.stylesheet import load_stylesheet
from gateway.problems import problem_middleware
from gateway.routes import AREAS
from gateway.throttle import ClientThrottle
from gateway.vendors import check_registry
from ledger.group_commit import running_group_commit
from sso.certificates.service import running_reviews

REQUEST_BODY_BYTES_MAX = 1024 * 1024


def create_app(settings: Settings, *, scheduler: bool = False) -> web.Application:
    """The hub's aiohttp application; with ``scheduler`` it also runs the scheduled jobs.

    Raises ``VendorNotReady`` when the registry of vendors disagrees with the vendor codes elsewhere.
    """
    check_registry()
    app = web.Application(middlewares=[problem_middleware, page_refusals], client_max_size=REQUEST_BODY_BYTES_MAX)
    app[VERIFY_THROTTLE] = ClientThrottle(settings.certificates.verify_requests_per_minute)

    async def hub_context(app: web.Application) -> AsyncIterator[None]:
        async with (
            open_hub(settings) as hub,
            running_group_commit(hub.ledger) as deliveries,
            running_reviews(hub.certificates, hub.ledger),
        ):
            hub.certificates.check_font()  # a missing font stops start-up, not the first download
            app[HUB] = hub
            app[DELIVERIES] = deliveries
            if not scheduler:
                yield
                return
            async with running_scheduler(hub):
                yield

    app.cleanup_ctx.append(hub_context)
    # The pages' templates, one folder per area under gateway/templates; autoescaped. `topic` names a
    # mandatory topic's key as [topics] says.
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("gateway", "templates"),
        autoescape=True,
        filters={"topic": lambda key: settings.topics.get(key, key)},
    )
    app[STYLESHEET] = load_stylesheet()
    for area in AREAS:
        app.add_routes(area.routes)
    app[OPENAPI] = openapi_document(AREAS)
    app[METRICS], app[VENDOR_HEALTH] = metrics_registry()
    return app
