"""For adapter tests: a learner directory (the port's fake, with people the test names), an HTTP client,
and a sleep that counts each wait instead of waiting."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from ledger.model import PersonId

ServerMaker = Callable[[web.Application], Awaitable[TestServer]]


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


class Sleeps:
    """Counts each wait instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client
