"""Quarantine review, pure: its query and its cursor, and the bodies of a release and a rejection."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from typing import Final

from adapters.quarantine.errors import InvalidQuarantineRequest
from ledger.errors import FieldError
from ledger.model import HELD_PAGE_SIZE_MAX, HeldId, HeldQuery, HeldStatus, HoldReason, Source

VENDORS: Final = tuple(source for source in Source if source.is_vendor)
PAGE_SIZE_DEFAULT: Final = 50
REASON_CHARACTERS_MAX: Final = 500
QUERY_VALUE_CHARACTERS_MAX: Final = 100
_PARAMETERS: Final = frozenset({"vendor", "reason", "status", "cursor", "limit"})
_NAME: Final = re.compile(r"[A-Za-z0-9_.-]{1,40}", re.ASCII)
_CURSOR_PREFIX: Final = "held:"


def encode_cursor(held_id: HeldId) -> str:
    """An opaque cursor that continues after this held record."""
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{held_id}".encode()).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> HeldId | None:
    """The held record a cursor of ``encode_cursor`` names, or ``None`` for anything else."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    number = text.removeprefix(_CURSOR_PREFIX)
    if not text.startswith(_CURSOR_PREFIX) or not number.isdigit() or len(number) > 18:
        return None
    held_id = HeldId(int(number))
    return held_id if encode_cursor(held_id) == cursor else None


def parse_quarantine_query(parameters: Iterable[tuple[str, str]]) -> HeldQuery:
    """The listing's query in URL parameters (``vendor``, ``reason``, ``status``, ``cursor``, ``limit``).

    Raises ``InvalidQuarantineRequest`` naming every parameter at fault, unknown and repeated ones too.
    """
    values: dict[str, str] = {}
    errors: list[FieldError] = []
    for name, value in parameters:
        shown = name if _NAME.fullmatch(name) else "?"
        if name not in _PARAMETERS:
            errors.append(FieldError(shown, "is not a parameter of this query"))
        elif name in values:
            errors.append(FieldError(name, "must be given once"))
        elif len(value) > QUERY_VALUE_CHARACTERS_MAX:
            errors.append(FieldError(name, f"must be at most {QUERY_VALUE_CHARACTERS_MAX} characters"))
        else:
            values[name] = value
    vendor = _member(values.get("vendor"), "vendor", [vendor.value for vendor in VENDORS], errors)
    reason = _member(values.get("reason"), "reason", [reason.value for reason in HoldReason], errors)
    status = _member(values.get("status"), "status", [status.value for status in HeldStatus], errors)
    after = None
    if "cursor" in values and (after := decode_cursor(values["cursor"])) is None:
        errors.append(FieldError("cursor", "must be a next_cursor of this listing"))
    limit = _limit(values.get("limit"), errors)
    if errors:
        raise InvalidQuarantineRequest(errors)
    return HeldQuery(
        source=None if vendor is None else Source(vendor),
        reason=None if reason is None else HoldReason(reason),
        status=HeldStatus.HELD if status is None else HeldStatus(status),
        after=after,
        limit=limit,
    )


def _member(value: str | None, name: str, allowed: list[str], errors: list[FieldError]) -> str | None:
    if value is None:
        return None
    if value not in allowed:
        errors.append(FieldError(name, f"must be one of {', '.join(allowed)}"))
        return None
    return value


def _limit(value: str | None, errors: list[FieldError]) -> int:
    if value is None:
        return PAGE_SIZE_DEFAULT
    if not value.isdigit() or not 1 <= int(value) <= HELD_PAGE_SIZE_MAX:
        errors.append(FieldError("limit", f"must be a whole number from 1 to {HELD_PAGE_SIZE_MAX}"))
        return PAGE_SIZE_DEFAULT
    return int(value)


def parse_decision(document: object, *, reason_required: bool) -> str | None:
    """The ``reason`` of a release (optional) or a rejection (required) in a JSON body.

    Raises ``InvalidQuarantineRequest`` naming every field at fault.
    """
    if not isinstance(document, Mapping):
        raise InvalidQuarantineRequest([FieldError("body", "must be a JSON object")])
    errors = [
        FieldError(name if _NAME.fullmatch(str(name)) else "?", "is not a field of this request")
        for name in document
        if name != "reason"
    ]
    reason = document.get("reason")
    if reason is None and not reason_required:
        pass
    elif not isinstance(reason, str) or not reason.strip() or len(reason) > REASON_CHARACTERS_MAX:
        errors.append(FieldError("reason", f"must be a text of 1 to {REASON_CHARACTERS_MAX} characters"))
    if errors:
        raise InvalidQuarantineRequest(errors)
    return None if reason is None else str(reason).strip()
