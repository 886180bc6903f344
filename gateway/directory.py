"""The adapters' learner directory and the trainings' registry, answered by the identity services."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass, field

from ledger.model import PersonId
from sso.handoff import Handoff
from sso.id_numbers import IdNumber
from sso.people.service import PeopleService
from trainings.ports import RegisteredPerson

SUBJECTS_REMEMBERED_MAX = 100_000


@dataclass(slots=True)
class HubLearnerDirectory:
    """``adapters.ports.LearnerDirectory`` over the people and the pairwise subjects.

    A pairwise subject, once issued, names its person for good, so the answers for known subjects
    are remembered (the most recent ``SUBJECTS_REMEMBERED_MAX``): a webhook then needs no database
    read before it joins a group commit. Unknown subjects are asked again every time.
    """

    people: PeopleService
    handoff: Handoff
    _subjects: OrderedDict[tuple[str, str], PersonId] = field(default_factory=OrderedDict)

    async def person_for_subject(self, vendor: str, subject: str) -> PersonId | None:
        key = (vendor, subject)
        if (known := self._subjects.get(key)) is not None:
            self._subjects.move_to_end(key)
            return known
        person_id = await self.handoff.resolve_subject(vendor, subject)
        if person_id is not None:
            self._subjects[key] = person_id
            if len(self._subjects) > SUBJECTS_REMEMBERED_MAX:
                self._subjects.popitem(last=False)
        return person_id

    async def person_for_id_number(self, id_number: str) -> PersonId | None:
        return await self.people.find_by_id_number(id_number)

    async def link_account(self, vendor: str, subject: str, account_id: str) -> bool:
        return await self.handoff.record_vendor_account(vendor, subject, account_id)


@dataclass(frozen=True, slots=True)
class PeopleRegistry:
    """``trainings.ports.Registry`` over the people service."""

    people: PeopleService

    async def registered(self, id_numbers: Collection[IdNumber]) -> dict[IdNumber, RegisteredPerson]:
        found = await self.people.find_by_id_numbers(id_numbers)
        return {
            id_number: RegisteredPerson(person.id, person.name, person.unit_code) for id_number, person in found.items()
        }
