"""What trainings need from the rest of the hub: who the people named in a file are, and a seal for
the personal data of a filing."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Protocol

from ledger.model import PersonId
from sso.id_numbers import IdNumber


@dataclass(frozen=True, slots=True)
class RegisteredPerson:
    """A registered person as a file is checked against them: never their ID number in the clear."""

    id: PersonId
    name: str
    unit_code: str

    def __repr__(self) -> str:
        return f"RegisteredPerson(id={self.id!r})"


class Registry(Protocol):
    """The people registered at the hub."""

    async def registered(self, id_numbers: Collection[IdNumber]) -> Mapping[IdNumber, RegisteredPerson]:
        """The registered people among these ID numbers, by ID number; the others are absent."""


class Sealer(Protocol):
    """Encrypts personal data at rest under a context that binds it to its place (``sso.personal_data``)."""

    def encrypt(self, plaintext: str, *, context: str) -> str:
        """A token holding ``plaintext`` that opens only under the same ``context``."""

    def decrypt(self, token: str, *, context: str) -> str:
        """The plaintext of a token made for ``context``."""
