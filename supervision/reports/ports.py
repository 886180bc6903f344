"""What the reports read, as small interfaces: people's rosters and the ledger's evaluations.

``sso.people.service.PeopleService`` is a ``Rosters`` and ``ledger.service.Ledger`` an ``Evaluations``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ledger.model import Evaluation, PersonId, Source, YearRules
from sso.people.model import MaskedIdentity, Member


class Rosters(Protocol):
    """The active staff of institutions, a page at a time, and how oversight names them."""

    async def roster(self, unit_codes: Sequence[str], *, after: Member | None, count: int) -> list[Member]: ...

    async def masked_identities(self, person_ids: Sequence[str]) -> dict[PersonId, MaskedIdentity]: ...


class Evaluations(Protocol):
    """People's years against the rules, and their online hours by vendor."""

    def rules_for(self, year: int) -> YearRules: ...

    async def evaluate_people(self, person_ids: Sequence[str], year: int) -> dict[PersonId, Evaluation]: ...

    async def online_hours_of(self, person_ids: Sequence[str], year: int) -> dict[PersonId, dict[Source, int]]: ...
