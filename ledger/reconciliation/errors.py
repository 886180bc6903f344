"""Errors of reconciliation. Each is a ``LedgerError``: an expected refusal with a stable ``code``.

LedgerError                          (ledger.errors)
└── ReconciliationError              reconciliation's own
    ├── InvalidReconciliationRequest a request to start a run, a resolution or a query that is not
    │                                valid (an unknown vendor, a year without rules, an action that
    │                                does not fit the discrepancy's kind); ``errors`` names every
    │                                field at fault; nothing was recorded
    ├── ReconciliationRunning        a run of the same vendor is under way (here or in another process)
    ├── RunNotFound                  no run has this id
    ├── DiscrepancyNotFound          no discrepancy has this id
    ├── AlreadyResolved              the discrepancy was resolved before; nothing changed
    ├── LedgerMovedOn                the ledger holds another version of the record than the one
    │                                the run saw: nothing was appended; run the reconciliation again
    ├── VendorReadFailed             the vendor's records could not be read to the end (raised by
    │                                the vendors' readers, which translate their own errors into it)
    └── ReconciliationUnavailable    the database cannot be reached; retry later

Messages name fields, vendors, ids and reasons, never a secret or personal data.
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger.errors import FieldError, LedgerError


class ReconciliationError(LedgerError):
    code = "reconciliation_error"
    title = "Reconciliation refused the request"


class InvalidReconciliationRequest(ReconciliationError):
    code = "invalid_reconciliation_request"
    title = "The request is not valid"

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(f"{error.field}: {error.message}" for error in errors))


class ReconciliationRunning(ReconciliationError):
    code = "reconciliation_running"
    title = "A reconciliation of this vendor is under way"


class RunNotFound(ReconciliationError):
    code = "reconciliation_not_found"
    title = "No such reconciliation"


class DiscrepancyNotFound(ReconciliationError):
    code = "discrepancy_not_found"
    title = "No such discrepancy"


class AlreadyResolved(ReconciliationError):
    code = "discrepancy_resolved"
    title = "The discrepancy is already resolved"


class LedgerMovedOn(ReconciliationError):
    code = "ledger_moved_on"
    title = "The ledger changed since the reconciliation saw the record"


class VendorReadFailed(ReconciliationError):
    code = "vendor_read_failed"
    title = "The vendor's records could not be read"


class ReconciliationUnavailable(ReconciliationError):
    code = "reconciliation_unavailable"
    title = "Reconciliation cannot reach the database right now"
