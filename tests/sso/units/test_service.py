"""The organisation in the database, on SQLite and PostgreSQL: import, the picker, oversight."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy.ext.asyncio import AsyncEngine

from sso.errors import OrganisationInvalid, UnknownOrganisationCode
from sso.id_numbers import make_id_number
from sso.organisation import load_organisation, parse_organisation
from sso.people.service import PeopleService
from sso.personal_data import DataKeyring
from sso.units.model import Unit, UnitKind
from sso.units.service import OrganisationService

HUNAN = load_organisation(Path(__file__).parents[3] / "config" / "organisation" / "hunan.json")
SMALL = {
    "regions": [
        {"code": "430000", "name": "湖南省", "parent": None},
        {"code": "430100", "name": "长沙市", "parent": "430000"},
    ],
    "departments": [
        {"code": "430000-personnel", "name": "省人社厅", "region": "430000", "kind": "personnel"},
        {"code": "430100-personnel", "name": "市人社局", "region": "430100", "kind": "personnel"},
        {"code": "430100-health", "name": "市卫健委", "region": "430100", "kind": "competent"},
    ],
    "institutions": [
        {"code": "430100-0001", "name": "长沙市中心医院", "region": "430100", "department": "430100-health"},
    ],
}


@pytest.fixture
async def organisation(engine: AsyncEngine) -> OrganisationService:
    service = OrganisationService(engine)
    await service.replace(HUNAN)
    return service


async def test_an_empty_database_takes_the_first_import_only(engine: AsyncEngine) -> None:
    service = OrganisationService(engine)
    assert await service.is_empty()

    summary = await service.import_if_empty(HUNAN)

    assert summary is not None
    assert (summary.regions, summary.departments, summary.institutions) == (56, 224, 91)
    assert await service.import_if_empty(parse_organisation(SMALL)) is None
    assert len((await service.organisation()).institutions) == 91


async def test_the_stored_organisation_equals_the_file(organisation: OrganisationService) -> None:
    stored = await organisation.organisation()

    assert list(stored.regions.values()) == list(HUNAN.regions.values())
    assert list(stored.departments.values()) == list(HUNAN.departments.values())
    assert list(stored.institutions.values()) == list(HUNAN.institutions.values())


async def test_the_top_level_is_the_province(organisation: OrganisationService) -> None:
    assert await organisation.units() == (Unit("430000", "湖南省", UnitKind.REGION, has_children=True),)


async def test_a_city_lists_its_counties_then_its_institutions(organisation: OrganisationService) -> None:
    units = await organisation.units("430100")

    assert [(unit.code, unit.kind) for unit in units] == [
        ("430102", UnitKind.REGION),
        ("430121", UnitKind.REGION),
        ("430181", UnitKind.REGION),
        *((code, UnitKind.INSTITUTION) for code in HUNAN.institutions if HUNAN.institutions[code].region == "430100"),
    ]
    assert all(not unit.has_children for unit in units if unit.kind is UnitKind.INSTITUTION)


async def test_a_region_path_runs_from_the_province_down(organisation: OrganisationService) -> None:
    path = await organisation.region_path("430102")

    assert [(region.code, region.name) for region in path] == [
        ("430000", "湖南省"),
        ("430100", "长沙市"),
        ("430102", "芙蓉区"),
    ]
    assert [region.code for region in await organisation.region_path("430000")] == ["430000"]
    with pytest.raises(UnknownOrganisationCode):
        await organisation.region_path("430100-0001")  # an institution, not a region


async def test_has_children_says_whether_a_region_holds_anything(engine: AsyncEngine) -> None:
    service = OrganisationService(engine)
    document = {
        **SMALL,
        "regions": [*SMALL["regions"], {"code": "430102", "name": "芙蓉区", "parent": "430100"}],
        "departments": [
            *SMALL["departments"],
            {"code": "430102-personnel", "name": "区人社局", "region": "430102", "kind": "personnel"},
        ],
    }
    await service.replace(parse_organisation(document))

    assert [(unit.code, unit.has_children) for unit in await service.units("430100")] == [
        ("430102", False),
        ("430100-0001", False),
    ]
    assert [(unit.code, unit.has_children) for unit in await service.units("430000")] == [("430100", True)]


async def test_an_unknown_parent_or_an_institution_as_parent_is_refused(organisation: OrganisationService) -> None:
    for parent in ("439999", "430100-0001", "430100-health"):
        with pytest.raises(UnknownOrganisationCode):
            await organisation.units(parent)


async def test_institutions_and_departments_are_found_by_code(organisation: OrganisationService) -> None:
    institution = await organisation.institution("430100-0001")
    department = await organisation.department("430100-health")

    assert (institution.name, institution.department) == ("长沙市中心医院", "430100-health")
    assert department.name == HUNAN.department("430100-health").name
    with pytest.raises(UnknownOrganisationCode):
        await organisation.institution("430100-health")
    with pytest.raises(UnknownOrganisationCode):
        await organisation.department("430100-0001")


async def test_oversight_follows_the_stored_tree(organisation: OrganisationService) -> None:
    personnel = await organisation.institutions_overseen_by("430100-personnel")
    health = await organisation.institutions_overseen_by("430100-health")

    assert personnel == HUNAN.institutions_overseen_by("430100-personnel")
    assert {institution.region for institution in personnel} <= {"430100", "430102", "430121", "430181"}
    assert health == HUNAN.institutions_overseen_by("430100-health")
    assert all(institution.department == "430100-health" for institution in health)
    assert await organisation.oversees("430000-personnel", "430100-0001")
    assert not await organisation.oversees("430100-education", "430100-0001")


async def test_a_new_import_replaces_the_old_one_entirely(organisation: OrganisationService) -> None:
    summary = await organisation.replace(parse_organisation(SMALL))

    assert (summary.regions, summary.departments, summary.institutions) == (2, 3, 1)
    stored = await organisation.organisation()
    assert list(stored.institutions) == ["430100-0001"]
    with pytest.raises(UnknownOrganisationCode):
        await organisation.institution("430000-0001")


async def test_an_import_may_not_drop_an_institution_people_belong_to(
    engine: AsyncEngine, organisation: OrganisationService
) -> None:
    people = PeopleService(
        engine, DataKeyring.generate(), organisation, password_hasher=PasswordHasher(time_cost=1, memory_cost=1024)
    )
    await people.register(
        {
            "name": "李强",
            "password": "correct4horse",
            "id_number": make_id_number("430102", date(1985, 1, 2), 11),
            "gender": "男",
            "phone": "13812345678",
            "email": "liqiang@example.cn",
            "native_place": "湖南",
            "education": "大学本科",
            "major": "教育学",
            "school": "湖南师范大学",
            "graduated_on": "2007-06-30",
            "unit_code": "430000-0002",
            "title": "其他",
        }
    )

    with pytest.raises(OrganisationInvalid, match="430000-0002"):
        await organisation.replace(parse_organisation(SMALL))

    assert len((await organisation.organisation()).institutions) == 91
