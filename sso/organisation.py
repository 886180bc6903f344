"""The organisation: regions, their departments, and the institutions staff belong to.

Regions form a tree (the province, its cities, their counties). Every region
has exactly one personnel department (人社) and any number of competent
departments (主管部门). Every institution (事业单位) belongs to a region and to
one competent department whose region is that region or one of its ancestors.

A personnel department oversees every institution in its region's subtree; a
competent department oversees the institutions it governs in its region's
subtree.

The file is JSON, every code unique across regions, departments and
institutions, and every parent listed before its children::

    {"about": "optional text",
     "regions": [{"code": "430000", "name": "湖南省", "parent": null}, ...],
     "departments": [{"code": "430000-personnel", "name": "…", "region": "430000",
                      "kind": "personnel" | "competent"}, ...],
     "institutions": [{"code": "430000-0001", "name": "…", "region": "430000",
                       "department": "430000-health"}, ...]}
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Final, NewType, TypeVar

from sso.errors import OrganisationInvalid, UnknownOrganisationCode
from sso.json_files import JsonFileRefused, read_json_file

__all__ = [
    "Department",
    "DepartmentCode",
    "DepartmentKind",
    "Institution",
    "InstitutionCode",
    "Organisation",
    "Region",
    "RegionCode",
    "build_organisation",
    "load_organisation",
    "parse_organisation",
]

RegionCode = NewType("RegionCode", str)
DepartmentCode = NewType("DepartmentCode", str)
InstitutionCode = NewType("InstitutionCode", str)

ORGANISATION_FILE_BYTES_MAX: Final = 32 * 1024 * 1024
REGIONS_MAX: Final = 10_000
DEPARTMENTS_MAX: Final = 50_000
INSTITUTIONS_MAX: Final = 200_000
REGION_DEPTH_MAX: Final = 5
NAME_CHARACTERS_MAX: Final = 100
PROBLEMS_REPORTED_MAX: Final = 100

_REGION_CODE: Final = re.compile(r"[0-9]{6}", re.ASCII)
_UNIT_CODE: Final = re.compile(r"[0-9A-Za-z][0-9A-Za-z-]{0,39}", re.ASCII)

_REQUIRED_NAMES: Final = frozenset({"regions", "departments", "institutions"})

_Entry = TypeVar("_Entry")
_Key = TypeVar("_Key", bound=Hashable)


class DepartmentKind(StrEnum):
    """What a department is to the institutions of its region."""

    PERSONNEL = "personnel"
    COMPETENT = "competent"


@dataclass(frozen=True, slots=True)
class Region:
    """A province, city or county; ``parent`` is ``None`` at the top."""

    code: RegionCode
    name: str
    parent: RegionCode | None


@dataclass(frozen=True, slots=True)
class Department:
    """A personnel or competent department of a region."""

    code: DepartmentCode
    name: str
    region: RegionCode
    kind: DepartmentKind


@dataclass(frozen=True, slots=True)
class Institution:
    """A public institution, in a region, governed by a competent department."""

    code: InstitutionCode
    name: str
    region: RegionCode
    department: DepartmentCode


@dataclass(frozen=True, slots=True, eq=False)
class Organisation:
    """A validated organisation with its tree queries; build it with ``build_organisation``.

    Every query keeps the order of the file; a tree walk is depth-first, parents first.
    Queries raise ``UnknownOrganisationCode`` for a code the organisation does not hold.
    """

    regions: Mapping[RegionCode, Region]
    departments: Mapping[DepartmentCode, Department]
    institutions: Mapping[InstitutionCode, Institution]
    _children: Mapping[RegionCode | None, tuple[Region, ...]] = field(repr=False)
    _departments_by_region: Mapping[RegionCode, tuple[Department, ...]] = field(repr=False)
    _institutions_by_region: Mapping[RegionCode, tuple[Institution, ...]] = field(repr=False)

    def region(self, code: str) -> Region:
        """Return the region with this code."""
        return _found(self.regions.get(RegionCode(code)), "region", code)

    def department(self, code: str) -> Department:
        """Return the department with this code."""
        return _found(self.departments.get(DepartmentCode(code)), "department", code)

    def institution(self, code: str) -> Institution:
        """Return the institution with this code."""
        return _found(self.institutions.get(InstitutionCode(code)), "institution", code)

    def roots(self) -> tuple[Region, ...]:
        """Return the regions without a parent."""
        return self._children.get(None, ())

    def children_of(self, region_code: str) -> tuple[Region, ...]:
        """Return the regions whose parent is this region."""
        return self._children.get(self.region(region_code).code, ())

    def subtree_of(self, region_code: str) -> tuple[Region, ...]:
        """Return this region and every region below it, parents first."""
        return tuple(self._walk(self.region(region_code)))

    def departments_in(self, region_code: str) -> tuple[Department, ...]:
        """Return the departments of this region itself."""
        return self._departments_by_region.get(self.region(region_code).code, ())

    def institutions_in(self, region_code: str) -> tuple[Institution, ...]:
        """Return the institutions of this region itself, not of the regions below it."""
        return self._institutions_by_region.get(self.region(region_code).code, ())

    def institutions_under(self, unit_code: str) -> tuple[Institution, ...]:
        """Return the institution with this code, or every institution of this region's subtree."""
        if unit_code in self.institutions:
            return (self.institutions[InstitutionCode(unit_code)],)
        return tuple(
            institution for region in self.subtree_of(unit_code) for institution in self.institutions_in(region.code)
        )

    def personnel_department_of(self, region_code: str) -> Department:
        """Return the one personnel department of this region."""
        departments = self.departments_in(region_code)
        return next(department for department in departments if department.kind is DepartmentKind.PERSONNEL)

    def institutions_overseen_by(self, department_code: str) -> tuple[Institution, ...]:
        """Return the institutions a department oversees, in tree order.

        A personnel department: every institution in its region's subtree.
        A competent department: the institutions it governs in its region's subtree.
        """
        department = self.department(department_code)
        in_subtree = (
            institution
            for region in self._walk(self.region(department.region))
            for institution in self._institutions_by_region.get(region.code, ())
        )
        if department.kind is DepartmentKind.PERSONNEL:
            return tuple(in_subtree)
        return tuple(institution for institution in in_subtree if institution.department == department.code)

    def oversees(self, department_code: str, institution_code: str) -> bool:
        """Return whether the department oversees the institution."""
        department = self.department(department_code)
        institution = self.institution(institution_code)
        if department.kind is DepartmentKind.COMPETENT and institution.department != department.code:
            return False
        return department.region in _lineage(self.regions, institution.region)

    def _walk(self, region: Region) -> Iterator[Region]:
        yield region
        for child in self._children.get(region.code, ()):
            yield from self._walk(child)


