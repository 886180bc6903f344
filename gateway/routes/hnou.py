"""``POST /webhooks/hnou``: hnou's signed form notifications, answered in its own text protocol.

The size limit is checked here, before the body is read whole; the checks of the form are the
adapter's, in the spec's order; the ledger decides. ``SUCCESS`` goes out only once the record is
committed (group commit), or when it was already stored; ``FAIL:<reason>`` with 200 for a refused
form, stored nothing; 503 ``FAIL:unavailable`` while nothing can be stored, so that hnou retries.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

import structlog
from aiohttp import web
from sqlalchemy.exc import DBAPIError

from adapters.hnou.errors import FormTooLarge, HnouUnavailable, NotificationRefused, UnknownAppid
from adapters.hnou.form import FORM_BODY_BYTES_MAX, FORM_CONTENT_TYPE
from adapters.ports import AccountLink, InboundWebhook
from gateway.bodies import read_at_most
from gateway.keys import DELIVERIES, HUB
from ledger.errors import LedgerUnavailable
from ledger.model import Source

SUCCESS: Final = "SUCCESS"
UNAVAILABLE: Final = "FAIL:unavailable"

routes = web.RouteTableDef()
log = structlog.get_logger(__name__)


async def read_form_body(request: web.Request, bytes_max: int) -> bytes:
    """The raw body, refused with ``FormTooLarge`` as soon as it is known to exceed the limit."""
    body = await read_at_most(request, bytes_max)
    if body is None:
        raise FormTooLarge(f"the body is over {bytes_max} bytes")
    return body


@routes.post("/webhooks/hnou")
async def hnou_webhook(request: web.Request) -> web.Response:
    try:
        receiver = request.app[HUB].vendors.receiver(Source.HNOU)
        body = await read_form_body(request, FORM_BODY_BYTES_MAX if receiver is None else receiver.body_bytes_max)
        if receiver is None:
            raise UnknownAppid("hnou is not configured: no appid is known")
        webhook = InboundWebhook(request.headers, body, request.content_type, request.charset)
        delivery = await receiver.receive(webhook, datetime.now(UTC))
        if isinstance(delivery, AccountLink):  # a bug: hnou's forms carry completions only
            raise TypeError("hnou's receiver answered an account link")
        outcome = await request.app[DELIVERIES].submit(delivery)
    except NotificationRefused as refused:
        log.info("delivery_refused", vendor="hnou", reason=refused.reason)
        await request.app[HUB].ingestion.refused(Source.HNOU, refused)  # for the operators' ingestion view
        return _answer(200, f"FAIL:{refused.reason}")
    # The nonces, the people or the ledger cannot be reached: nothing was stored, and hnou retries.
    except (HnouUnavailable, LedgerUnavailable, DBAPIError, OSError) as error:
        log.warning("delivery_not_stored", vendor="hnou", error=type(error).__name__)
        return _answer(503, UNAVAILABLE)
    # The delivery's receipt in the ledger is its durable record; this line is for debugging.
    log.debug(
        "delivery_stored",
        vendor="hnou",
        delivery_id=delivery.delivery_id,
        record_id=delivery.command.record_id,
        outcome=outcome.kind.value,
    )
    return _answer(200, SUCCESS)


def _answer(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text, content_type="text/plain", charset="utf-8")


_FORM_FIELDS: Final = {
    "appid": "The app id hnou was given",
    "record_no": "hnou's id of the completion",
    "idcard": "The learner's ID number (GB 11643; a lower-case x is X)",
    "kcbh": "Course code",
    "kcmc": "Course name",
    "kmlx": "Subject: 1 public, 2 professional",
    "xs": "Hours, a decimal string with at most two fractional digits",
    "wcsj": "Completion time yyyyMMddHHmmss, Beijing time",
    "zt": "1 completed, 0 revoked",
    "timestamp": "Unix seconds, within 300 s of the hub's clock",
    "nonce": "16 to 64 characters, never reused within 10 minutes",
    "sign_type": "HMAC-SHA256",
    "sign": "Uppercase hex HMAC-SHA256 over the other non-empty fields, sorted, k=v&k=v",
}
_TEXT_ANSWER: Final = {"text/plain": {"schema": {"type": "string"}}}

openapi_paths: dict[str, object] = {
    "/webhooks/hnou": {
        "post": {
            "summary": "hnou's signed form notification of a completion or a revocation",
            "operationId": "hnouWebhook",
            "requestBody": {
                "required": True,
                "content": {
                    FORM_CONTENT_TYPE: {
                        "schema": {
                            "type": "object",
                            "properties": {
                                name: {"type": "string", "description": description}
                                for name, description in _FORM_FIELDS.items()
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": {
                    "description": (
                        "SUCCESS once stored (or already stored), else FAIL:<reason>: body_too_large, "
                        "invalid_body, unknown_appid, invalid_sign, invalid_timestamp, invalid_nonce, "
                        "reused_nonce, invalid_field:<names>; a refused form stored nothing"
                    ),
                    "content": _TEXT_ANSWER,
                },
                "503": {"description": "FAIL:unavailable: nothing can be stored now; retry", "content": _TEXT_ANSWER},
            },
        }
    }
}
