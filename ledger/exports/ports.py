"""What an export needs from the rest of the hub: how to label people, and a document signature."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Protocol

from ledger.exports.model import ExportLabel
from ledger.model import PersonId


class PersonLabels(Protocol):
    """The labels of people an export shows beside their pseudonymous ids."""

    async def labels(self, person_ids: Collection[PersonId]) -> Mapping[PersonId, ExportLabel]:
        """Each known person's label; a person the hub no longer knows is left out."""


class DocumentSigner(Protocol):
    """Signs documents with a key published in the hub's JWKS for good."""

    async def sign_document(self, payload: bytes) -> str:
        """A compact JWS of ``payload``."""
