"""The organisation in the database: import it, list it for the picker, and answer oversight questions.

An import replaces the whole organisation in one transaction, all or nothing. It refuses to drop an
institution that people still belong to, since a person always belongs to an institution.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, func, insert
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from sso.errors import OrganisationInvalid, UnknownOrganisationCode
from sso.organisation import (
    Department,
    DepartmentCode,
    DepartmentKind,
    Institution,
    InstitutionCode,
    Organisation,
    Region,
    RegionCode,
    build_organisation,
)
from sso.people.tables import PersonRow
from sso.units.model import ImportSummary, Unit, UnitKind
from sso.units.tables import DepartmentRow, InstitutionRow, RegionRow

__all__ = ["OrganisationService"]

ORPHANED_INSTITUTIONS_REPORTED_MAX = 20
REGION_DEPTH_MAX = 8
"""A region path is at most this deep (the province, its cities and their counties take three)."""
INSERT_ROWS_MAX = 1000
"""Rows per INSERT: PostgreSQL takes at most 32767 parameters in one statement."""


class OrganisationService:
    """The organisation stored in the hub's database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)

    async def is_empty(self) -> bool:
        """Whether no organisation has been imported yet."""
        async with self._sessions() as session:
            return (await session.exec(select(func.count()).select_from(RegionRow))).one() == 0

    async def replace(self, organisation: Organisation) -> ImportSummary:
        """Store this organisation in place of the current one, in one transaction.

        Raises ``OrganisationInvalid`` naming the institutions people still belong to that the new
        organisation lacks; nothing is changed then.
        """
        async with self._sessions() as session, session.begin():
            await self._refuse_orphans(session, organisation)
            for table in (InstitutionRow, DepartmentRow, RegionRow):
                await session.exec(delete(table))
            for model, rows in _rows(organisation):
                for start in range(0, len(rows), INSERT_ROWS_MAX):
                    await session.exec(insert(model).values(rows[start : start + INSERT_ROWS_MAX]))
        return ImportSummary(
            regions=len(organisation.regions),
            departments=len(organisation.departments),
            institutions=len(organisation.institutions),
        )

    async def import_if_empty(self, organisation: Organisation) -> ImportSummary | None:
        """Store this organisation when none is stored yet; ``None`` when one already was."""
        if not await self.is_empty():
            return None
        return await self.replace(organisation)

    async def organisation(self) -> Organisation:
        """The whole stored organisation, with its tree and oversight queries."""
        async with self._sessions() as session:
            regions = (await session.exec(select(RegionRow).order_by(col(RegionRow.position)))).all()
            departments = (await session.exec(select(DepartmentRow).order_by(col(DepartmentRow.position)))).all()
            institutions = (await session.exec(select(InstitutionRow).order_by(col(InstitutionRow.position)))).all()
        return build_organisation(
            [
                Region(RegionCode(row.code), row.name, None if row.parent is None else RegionCode(row.parent))
                for row in regions
            ],
            [
                Department(DepartmentCode(row.code), row.name, RegionCode(row.region), DepartmentKind(row.kind))
                for row in departments
            ],
            [
                Institution(InstitutionCode(row.code), row.name, RegionCode(row.region), DepartmentCode(row.department))
                for row in institutions
            ],
        )

    async def units(self, parent: str | None = None) -> tuple[Unit, ...]:
        """The regions and institutions directly under a region; the top regions when ``parent`` is ``None``.

        Raises ``UnknownOrganisationCode`` when ``parent`` is not a region.
        """
        async with self._sessions() as session:
            if parent is not None and await session.get(RegionRow, parent) is None:
                raise UnknownOrganisationCode("region", parent)
            regions = (
                await session.exec(
                    select(RegionRow)
                    .where(col(RegionRow.parent).is_(None) if parent is None else col(RegionRow.parent) == parent)
                    .order_by(col(RegionRow.position))
                )
            ).all()
            institutions: Iterable[InstitutionRow] = ()
            if parent is not None:
                institutions = (
                    await session.exec(
                        select(InstitutionRow)
                        .where(col(InstitutionRow.region) == parent)
                        .order_by(col(InstitutionRow.position))
                    )
                ).all()
            parents = await _regions_with_children(session, [region.code for region in regions])
        return (
            *(Unit(row.code, row.name, UnitKind.REGION, row.code in parents) for row in regions),
            *(Unit(row.code, row.name, UnitKind.INSTITUTION, has_children=False) for row in institutions),
        )

    async def region_path(self, code: str) -> tuple[Region, ...]:
        """The region with this code and the regions above it, from the top down, for a picker's trail.

        Raises ``UnknownOrganisationCode`` when ``code`` is not a region.
        """
        path: list[Region] = []
        parent: str | None = code
        async with self._sessions() as session:
            while parent is not None and len(path) < REGION_DEPTH_MAX:
                row = await session.get(RegionRow, parent)
                if row is None:
                    raise UnknownOrganisationCode("region", parent)
                path.append(
                    Region(RegionCode(row.code), row.name, None if row.parent is None else RegionCode(row.parent))
                )
                parent = row.parent
        return tuple(reversed(path))

    async def institution(self, code: str) -> Institution:
        """The institution with this code. Raises ``UnknownOrganisationCode``."""
        async with self._sessions() as session:
            row = await session.get(InstitutionRow, code)
        if row is None:
            raise UnknownOrganisationCode("institution", code)
        return Institution(InstitutionCode(row.code), row.name, RegionCode(row.region), DepartmentCode(row.department))

    async def department(self, code: str) -> Department:
        """The department with this code. Raises ``UnknownOrganisationCode``."""
        async with self._sessions() as session:
            row = await session.get(DepartmentRow, code)
        if row is None:
            raise UnknownOrganisationCode("department", code)
        return Department(DepartmentCode(row.code), row.name, RegionCode(row.region), DepartmentKind(row.kind))

    async def institutions_overseen_by(self, department_code: str) -> tuple[Institution, ...]:
        """The institutions a department oversees, in tree order. Raises ``UnknownOrganisationCode``."""
        return (await self.organisation()).institutions_overseen_by(department_code)

    async def oversees(self, department_code: str, institution_code: str) -> bool:
        """Whether the department oversees the institution. Raises ``UnknownOrganisationCode``."""
        return (await self.organisation()).oversees(department_code, institution_code)

    async def _refuse_orphans(self, session: AsyncSession, organisation: Organisation) -> None:
        used = (await session.exec(select(PersonRow.unit_code).distinct())).all()
        orphaned = sorted(code for code in used if code not in organisation.institutions)
        if orphaned:
            shown = ", ".join(orphaned[:ORPHANED_INSTITUTIONS_REPORTED_MAX])
            raise OrganisationInvalid(f"people still belong to institutions the file lacks: {shown}")


