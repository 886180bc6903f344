"""Errors of the vendor adapters: a delivery the hub refuses, and why.

AdapterError                 a refused delivery, with a stable ``code``
├── BodyTooLarge             the body is over the vendor's limit (refused before it is read whole)
├── SignatureRefused         a missing or malformed signature header, no valid signature, or a
│                            timestamp outside the tolerance; nothing is stored
└── DeliveryInvalid          a well-signed delivery whose content is not valid; ``errors``
                             names every field at fault
"""

from __future__ import annotations

from ledger.errors import FieldError


class AdapterError(Exception):
    """A delivery the hub refuses."""

    code = "delivery_refused"
    title = "The delivery was refused"


class BodyTooLarge(AdapterError):
    code = "body_too_large"
    title = "The body is too large"


class SignatureRefused(AdapterError):
    code = "signature_refused"
    title = "The signature does not verify"


class DeliveryInvalid(AdapterError):
    code = "delivery_invalid"
    title = "The delivery is not valid"

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(f"{error.field}: {error.message}" for error in errors))
