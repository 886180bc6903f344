"""``POST /webhooks/ischinese``: the size limit here, everything else in the adapter and the ledger.

A 2xx goes out only once the event is committed (group commit); 503 while nothing can be stored,
so that the vendor retries.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import structlog
from aiohttp import web

from adapters.errors import AdapterError, BodyTooLarge, DeliveryInvalid
from adapters.ports import AccountLink, InboundWebhook
from gateway.bodies import read_at_most
from gateway.keys import DELIVERIES, HUB
from gateway.openapi import problem_answer
from ledger.errors import FieldError, NoRulesForYear
from ledger.model import OutcomeKind, Source

routes = web.RouteTableDef()
STORED_ANSWERS = {kind: json.dumps({"status": kind.value}).encode() for kind in OutcomeKind}
log = structlog.get_logger(__name__)


@routes.post("/webhooks/ischinese")
async def ischinese_webhook(request: web.Request) -> web.Response:
    try:
        return await _receive(request)
    except AdapterError as refused:
        log.info("delivery_refused", vendor="ischinese", code=refused.code, reason=_reason(refused))
        # Counted for the operators' ingestion view; the webhook-id only once the signature vouched for it.
        delivery_id = request.headers.get("webhook-id") if isinstance(refused, DeliveryInvalid) else None
        await request.app[HUB].ingestion.refused(Source.ISCHINESE, refused, delivery_id)
        raise


def _reason(refused: AdapterError) -> str:
    """Why a delivery was refused, fit for a log line: the check that failed (its words are the
    adapter's own, never the request's), or the names of the fields at fault."""
    if isinstance(refused, DeliveryInvalid):
        return "invalid fields: " + ", ".join(error.field for error in refused.errors)
    return str(refused)


async def _receive(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    receiver = hub.vendors.receiver(Source.ISCHINESE)
    if receiver is None:
        raise web.HTTPNotFound(text="ischinese is not configured")
    body = await read_at_most(request, receiver.body_bytes_max)
    if body is None:
        raise BodyTooLarge(f"the body is over {receiver.body_bytes_max} bytes")
    webhook = InboundWebhook(request.headers, body, request.content_type, request.charset)
    received = await receiver.receive(webhook, datetime.now(UTC))
    if isinstance(received, AccountLink):
        linked = await hub.directory.link_account("ischinese", received.sub, received.account_id)
        log.info("vendor_account_linked", vendor="ischinese", message_id=received.message_id, known=linked)
        return web.json_response({"status": "linked" if linked else "unknown_subject"})
    try:
        outcome = await request.app[DELIVERIES].submit(received)
    except NoRulesForYear as refused:  # a valid body the hub cannot count: the vendor's error
        raise DeliveryInvalid([FieldError("data.completed_at", str(refused))]) from None
    # The delivery's receipt in the ledger is its record (the operators' ingestion view reads it),
    # so no log line per delivery: at a few thousand a second it would cost more than the rest.
    return web.Response(body=STORED_ANSWERS[outcome.kind], content_type="application/json")


openapi_paths: dict[str, object] = {
    "/webhooks/ischinese": {
        "post": {
            "summary": "ischinese's Standard Webhooks: completion.created, completion.revoked, account.linked",
            "operationId": "ischineseWebhook",
            "parameters": [
                {"name": name, "in": "header", "required": True, "schema": {"type": "string"}}
                for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
            ],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
            "responses": {
                "200": {
                    "description": "Stored (appended, duplicate, held, pending); linked, or unknown_subject",
                    "content": {
                        "application/json": {"schema": {"type": "object", "properties": {"status": {"type": "string"}}}}
                    },
                },
                "400": problem_answer("A well-signed body that is not valid; `errors` names every field"),
                "401": problem_answer("A missing or bad signature, or a stale timestamp; nothing stored"),
                "413": problem_answer("The body is over 64 KiB"),
                "503": problem_answer("Nothing can be stored now; retry"),
            },
        }
    }
}
