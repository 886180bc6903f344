"""ischinese's Standard Webhooks: the signature check and the three events (vendors.md, section 1).

The check runs over the raw body, in constant time, against every configured secret (rotation),
and accepts only ``v1`` signatures within ±300 seconds of the hub's clock.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from adapters.errors import DeliveryInvalid, SignatureRefused
from adapters.wire import iso_time, wire_hours
from ledger.errors import FieldError
from ledger.model import CONTROL_CHARACTERS_MESSAGE, Subject, has_control_characters

VENDOR = "ischinese"
WEBHOOK_BODY_BYTES_MAX = 64 * 1024
TIMESTAMP_TOLERANCE_SECONDS = 300
SIGNATURES_PER_HEADER_MAX = 16
IDENTIFIER_CHARACTERS_MAX = 200
TITLE_CHARACTERS_MAX = 200
REASON_CHARACTERS_MAX = 500
SUBJECTS = frozenset(member.value for member in Subject)
DECODER = json.JSONDecoder(parse_float=Decimal)  # one for every body: json.loads would build one per call
SECRET_PREFIX = "whsec_"  # noqa: S105  (the prefix of every secret, not a secret)


def signing_key(secret: str) -> bytes:
    """The HMAC key of a configured ``whsec_…`` secret: the base64 text after the prefix."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def verify_signature(headers: Mapping[str, str], body: bytes, keys: Sequence[bytes], now: datetime) -> str:
    """Check the ``webhook-*`` headers against the raw body; return the ``webhook-id``.

    Raises ``SignatureRefused`` for a missing or malformed header, a timestamp more than
    300 seconds away from ``now``, or no valid ``v1`` signature under any of ``keys``.
    """
    message_id = headers.get("webhook-id", "")
    timestamp_text = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    if not message_id or len(message_id) > IDENTIFIER_CHARACTERS_MAX:
        raise SignatureRefused("the webhook-id header is missing or too long")
    if not timestamp_text.isdigit():
        raise SignatureRefused("the webhook-timestamp header must be integer Unix seconds")
    if abs(now.timestamp() - int(timestamp_text)) > TIMESTAMP_TOLERANCE_SECONDS:
        raise SignatureRefused("the webhook-timestamp is more than 300 seconds from the hub's clock")
    offered = _v1_signatures(signatures)
    signed = f"{message_id}.{timestamp_text}.".encode() + body
    expected = [hmac.new(key, signed, hashlib.sha256).digest() for key in keys]
    # Compare every pair, so the time taken does not depend on which one matches.
    matches = [hmac.compare_digest(candidate, wanted) for candidate in offered for wanted in expected]
    if not any(matches):
        raise SignatureRefused("no valid v1 signature")
    return message_id


def _v1_signatures(header: str) -> list[bytes]:
    parts = header.split()
    if not parts or len(parts) > SIGNATURES_PER_HEADER_MAX:
        raise SignatureRefused("the webhook-signature header is missing or has too many signatures")
    found = []
    for part in parts:
        version, separator, encoded = part.partition(",")
        if not separator:
            raise SignatureRefused("the webhook-signature header is malformed")
        if version != "v1":
            continue  # other versions are ignored, as the spec says
        try:
            found.append(base64.b64decode(encoded, validate=True))
        except binascii.Error:
            raise SignatureRefused("the webhook-signature header is malformed") from None
    return found


@dataclass(frozen=True, slots=True)
class CompletionCreated:
    completion_id: str
    sub: str
    course_id: str
    course_title: str
    subject: Subject
    hours: Decimal
    completed_at: datetime


@dataclass(frozen=True, slots=True)
class CompletionRevoked:
    completion_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class AccountLinked:
    sub: str
    account_id: str


Event = CompletionCreated | CompletionRevoked | AccountLinked
EVENT_TYPES = ("completion.created", "completion.revoked", "account.linked")


def parse_event(body: bytes) -> Event:
    """The event in a verified body; raises ``DeliveryInvalid`` naming every field at fault."""
    try:
        document = DECODER.decode(body.decode(json.detect_encoding(body), "surrogatepass"))  # as json.loads
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise DeliveryInvalid([FieldError("body", "must be a JSON object in UTF-8")]) from None
    if not isinstance(document, dict):
        raise DeliveryInvalid([FieldError("body", "must be a JSON object")])
    kind = document.get("type")
    data = document.get("data")
    errors: list[FieldError] = []
    if kind not in EVENT_TYPES:
        errors.append(FieldError("type", f"must be one of {', '.join(EVENT_TYPES)}"))
    if not isinstance(data, dict):
        errors.append(FieldError("data", "must be an object"))
    if errors or not isinstance(data, dict):
        raise DeliveryInvalid(errors)
    event = _parse_data(str(kind), data, errors)
    if errors or event is None:
        raise DeliveryInvalid(errors)
    return event


def _parse_data(kind: str, data: dict[str, Any], errors: list[FieldError]) -> Event | None:
    if kind == "completion.revoked":
        completion_id = _identifier(data, "completion_id", errors)
        reason = _text(data.get("reason", ""), "data.reason", REASON_CHARACTERS_MAX, errors) or "revoked by ischinese"
        return CompletionRevoked(completion_id, reason) if completion_id else None
    if kind == "account.linked":
        sub, account_id = _identifier(data, "sub", errors), _identifier(data, "account_id", errors)
        return AccountLinked(sub, account_id) if sub and account_id else None
    return parse_completion(data, errors)


def parse_completion(data: dict[str, Any], errors: list[FieldError]) -> CompletionCreated | None:
    """A completion's ``data`` (of a ``completion.created`` event, or an item of the listing);
    ``None`` with every field at fault added to ``errors``."""
    completion_id = _identifier(data, "completion_id", errors)
    sub = _identifier(data, "sub", errors)
    course = data.get("course")
    if not isinstance(course, dict):
        errors.append(FieldError("data.course", "must be an object"))
        course = {}
    course_id = _identifier(course, "id", errors, prefix="data.course.")
    title = _text(course.get("title", ""), "data.course.title", TITLE_CHARACTERS_MAX, errors)
    subject = str(course.get("subject"))
    if subject not in SUBJECTS:
        errors.append(FieldError("data.course.subject", "must be public or professional"))
    hours = wire_hours(course.get("hours"), "data.course.hours", errors)
    completed_at = iso_time(data.get("completed_at"), "data.completed_at", errors)
    if errors or hours is None or completed_at is None:
        return None
    return CompletionCreated(completion_id, sub, course_id, title, Subject(subject), hours, completed_at)


def _identifier(data: dict[str, Any], name: str, errors: list[FieldError], prefix: str = "data.") -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > IDENTIFIER_CHARACTERS_MAX:
        errors.append(FieldError(prefix + name, f"must be a non-empty string of at most {IDENTIFIER_CHARACTERS_MAX}"))
        return ""
    if has_control_characters(value):
        errors.append(FieldError(prefix + name, CONTROL_CHARACTERS_MESSAGE))
        return ""
    return value


def _text(value: object, field: str, length_max: int, errors: list[FieldError]) -> str:
    if not isinstance(value, str) or len(value) > length_max:
        errors.append(FieldError(field, f"must be a string of at most {length_max} characters"))
        return ""
    if has_control_characters(value):
        errors.append(FieldError(field, CONTROL_CHARACTERS_MESSAGE))
        return ""
    return value