async def _regions_with_children(session: AsyncSession, codes: list[str]) -> set[str]:
    if not codes:
        return set()
    with_regions = await session.exec(select(RegionRow.parent).where(col(RegionRow.parent).in_(codes)).distinct())
    with_institutions = await session.exec(
        select(InstitutionRow.region).where(col(InstitutionRow.region).in_(codes)).distinct()
    )
    return {code for code in with_regions.all() if code is not None} | set(with_institutions.all())


def _rows(organisation: Organisation) -> list[tuple[type[SQLModel], list[dict[str, object]]]]:
    regions: list[dict[str, object]] = [
        {"code": region.code, "name": region.name, "parent": region.parent, "position": position}
        for position, region in enumerate(organisation.regions.values())
    ]
    departments: list[dict[str, object]] = [
        {
            "code": department.code,
            "name": department.name,
            "region": department.region,
            "kind": department.kind.value,
            "position": position,
        }
        for position, department in enumerate(organisation.departments.values())
    ]
    institutions: list[dict[str, object]] = [
        {
            "code": institution.code,
            "name": institution.name,
            "region": institution.region,
            "department": institution.department,
            "position": position,
        }
        for position, institution in enumerate(organisation.institutions.values())
    ]
    return [(RegionRow, regions), (DepartmentRow, departments), (InstitutionRow, institutions)]
