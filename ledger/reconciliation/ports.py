"""What reconciliation needs from a vendor's adapter: the vendor's records in a scope."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from typing import Final, Protocol

from ledger.reconciliation.model import Scope, VendorRecord

VENDOR_BATCH_RECORDS_MAX: Final = 500
"""The most records a reader gives in one batch: a run holds one batch of each side at a time."""


class VendorRecords(Protocol):
    """Reads one vendor's records, with the adapter's own parsing and translation."""

    def batches(self, scope: Scope) -> AsyncGenerator[Sequence[VendorRecord], None]:
        """The vendor's records of the scope, in batches of at most ``VENDOR_BATCH_RECORDS_MAX``.

        A record may come again in a later batch (changed while it was read, or on a later day of
        a range): its later version is the vendor's. Which records a scope holds is the vendor's
        contract: for hnou, those its daily files of the scope's days list (records changed on
        those days); for the others, those completed within the scope. Raises ``VendorReadFailed``
        when the vendor cannot be read to the end.
        """
        ...
