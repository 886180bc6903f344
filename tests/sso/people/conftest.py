"""People on a real database (SQLite and PostgreSQL), with a clock that moves only when told."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy.ext.asyncio import AsyncEngine

from sso.id_numbers import make_id_number
from sso.organisation import load_organisation
from sso.people.service import PeopleService
from sso.personal_data import DataKeyring
from sso.units.service import OrganisationService

from ..clock import Clock
from .forms import Form, registration_form

ORGANISATION_FILE = Path(__file__).parents[3] / "config" / "organisation" / "hunan.json"
# Cheap parameters: the tests check what is hashed and when, not argon2's cost.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
TODAY = date(2021, 12, 1)

FormMaker = Callable[..., Form]


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2021, 12, 1, 0, 0, tzinfo=UTC))


@pytest.fixture
async def organisation(engine: AsyncEngine) -> OrganisationService:
    service = OrganisationService(engine)
    await service.replace(load_organisation(ORGANISATION_FILE))
    return service


@pytest.fixture
def people(engine: AsyncEngine, keyring: DataKeyring, organisation: OrganisationService, clock: Clock) -> PeopleService:
    return PeopleService(engine, keyring, organisation, clock=clock, password_hasher=FAST_HASHER)


def id_number_of(sequence: int, birth: date = date(1990, 3, 7)) -> str:
    """A valid ID number of Changsha's Furong district."""
    return make_id_number("430102", birth, sequence, today=TODAY)


@pytest.fixture
def form() -> FormMaker:
    """A valid registration form, with the fields given replaced (``...`` removes a field)."""
    return registration_form
