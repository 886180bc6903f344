"""People as auditor exports label them: the masked ID number and the institution, never more."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from ledger.exports.model import ExportLabel
from ledger.model import PersonId
from sso.people.service import PeopleService


class PeopleLabels:
    """The ``PersonLabels`` of exports, read from the people service."""

    def __init__(self, people: PeopleService) -> None:
        self._people = people

    async def labels(self, person_ids: Collection[PersonId]) -> Mapping[PersonId, ExportLabel]:
        people = await self._people.many(person_ids)
        return {
            person_id: ExportLabel(id_number_masked=person.masked_id_number, unit_code=person.unit_code)
            for person_id, person in people.items()
        }
