"""Errors of the ingestion view.

    AdapterError                 (adapters.errors) a delivery or a request the adapters refuse
    └── IngestionError           the ingestion view's own, with a stable ``code``
        ├── InvalidEventQuery    the parameters of the events view or its summary are not valid;
        │                        ``errors`` names every parameter at fault
        └── IngestionUnavailable the database cannot be reached: nothing was read, or the refusal
                                 counts were not written (they wait for the next write; this error
                                 never reaches a vendor)

Messages name parameters, never a value that was sent.
"""

from __future__ import annotations

from collections.abc import Sequence

from adapters.errors import AdapterError
from ledger.errors import FieldError


class IngestionError(AdapterError):
    """An expected failure of the ingestion view."""

    code = "ingestion_error"
    title = "The ingestion view failed"


class InvalidEventQuery(IngestionError):
    """Parameters of the events view or the summary that are not valid; nothing was read."""

    code = "invalid_event_query"
    title = "The query is not valid"

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(f"{error.field}: {error.message}" for error in errors))


class IngestionUnavailable(IngestionError):
    """The database cannot be reached now; the caller may retry."""

    code = "ingestion_unavailable"
    title = "The ingestion view cannot reach the database right now"