def load_organisation(path: Path) -> Organisation:
    """Return the organisation in the JSON file at ``path``. Raises ``OrganisationInvalid`` naming the file."""
    try:
        return parse_organisation(_read_document(path))
    except OrganisationInvalid as exc:
        raise OrganisationInvalid(
            f"organisation file {path}: {exc.detail}",
            [f"organisation file {path}: {problem}" for problem in exc.problems],
        ) from exc.__cause__


def parse_organisation(document: object) -> Organisation:
    """Return the organisation in a decoded JSON document.

    Raises ``OrganisationInvalid`` whose ``problems`` name every bad entry (up to ``PROBLEMS_REPORTED_MAX``);
    an entry that refers to a bad one is reported too.
    """
    if not isinstance(document, dict):
        raise OrganisationInvalid("the document is not a JSON object")
    if not _REQUIRED_NAMES <= set(document) <= _REQUIRED_NAMES | {"about"}:
        raise OrganisationInvalid("the document has the names regions, departments, institutions and optionally about")
    problems: list[str] = []
    regions = _entries(document["regions"], "regions", REGIONS_MAX, _region_from, problems)
    departments = _entries(document["departments"], "departments", DEPARTMENTS_MAX, _department_from, problems)
    institutions = _entries(document["institutions"], "institutions", INSTITUTIONS_MAX, _institution_from, problems)
    organisation = _build(regions, departments, institutions, problems)
    _raise_problems(problems)
    return organisation


def build_organisation(
    regions: Sequence[Region], departments: Sequence[Department], institutions: Sequence[Institution]
) -> Organisation:
    """Return the organisation of these entries once every reference resolves.

    Raises ``OrganisationInvalid`` whose ``problems`` name every bad entry.
    """
    problems: list[str] = []
    organisation = _build(regions, departments, institutions, problems)
    _raise_problems(problems)
    return organisation


