"""How each vendor stands, for operators: ``GET /api/v1/health/vendors`` and Prometheus's ``GET /metrics``.

Per vendor: whether it is configured, the last delivery the ledger took and the last successful
pull (and the lag since the later of them), the deliveries stored and refused, the held records
waiting for an operator, and the discrepancies still open (none until reconciliation records
them). Both read the database within a time bound.

Who may read: ``/api/v1/health/vendors`` operators; ``/metrics`` operators and auditors, with a bearer
token (Prometheus sends one with ``authorization: {type: Bearer, credentials_file: …}``; give it an
auditor's token, which can change nothing). The figures hold no personal data, but they are not
public: refusal counts and lags tell an outsider how the vendors' traffic and any forged requests
fare. Supervisors, staff and anyone else get 404; no credentials 401. Reads are not audited (a scrape
every few seconds would drown the audit log), as for the ingestion view.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from aiohttp import hdrs, web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from adapters.ingestion.errors import IngestionUnavailable
from adapters.ingestion.model import VENDORS, VendorHealth
from gateway.bearer import require_caller
from gateway.bootstrap import Hub
from gateway.keys import HUB, METRICS, VENDOR_HEALTH
from gateway.openapi import SecurityScheme, problem_answer, unauthenticated
from sso.access.model import Role

NO_STORE: Final = {hdrs.CACHE_CONTROL: "no-store"}

routes = web.RouteTableDef()


async def _health(hub: Hub) -> tuple[VendorHealth, ...]:
    return await hub.ingestion.health(hub.vendors.translators.keys(), hub.runs, hub.discrepancies)


@routes.get("/api/v1/health/vendors")
async def vendor_health(request: web.Request) -> web.Response:
    await require_caller(request, Role.OPERATOR)
    health = await _health(request.app[HUB])
    now = datetime.now(UTC)
    document = {"checked_at": now.isoformat(), "vendors": [_vendor_document(vendor, now) for vendor in health]}
    return web.json_response(document, headers=NO_STORE)


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    await require_caller(request, Role.OPERATOR, Role.AUDITOR)
    collector = request.app[VENDOR_HEALTH]
    try:
        health = await _health(request.app[HUB])
    except IngestionUnavailable:
        collector.unread()
    else:
        collector.update(health, datetime.now(UTC))
    # No await between the update and the rendering: each scrape renders the figures it read.
    body = generate_latest(request.app[METRICS])
    return web.Response(body=body, headers={hdrs.CONTENT_TYPE: CONTENT_TYPE_LATEST, **NO_STORE})


def _vendor_document(vendor: VendorHealth, now: datetime) -> dict[str, object]:
    deliveries = vendor.deliveries
    return {
        "vendor": vendor.vendor.value,
        "configured": vendor.configured,
        "last_delivery_at": _instant(deliveries.last_delivery_at),
        "last_pull_at": _instant(vendor.last_pull_at),
        "last_success_at": _instant(vendor.last_success_at),
        "lag_seconds": vendor.lag_seconds(now),
        "counts": {"stored": deliveries.stored, "refused": deliveries.refused, "quarantined": deliveries.quarantined},
        "open_discrepancies": vendor.open_discrepancies,
    }


def _instant(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


# ---------------------------------------------------------------- the OpenAPI description

_NULLABLE_INSTANT: Final = {"type": ["string", "null"], "format": "date-time"}
_VENDOR: Final = {
    "type": "object",
    "properties": {
        "vendor": {"type": "string", "enum": [vendor.value for vendor in VENDORS]},
        "configured": {"type": "boolean"},
        "last_delivery_at": {**_NULLABLE_INSTANT, "description": "When the last delivery the ledger took arrived"},
        "last_pull_at": {**_NULLABLE_INSTANT, "description": "When the last successful pull (a job or hub pull) ended"},
        "last_success_at": {**_NULLABLE_INSTANT, "description": "The later of the two"},
        "lag_seconds": {"type": ["number", "null"], "description": "Seconds since last_success_at"},
        "counts": {
            "type": "object",
            "properties": {
                "stored": {"type": "integer", "description": "Deliveries appended, duplicate or pending"},
                "refused": {"type": "integer", "description": "Refused at the door, within 90 days"},
                "quarantined": {"type": "integer", "description": "Held records waiting for a decision"},
            },
        },
        "open_discrepancies": {
            "type": "integer",
            "description": "Discrepancies with the vendor still open; 0 while reconciliation records none",
        },
    },
}
_UNAUTHENTICATED: Final = problem_answer("No valid bearer token: WWW-Authenticate names the Bearer challenge")

openapi_paths: dict[str, object] = {
    "/api/v1/health/vendors": {
        "get": {
            "summary": "How each vendor stands: last success, lag, deliveries, held records, open discrepancies",
            "description": "Operators only (bearer token); anyone else 404.",
            "operationId": "vendorHealth",
            "responses": {
                "200": {
                    "description": "Every vendor, configured or not",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "checked_at": {"type": "string", "format": "date-time"},
                                    "vendors": {"type": "array", "items": _VENDOR},
                                },
                            }
                        }
                    },
                },
                "401": _UNAUTHENTICATED,
                "404": problem_answer("Not for this caller: only operators read the vendors' health"),
                "503": problem_answer("The database could not be read in time; retry"),
            },
        }
    },
    "/metrics": {
        "get": {
            "summary": "Prometheus metrics: the vendors' health, read from the database at each scrape",
            "description": (
                "Operators and auditors (bearer token; give Prometheus an auditor's token). hub_health_read_success "
                "is 0, and no vendor figures follow, when the database could not be read in time. Per vendor: "
                "hub_vendor_configured, hub_vendor_deliveries_stored, hub_vendor_deliveries_refused, "
                "hub_vendor_held_records, hub_vendor_open_discrepancies, hub_vendor_last_success_timestamp_seconds "
                "and hub_vendor_lag_seconds."
            ),
            "operationId": "metrics",
            "responses": {
                "200": {
                    "description": "The Prometheus text format",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                },
                "401": unauthenticated(SecurityScheme.BEARER, "No valid bearer token"),
                "404": problem_answer("Not for this caller: only operators and auditors read the metrics"),
            },
        }
    },
}
