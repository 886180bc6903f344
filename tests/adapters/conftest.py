"""A learner directory for adapter tests: the port's fake, with people the test names."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from ledger.model import PersonId


@dataclass
class FakeLearnerDirectory:
    subjects: dict[tuple[str, str], PersonId] = field(default_factory=dict)
    id_numbers: dict[str, PersonId] = field(default_factory=dict)
    accounts: dict[tuple[str, str], str] = field(default_factory=dict)

    async def person_for_subject(self, vendor: str, subject: str) -> PersonId | None:
        return self.subjects.get((vendor, subject))

    async def person_for_id_number(self, id_number: str) -> PersonId | None:
        return self.id_numbers.get(id_number)

    async def link_account(self, vendor: str, subject: str, account_id: str) -> bool:
        if (vendor, subject) not in self.subjects:
            return False
        self.accounts[(vendor, subject)] = account_id
        return True


@pytest.fixture
def directory() -> FakeLearnerDirectory:
    return FakeLearnerDirectory(
        subjects={
            ("ischinese", "sub-wang"): PersonId("person-wang"),
            ("webtrn", "sub-wang-w"): PersonId("person-wang"),
        },
        id_numbers={"11010519491231002X": PersonId("person-li")},
    )