def _build(
    regions: Sequence[Region],
    departments: Sequence[Department],
    institutions: Sequence[Institution],
    problems: list[str],
) -> Organisation:
    owners: dict[str, str] = {}
    region_map = _index_regions(regions, owners, problems)
    department_map = _index_departments(departments, region_map, owners, problems)
    institution_map = _index_institutions(institutions, region_map, department_map, owners, problems)
    return Organisation(
        regions=MappingProxyType(region_map),
        departments=MappingProxyType(department_map),
        institutions=MappingProxyType(institution_map),
        _children=_group(region_map.values(), lambda region: region.parent),
        _departments_by_region=_group(department_map.values(), lambda department: department.region),
        _institutions_by_region=_group(institution_map.values(), lambda institution: institution.region),
    )


def _raise_problems(problems: Sequence[str]) -> None:
    if not problems:
        return
    shown = list(problems[:PROBLEMS_REPORTED_MAX])
    if len(problems) > PROBLEMS_REPORTED_MAX:
        shown.append(f"and {len(problems) - PROBLEMS_REPORTED_MAX} more problems")
    raise OrganisationInvalid("; ".join(shown), shown)


def _index_regions(regions: Sequence[Region], owners: dict[str, str], problems: list[str]) -> dict[RegionCode, Region]:
    region_map: dict[RegionCode, Region] = {}
    for position, region in enumerate(regions):
        where = f"regions[{position}] ({region.code} {region.name})"
        if not _claim(owners, region.code, where, problems):
            continue
        if region.parent is not None and region.parent not in region_map:
            problems.append(f"{where}: parent {region.parent} is not a region listed before it")
            continue
        region_map[region.code] = region
        if len(_lineage(region_map, region.code)) > REGION_DEPTH_MAX:
            problems.append(f"{where}: deeper than {REGION_DEPTH_MAX} levels")
            del region_map[region.code]
    return region_map


def _index_departments(
    departments: Sequence[Department],
    region_map: Mapping[RegionCode, Region],
    owners: dict[str, str],
    problems: list[str],
) -> dict[DepartmentCode, Department]:
    department_map: dict[DepartmentCode, Department] = {}
    personnel: dict[RegionCode, str] = {}
    for position, department in enumerate(departments):
        where = f"departments[{position}] ({department.code} {department.name})"
        if not _claim(owners, department.code, where, problems):
            continue
        if department.region not in region_map:
            problems.append(f"{where}: region {department.region} is not a region")
            continue
        if department.kind is DepartmentKind.PERSONNEL and department.region in personnel:
            problems.append(f"{where}: region {department.region} already has {personnel[department.region]}")
            continue
        if department.kind is DepartmentKind.PERSONNEL:
            personnel[department.region] = where
        department_map[department.code] = department
    for position, region in enumerate(region_map.values()):
        if region.code not in personnel:
            problems.append(f"regions[{position}] ({region.code} {region.name}): no personnel department")
    return department_map


def _index_institutions(
    institutions: Sequence[Institution],
    region_map: Mapping[RegionCode, Region],
    department_map: Mapping[DepartmentCode, Department],
    owners: dict[str, str],
    problems: list[str],
) -> dict[InstitutionCode, Institution]:
    institution_map: dict[InstitutionCode, Institution] = {}
    for position, institution in enumerate(institutions):
        where = f"institutions[{position}] ({institution.code} {institution.name})"
        if not _claim(owners, institution.code, where, problems):
            continue
        problem = _institution_problem(institution, region_map, department_map)
        if problem is not None:
            problems.append(f"{where}: {problem}")
            continue
        institution_map[institution.code] = institution
    return institution_map


def _institution_problem(
    institution: Institution,
    region_map: Mapping[RegionCode, Region],
    department_map: Mapping[DepartmentCode, Department],
) -> str | None:
    if institution.region not in region_map:
        return f"region {institution.region} is not a region"
    department = department_map.get(institution.department)
    if department is None or department.kind is not DepartmentKind.COMPETENT:
        return f"department {institution.department} is not a competent department"
    if department.region not in _lineage(region_map, institution.region):
        return f"department {department.code} is not of its region or one above it"
    return None


