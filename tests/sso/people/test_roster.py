"""Rosters of institutions for oversight, on both databases: active people in (institution, id) order, a
page at a time; their ID numbers and names masked."""

from __future__ import annotations

import pytest

from sso.id_numbers import mask_id_number, normalise_id_number
from sso.people.model import ROSTER_UNITS_PER_QUERY_MAX, MaskedIdentity, Member, mask_name
from sso.people.service import PeopleService

from .conftest import FormMaker, id_number_of


async def _register(people: PeopleService, form: FormMaker, sequence: int, unit_code: str, name: str = "王芳") -> str:
    return await people.register(form(id_number=id_number_of(sequence), unit_code=unit_code, name=name))


async def test_a_roster_pages_through_the_active_staff_of_its_institutions(
    people: PeopleService, form: FormMaker
) -> None:
    units = ["430181-0001", "430100-0001", "430181-0001", "430100-0002", "430181-0001", "430181-0002"]
    ids = [await _register(people, form, sequence, unit) for sequence, unit in enumerate(units, start=1)]
    await people.deactivate(ids[2])
    wanted = ["430181-0001", "430100-0001", "430100-0002"]

    pages: list[list[Member]] = []
    after = None
    while page := await people.roster(wanted, after=after, count=2):
        pages.append(page)
        after = page[-1]

    expected = sorted(
        (unit, person) for person, unit in zip(ids, units, strict=True) if unit in wanted and person != ids[2]
    )
    assert [len(page) for page in pages] == [2, 2]
    assert [(member.unit_code, member.person_id) for page in pages for member in page] == expected
    assert await people.roster([], after=None, count=10) == []
    with pytest.raises(ValueError, match="at most 500 institutions"):
        await people.roster(["x"] * (ROSTER_UNITS_PER_QUERY_MAX + 1), after=None, count=1)


async def test_oversight_sees_id_numbers_and_names_masked(people: PeopleService, form: FormMaker) -> None:
    first = await _register(people, form, 1, "430100-0001", name="欧阳娜娜")
    second = await _register(people, form, 2, "430100-0001", name="张伟")

    identities = await people.masked_identities([first, second, "0" * 32])

    assert identities == {
        first: MaskedIdentity(mask_id_number(normalise_id_number(id_number_of(1))), "欧***"),
        second: MaskedIdentity(mask_id_number(normalise_id_number(id_number_of(2))), "张*"),
    }
    assert identities[first].id_number_masked[6:14] == "********"


@pytest.mark.parametrize(("name", "masked"), [("张伟", "张*"), ("欧阳娜娜", "欧***"), ("李", "李"), ("", "")])
def test_a_masked_name_keeps_its_first_character(name: str, masked: str) -> None:
    assert mask_name(name) == masked
