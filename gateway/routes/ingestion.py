"""Operators and auditors: what each vendor delivered and what became of it.

``GET /api/v1/ingestion/events`` lists deliveries newest first: each one the ledger took, with its
outcome (appended, duplicate, held with the reason, pending), and the refusals at the door
(a bad signature, a stale timestamp, a reused nonce, a body over the limit, an invalid body or
form), counted per vendor, reason, fields at fault and minute. ``GET /api/v1/ingestion/summary``
counts them per vendor. Supervisors, staff and anyone else get 404; no credentials 401.

Nothing personal is answered: the events hold vendors' ids of deliveries and records, never a
body; an id that happens to hold a valid ID number (a daily file's line with its columns swapped)
is masked all the same.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Final

from aiohttp import hdrs, web

from adapters.ingestion.model import (
    EVENTS_PAGE_SIZE_DEFAULT,
    EVENTS_PAGE_SIZE_MAX,
    VENDORS,
    EventOutcome,
    IngestionEvent,
    VendorSummary,
    parse_event_query,
    parse_summary_query,
)
from gateway.bearer import require_caller
from gateway.keys import HUB
from gateway.openapi import page_answer, page_parameters, problem_answer
from ledger.model import HoldReason
from sso.access.model import Role
from sso.errors import InvalidIdNumber
from sso.id_numbers import mask_id_number, normalise_id_number

READERS: Final = (Role.OPERATOR, Role.AUDITOR)
NO_STORE: Final = {hdrs.CACHE_CONTROL: "no-store"}
_ID_NUMBER_SHAPE: Final = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])", re.ASCII)

routes = web.RouteTableDef()


@routes.get("/api/v1/ingestion/events")
async def ingestion_events(request: web.Request) -> web.Response:
    await require_caller(request, *READERS)
    query = parse_event_query(request.query.items())
    page = await request.app[HUB].ingestion.events(query)
    document = {"items": [_event_document(event) for event in page.events], "next_cursor": page.next_cursor}
    return web.json_response(document, headers=NO_STORE)


@routes.get("/api/v1/ingestion/summary")
async def ingestion_summary(request: web.Request) -> web.Response:
    await require_caller(request, *READERS)
    window = parse_summary_query(request.query.items())
    summaries = await request.app[HUB].ingestion.summary(window)
    document = {
        "from": _instant(window.since),
        "to": _instant(window.until),
        "vendors": [_summary_document(summary) for summary in summaries],
    }
    return web.json_response(document, headers=NO_STORE)


def _event_document(event: IngestionEvent) -> dict[str, object]:
    return {
        "vendor": event.vendor.value,
        "outcome": event.outcome.value,
        "reason": event.reason,
        "fields": list(event.fields),
        "count": event.count,
        "delivery_id": _screened(event.delivery_id),
        "record_id": _screened(event.record_id),
        "kind": None if event.kind is None else event.kind.value,
        "entry_seq": event.entry_seq,
        "received_at": _instant(event.received_at),
        "last_received_at": _instant(event.last_received_at),
    }


def _summary_document(summary: VendorSummary) -> dict[str, object]:
    return {
        "vendor": summary.vendor.value,
        "arrived": summary.arrived,
        "outcomes": {outcome.value: summary.outcomes.get(outcome, 0) for outcome in EventOutcome},
        "held": {**{reason.value: 0 for reason in HoldReason}, **summary.held},
        "refusals": dict(sorted(summary.refusals.items())),
        "last_stored_at": _instant(summary.last_stored_at),
    }


def _screened(text: str | None) -> str | None:
    """The text with every valid ID number in it masked (the first 6 and last 4 characters kept)."""
    return None if text is None else _ID_NUMBER_SHAPE.sub(_masked, text)


def _masked(match: re.Match[str]) -> str:
    try:
        return mask_id_number(normalise_id_number(match.group()))
    except InvalidIdNumber:
        return match.group()  # digits that only look like one: a vendor's long numeric id


def _instant(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


# ---------------------------------------------------------------- the OpenAPI description

_DESCRIPTION: Final = (
    "Operators and auditors (read-only). Needs `Authorization: Bearer <token>`; for any other role, "
    "and for staff, the answer is 404."
)
_INSTANT: Final = {"type": "string", "format": "date-time"}
_NULLABLE_TEXT: Final = {"type": ["string", "null"]}
_COUNTS: Final = {"type": "object", "additionalProperties": {"type": "integer"}}
_WINDOW_PARAMETERS: Final = [
    {"name": "from", "in": "query", "schema": _INSTANT, "description": "Received at or after; with its offset"},
    {"name": "to", "in": "query", "schema": _INSTANT, "description": "Received before; with its offset"},
]
_EVENT: Final = {
    "type": "object",
    "properties": {
        "vendor": {"type": "string", "enum": [vendor.value for vendor in VENDORS]},
        "outcome": {"type": "string", "enum": [outcome.value for outcome in EventOutcome]},
        "reason": {
            **_NULLABLE_TEXT,
            "description": (
                "Held: conflict, unknown_person or malformed. Refused: the adapter's code (body_too_large, "
                "signature_refused, delivery_invalid) or hnou's FAIL reason (body_too_large, invalid_body, "
                "unknown_appid, invalid_sign, invalid_timestamp, invalid_nonce, reused_nonce, invalid_field)"
            ),
        },
        "fields": {"type": "array", "items": {"type": "string"}, "description": "Refused: the fields at fault"},
        "count": {
            "type": "integer",
            "description": "1 for a delivery the ledger took; for refusals, how many of this vendor, reason and "
            "fields arrived in the minute of received_at",
        },
        "delivery_id": {
            **_NULLABLE_TEXT,
            "description": "The vendor's id of the delivery; for refusals the last one whose signature verified",
        },
        "record_id": {**_NULLABLE_TEXT, "description": "The vendor's id of the record; null for refusals"},
        "kind": {"type": ["string", "null"], "enum": ["credit", "reversal", None]},
        "entry_seq": {"type": ["integer", "null"], "description": "The ledger entry written or found"},
        "received_at": _INSTANT,
        "last_received_at": _INSTANT,
    },
}
_VENDOR_SUMMARY: Final = {
    "type": "object",
    "properties": {
        "vendor": {"type": "string"},
        "arrived": {"type": "integer", "description": "Every delivery: those the ledger took and those refused"},
        "outcomes": {**_COUNTS, "description": "appended, duplicate, held, pending, refused"},
        "held": {**_COUNTS, "description": "Held deliveries by reason"},
        "refusals": {**_COUNTS, "description": "Refused deliveries by reason"},
        "last_stored_at": {
            "type": ["string", "null"],
            "format": "date-time",
            "description": "When the last delivery in the window that the ledger took was received",
        },
    },
}
_UNAUTHENTICATED: Final = problem_answer("No valid bearer token: WWW-Authenticate names the Bearer challenge")
_NOT_FOUND: Final = problem_answer("Not for this caller: only operators and auditors read ingestion")
_INVALID: Final = problem_answer("Invalid parameters: errors lists every parameter at fault")
_UNAVAILABLE: Final = problem_answer("The database cannot be reached; retry")

openapi_paths: dict[str, object] = {
    "/api/v1/ingestion/events": {
        "get": {
            "summary": "Deliveries per vendor, newest first: stored with their outcome, held, pending or refused",
            "description": _DESCRIPTION,
            "operationId": "listIngestionEvents",
            "parameters": [
                {"name": "vendor", "in": "query", "schema": {"type": "string", "enum": [v.value for v in VENDORS]}},
                {
                    "name": "outcome",
                    "in": "query",
                    "schema": {"type": "string", "enum": [o.value for o in EventOutcome]},
                },
                *_WINDOW_PARAMETERS,
                *page_parameters(EVENTS_PAGE_SIZE_MAX, EVENTS_PAGE_SIZE_DEFAULT),
            ],
            "responses": {
                "200": page_answer("A page of events; next_cursor is null on the last page", _EVENT),
                "401": _UNAUTHENTICATED,
                "404": _NOT_FOUND,
                "422": _INVALID,
                "503": _UNAVAILABLE,
            },
        }
    },
    "/api/v1/ingestion/summary": {
        "get": {
            "summary": "Per vendor: deliveries by outcome, held and refused by reason, the last one stored",
            "description": _DESCRIPTION,
            "operationId": "summariseIngestion",
            "parameters": _WINDOW_PARAMETERS,
            "responses": {
                "200": {
                    "description": "Every vendor, with zeros where nothing arrived",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "from": {"type": ["string", "null"], "format": "date-time"},
                                    "to": {"type": ["string", "null"], "format": "date-time"},
                                    "vendors": {"type": "array", "items": _VENDOR_SUMMARY},
                                },
                            }
                        }
                    },
                },
                "401": _UNAUTHENTICATED,
                "404": _NOT_FOUND,
                "422": _INVALID,
                "503": _UNAVAILABLE,
            },
        }
    },
}