def _claim(owners: dict[str, str], code: str, where: str, problems: list[str]) -> bool:
    if code in owners:
        problems.append(f"{where}: code {code} is already used by {owners[code]}")
        return False
    owners[code] = where
    return True


def _lineage(region_map: Mapping[RegionCode, Region], code: RegionCode) -> list[RegionCode]:
    """Return the region's code and those of its ancestors, nearest first; parents precede children."""
    lineage: list[RegionCode] = []
    parent: RegionCode | None = code
    while parent is not None and len(lineage) <= REGION_DEPTH_MAX:
        lineage.append(parent)
        parent = region_map[parent].parent
    return lineage


def _group(entries: Iterable[_Entry], key: Callable[[_Entry], _Key]) -> Mapping[_Key, tuple[_Entry, ...]]:
    groups: dict[_Key, list[_Entry]] = {}
    for entry in entries:
        groups.setdefault(key(entry), []).append(entry)
    return MappingProxyType({group_key: tuple(members) for group_key, members in groups.items()})


def _found(entry: _Entry | None, kind: str, code: str) -> _Entry:
    if entry is None:
        raise UnknownOrganisationCode(kind, code)
    return entry


def _read_document(path: Path) -> object:
    try:
        return read_json_file(path, ORGANISATION_FILE_BYTES_MAX)
    except JsonFileRefused as refused:
        if refused.repeated_names:
            raise OrganisationInvalid(f"an object repeats the names {list(refused.repeated_names)}") from None
        raise OrganisationInvalid(str(refused)) from None


def _entries(
    value: object,
    kind: str,
    count_max: int,
    parse: Callable[[dict[str, object], str], _Entry],
    problems: list[str],
) -> list[_Entry]:
    if not isinstance(value, list) or len(value) > count_max:
        problems.append(f"{kind} is not a list of at most {count_max} entries")
        return []
    entries: list[_Entry] = []
    for position, item in enumerate(value):
        where = f"{kind}[{position}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: not an object")
            continue
        try:
            entries.append(parse(item, where))
        except OrganisationInvalid as exc:
            problems.append(exc.detail)
    return entries


def _region_from(item: dict[str, object], where: str) -> Region:
    _expect_names(item, {"code", "name", "parent"}, where)
    parent = None if item["parent"] is None else RegionCode(_code(item, "parent", _REGION_CODE, where))
    return Region(code=RegionCode(_code(item, "code", _REGION_CODE, where)), name=_name(item, where), parent=parent)


def _department_from(item: dict[str, object], where: str) -> Department:
    _expect_names(item, {"code", "name", "region", "kind"}, where)
    kind = item["kind"]
    if not isinstance(kind, str) or kind not in {member.value for member in DepartmentKind}:
        raise OrganisationInvalid(f"{where}: kind is not one of {[str(member) for member in DepartmentKind]}")
    return Department(
        code=DepartmentCode(_code(item, "code", _UNIT_CODE, where)),
        name=_name(item, where),
        region=RegionCode(_code(item, "region", _REGION_CODE, where)),
        kind=DepartmentKind(kind),
    )


def _institution_from(item: dict[str, object], where: str) -> Institution:
    _expect_names(item, {"code", "name", "region", "department"}, where)
    return Institution(
        code=InstitutionCode(_code(item, "code", _UNIT_CODE, where)),
        name=_name(item, where),
        region=RegionCode(_code(item, "region", _REGION_CODE, where)),
        department=DepartmentCode(_code(item, "department", _UNIT_CODE, where)),
    )


def _expect_names(item: dict[str, object], names: set[str], where: str) -> None:
    if set(item) != names:
        raise OrganisationInvalid(f"{where}: has the names {sorted(item)}, not {sorted(names)}")


def _code(item: dict[str, object], name: str, pattern: re.Pattern[str], where: str) -> str:
    value = item[name]
    if not isinstance(value, str) or pattern.fullmatch(value) is None:
        raise OrganisationInvalid(f"{where}: {name} is not a code matching {pattern.pattern}")
    return value


def _name(item: dict[str, object], where: str) -> str:
    value = item["name"]
    if not isinstance(value, str) or not 0 < len(value) <= NAME_CHARACTERS_MAX or value != value.strip():
        raise OrganisationInvalid(f"{where}: name is not a text of 1 to {NAME_CHARACTERS_MAX} characters")
    return value
