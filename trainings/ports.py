"""What trainings need from the rest of the hub: who the people named in a file are."""

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
