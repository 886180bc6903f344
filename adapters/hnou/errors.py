"""Errors of the hnou adapter: a form notification it refuses, and a daily file it could not read.

A refused notification carries ``reason``, the short stable code the hub answers as
``FAIL:<reason>`` (vendors.md, section 3). Each refusal is also the general adapter error of its
kind (``BodyTooLarge``, ``DeliveryInvalid``, ``SignatureRefused``), listed in brackets:

    AdapterError                    (adapters.errors) a delivery or a pull the hub could not take
    ├── NotificationRefused         a form answered FAIL:<reason>; nothing was stored
    │   ├── FormTooLarge            [BodyTooLarge] body_too_large: over the limit, refused unread
    │   ├── FormUnreadable          [DeliveryInvalid] invalid_body: not a UTF-8 url-encoded form,
    │   │                           or a field given twice
    │   ├── UnknownAppid            [SignatureRefused] unknown_appid: missing, or not the configured one
    │   ├── InvalidSign             [SignatureRefused] invalid_sign: sign_type is not HMAC-SHA256,
    │   │                           or sign does not verify
    │   ├── InvalidTimestamp        [SignatureRefused] invalid_timestamp: missing, malformed, or more
    │   │                           than 300 s from the hub's clock
    │   ├── NonceRefused            [SignatureRefused] invalid_nonce (not 16 to 64 printable ASCII
    │   │                           characters) or reused_nonce (seen in the last 10 minutes)
    │   └── FieldsInvalid           [DeliveryInvalid] invalid_field:<names>; ``errors`` names every
    │                               field at fault
    ├── HnouUnavailable             the nonces cannot be stored now (answered 503 FAIL:unavailable)
    └── DailyFileFailed             a daily file could not be read to its end; what was stored stays
        ├── DailyFileRefused        hnou answered an error, or kept failing beyond the retry budget
        └── DailyFileInvalid        not the contract's header, over the size limit, or cut off

Messages and reasons name fields, never a value that was sent: no ID number, secret or signature.
"""

from __future__ import annotations

from collections.abc import Sequence

from adapters.errors import AdapterError, BodyTooLarge, DeliveryInvalid, SignatureRefused
from ledger.errors import FieldError


class NotificationRefused(AdapterError):
    """A form notification the hub answers ``FAIL:<reason>``."""

    code = "notification_refused"
    title = "The notification was refused"
    reason = "refused"


class FormTooLarge(NotificationRefused, BodyTooLarge):
    code = BodyTooLarge.code
    title = BodyTooLarge.title
    reason = "body_too_large"


class FormUnreadable(NotificationRefused, DeliveryInvalid):
    code = DeliveryInvalid.code
    title = DeliveryInvalid.title
    reason = "invalid_body"

    def __init__(self, message: str) -> None:
        DeliveryInvalid.__init__(self, [FieldError("body", message)])


class UnknownAppid(NotificationRefused, SignatureRefused):
    code = SignatureRefused.code
    title = SignatureRefused.title
    reason = "unknown_appid"


class InvalidSign(NotificationRefused, SignatureRefused):
    code = SignatureRefused.code
    title = SignatureRefused.title
    reason = "invalid_sign"


class InvalidTimestamp(NotificationRefused, SignatureRefused):
    code = SignatureRefused.code
    title = SignatureRefused.title
    reason = "invalid_timestamp"


class NonceRefused(NotificationRefused, SignatureRefused):
    code = SignatureRefused.code
    title = SignatureRefused.title

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class FieldsInvalid(NotificationRefused, DeliveryInvalid):
    """Every field at fault, by its name on the wire; ``reason`` names them in the order found."""

    code = DeliveryInvalid.code
    title = DeliveryInvalid.title

    def __init__(self, errors: Sequence[FieldError]) -> None:
        DeliveryInvalid.__init__(self, list(errors))
        self.reason = "invalid_field:" + ",".join(dict.fromkeys(error.field for error in errors))


class HnouUnavailable(AdapterError):
    code = "unavailable"
    title = "Nothing can be stored right now"


class DailyFileFailed(AdapterError):
    code = "daily_file_failed"
    title = "The daily file could not be read to its end"


class DailyFileRefused(DailyFileFailed):
    code = "daily_file_refused"
    title = "hnou refused or failed to serve the daily file"


class DailyFileInvalid(DailyFileFailed):
    code = "daily_file_invalid"
    title = "The daily file is not as the contract says"
