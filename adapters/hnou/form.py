"""hnou's signed form notifications (vendors.md, section 3, "Completions"): the form, its signature,
its timestamp and its nonce, each check raising the refusal the hub answers as ``FAIL:<reason>``.

``sign`` is the uppercase hex HMAC-SHA256, keyed with the UTF-8 bytes of ``appsecret``, over every
other non-empty field except ``sign`` and ``sign_type``, sorted by name in ASCII order and joined as
``k=v&k=v`` with the values as received: decoded from the form, not URL-encoded again. The daily
file's request is signed the same way.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Final
from urllib.parse import parse_qsl

from adapters.hnou.errors import FormTooLarge, FormUnreadable, InvalidSign, InvalidTimestamp, NonceRefused, UnknownAppid

FORM_BODY_BYTES_MAX: Final = 8 * 1024
FORM_FIELDS_MAX: Final = 32
TIMESTAMP_TOLERANCE_SECONDS: Final = 300
NONCE_MEMORY_SECONDS: Final = 600
FORM_CONTENT_TYPE: Final = "application/x-www-form-urlencoded"
SIGN_TYPE: Final = "HMAC-SHA256"
UNSIGNED_FIELDS: Final = frozenset({"sign", "sign_type"})

_SIGN: Final = re.compile(r"[0-9A-F]{64}", re.ASCII)
_TIMESTAMP: Final = re.compile(r"[0-9]{1,12}", re.ASCII)
_NONCE: Final = re.compile(r"[\x21-\x7e]{16,64}", re.ASCII)


def read_form(body: bytes, content_type: str, charset: str | None) -> dict[str, str]:
    """The fields of a url-encoded UTF-8 form body, each name once.

    Raises ``FormTooLarge`` over ``FORM_BODY_BYTES_MAX`` and ``FormUnreadable`` for another
    content type or charset, text that is not UTF-8, more than ``FORM_FIELDS_MAX`` fields, or a
    field given twice (which value was signed would be a guess).
    """
    if len(body) > FORM_BODY_BYTES_MAX:
        raise FormTooLarge(f"the body is over {FORM_BODY_BYTES_MAX} bytes")
    if content_type != FORM_CONTENT_TYPE or (charset or "utf-8").lower() != "utf-8":
        raise FormUnreadable(f"must be {FORM_CONTENT_TYPE} in UTF-8")
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=FORM_FIELDS_MAX,
        )
    except ValueError:  # UnicodeDecodeError is one
        raise FormUnreadable(f"must be a url-encoded UTF-8 form of at most {FORM_FIELDS_MAX} fields") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise FormUnreadable("must give each field once")
    return fields


def signing_string(fields: Mapping[str, str]) -> str:
    """``k=v&k=v`` of every non-empty field but ``sign`` and ``sign_type``, sorted by name in ASCII order."""
    signed = sorted(
        ((name, value) for name, value in fields.items() if value and name not in UNSIGNED_FIELDS),
        key=lambda pair: pair[0].encode("utf-8"),
    )
    return "&".join(f"{name}={value}" for name, value in signed)


def sign(fields: Mapping[str, str], appsecret: str) -> str:
    """The uppercase hex HMAC-SHA256 of ``signing_string(fields)`` keyed with ``appsecret``."""
    digest = hmac.new(appsecret.encode("utf-8"), signing_string(fields).encode("utf-8"), hashlib.sha256)
    return digest.hexdigest().upper()


def check_appid(fields: Mapping[str, str], appid: str) -> None:
    """Raises ``UnknownAppid`` unless the form names the configured ``appid``."""
    if fields.get("appid") != appid:
        raise UnknownAppid("the appid is missing or not the one configured for hnou")


def verify_sign(fields: Mapping[str, str], appsecret: str) -> None:
    """Raises ``InvalidSign`` unless ``sign_type`` is HMAC-SHA256 and ``sign`` verifies (in constant time)."""
    offered = fields.get("sign", "")
    if fields.get("sign_type") != SIGN_TYPE or _SIGN.fullmatch(offered) is None:
        raise InvalidSign(f"sign_type must be {SIGN_TYPE} and sign 64 uppercase hex digits")
    if not hmac.compare_digest(sign(fields, appsecret).encode("ascii"), offered.encode("ascii")):
        raise InvalidSign("the sign does not verify")


def check_timestamp(fields: Mapping[str, str], now: datetime) -> int:
    """The form's Unix ``timestamp``; raises ``InvalidTimestamp`` when it is missing, malformed or
    more than ``TIMESTAMP_TOLERANCE_SECONDS`` from ``now``, either way."""
    text = fields.get("timestamp", "")
    if _TIMESTAMP.fullmatch(text) is None:
        raise InvalidTimestamp("the timestamp must be integer Unix seconds")
    if abs(now.timestamp() - int(text)) > TIMESTAMP_TOLERANCE_SECONDS:
        raise InvalidTimestamp(f"the timestamp is more than {TIMESTAMP_TOLERANCE_SECONDS} seconds from the hub's clock")
    return int(text)


def nonce_of(fields: Mapping[str, str]) -> str:
    """The form's ``nonce``; raises ``NonceRefused`` (``invalid_nonce``) unless it has 16 to 64
    printable ASCII characters."""
    nonce = fields.get("nonce", "")
    if _NONCE.fullmatch(nonce) is None:
        raise NonceRefused("invalid_nonce", "the nonce must have 16 to 64 printable ASCII characters")
    return nonce
