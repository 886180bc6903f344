"""Errors of quarantine review.

    AdapterError                 (adapters.errors) a delivery or a request the adapters refuse
    └── QuarantineError          quarantine review's own, with a stable ``code``
        ├── InvalidQuarantineRequest   the parameters or the body are not valid; ``errors`` names
        │                              every one at fault
        ├── PersonStillUnknown   a held record's learner is still nobody the hub knows: not released
        ├── RecordStillInvalid   a held record still cannot be read; ``errors`` names the fields
        └── VendorNotConfigured  the held record's vendor is not configured, so nothing can
                                 translate it

Messages name fields and ids, never a value of a held record.
"""

from __future__ import annotations

from collections.abc import Sequence

from adapters.errors import AdapterError
from ledger.errors import FieldError


class QuarantineError(AdapterError):
    code = "quarantine_error"
    title = "Quarantine review failed"


class InvalidQuarantineRequest(QuarantineError):
    code = "invalid_quarantine_request"
    title = "The request is not valid"

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(f"{error.field}: {error.message}" for error in errors))


class PersonStillUnknown(QuarantineError):
    code = "person_still_unknown"
    title = "The learner is still unknown"


class RecordStillInvalid(QuarantineError):
    code = "record_still_invalid"
    title = "The held record still cannot be read"

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = tuple(errors)
        super().__init__("the held record still cannot be read: " + "; ".join(error.field for error in errors))


class VendorNotConfigured(QuarantineError):
    code = "vendor_not_configured"
    title = "The vendor is not configured"
