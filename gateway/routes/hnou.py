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

from adapters.hnou.errors import FormTooLarge, HnouUnavailable, NotificationRefused
from adapters.hnou.form import FORM_BODY_BYTES_MAX, FORM_CONTENT_TYPE
from adapters.hnou.receiver import FormCredentials, HnouReceiver
from adapters.hnou.store import SqlNonceRegister
from adapters.hnou.translation import Translator
from adapters.ports import LearnerDirectory
from gateway.bodies import read_at_most
from gateway.bootstrap import Hub
from gateway.keys import DELIVERIES, DIRECTORY, HUB
from ledger.errors import LedgerUnavailable
from ledger.model import Source

SUCCESS: Final = "SUCCESS"
UNAVAILABLE: Final = "FAIL:unavailable"

routes = web.RouteTableDef()
log = structlog.get_logger(__name__)


def hnou_receiver(hub: Hub, directory: LearnerDirectory) -> HnouReceiver:
    """The receiver of hnou's forms on this hub (cheap: it holds only references)."""
    settings = hub.settings.vendors.hnou
    credentials = None if settings is None else FormCredentials(settings.appid, settings.appsecret.get_secret_value())
    translator = Translator(directory.person_for_id_number, hub.keyring, hub.ledger.check)
    return HnouReceiver(credentials, SqlNonceRegister(hub.engine), translator)


async def read_form_body(request: web.Request) -> bytes:
    """The raw body, refused with ``FormTooLarge`` as soon as it is known to exceed the limit."""
    body = await read_at_most(request, FORM_BODY_BYTES_MAX)
    if body is None:
        raise FormTooLarge(f"the body is over {FORM_BODY_BYTES_MAX} bytes")
    return body


@routes.post("/webhooks/hnou")
async def hnou_webhook(request: web.Request) -> web.Response:
    try:
        body = await read_form_body(request)
        receiver = hnou_receiver(request.app[HUB], request.app[DIRECTORY])
        delivery = await receiver.receive(body, request.content_type, request.charset, datetime.now(UTC))
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
