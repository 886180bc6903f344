"""Supervisors' reports, pure: which unit a supervisor may report on and which institutions the report
covers, compliance tallies rolled up to regions, and the vendors' shares of online hours.

A report is about one unit: a region (every institution of its subtree), a department (the
institutions it oversees) or an institution (its own staff), and covers those of its institutions
that the supervisor's scope reaches. A supervisor may report on their own unit; with a department's
scope, also on the regions of its region's subtree and the institutions it oversees; with a personnel
department's scope, also on the departments of its region's subtree. Anything else is out of reach.

Hours are integer hundredths throughout; a vendor's share is compared with the 90 % line in integers
and only rendered as a decimal string.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from ledger.model import Evaluation, Source, YearRules
from sso.access.model import Scope, ScopeKind
from sso.errors import UnknownOrganisationCode
from sso.organisation import DepartmentKind, Institution, Organisation, Region, RegionCode
from sso.people.model import MaskedIdentity, Member

__all__ = [
    "ONLINE_VENDORS",
    "SHARE_DECIMAL_PLACES",
    "VENDOR_SHARE_LINE",
    "VENDOR_SHARE_STAFF_MIN",
    "ComplianceSummary",
    "OnlineHours",
    "Report",
    "ReportFormat",
    "ReportUnit",
    "Shortfall",
    "Tally",
    "UnitKind",
    "report_for",
    "share_text",
]

ONLINE_VENDORS: Final = tuple(source for source in Source if source.is_vendor)
VENDOR_SHARE_STAFF_MIN: Final = 20
"""An institution is looked at when at least this many of its staff earned online hours in the year."""
VENDOR_SHARE_LINE: Final = (9, 10)
"""One vendor's share of an institution's online hours above this fraction (90 %) flags it."""
SHARE_DECIMAL_PLACES: Final = 4


class UnitKind(StrEnum):
    """What a report is about."""

    REGION = "region"
    DEPARTMENT = "department"
    INSTITUTION = "institution"


class ReportFormat(StrEnum):
    """How a report is answered."""

    JSON = "json"
    CSV = "csv"


@dataclass(frozen=True, slots=True)
class ReportUnit:
    """The unit a report is about; ``region`` is the region it belongs to (a region's is itself)."""

    code: str
    name: str
    kind: UnitKind
    region: RegionCode


@dataclass(frozen=True, slots=True)
class Report:
    """A unit, the institutions under it that the supervisor reaches (by code), and the regions that hold
    them (tree order, parents first; none for an institution)."""

    unit: ReportUnit
    institutions: tuple[Institution, ...]
    regions: tuple[Region, ...]
    regions_of: Mapping[str, tuple[RegionCode, ...]] = field(repr=False)
    """Each institution's code → the report's regions that hold it."""


def report_for(organisation: Organisation, scope: Scope, code: str) -> Report | None:
    """The report on the unit ``code`` for a supervisor of ``scope``; ``None`` when the organisation holds no
    such unit or the scope does not reach it, alike."""
    unit = _unit(organisation, code)
    if unit is None or not _may_report_on(organisation, scope, unit):
        return None
    institutions = sorted(
        (institution for institution in _under(organisation, unit) if scope.reaches(organisation, institution.code)),
        key=lambda institution: institution.code,
    )
    if unit.kind is UnitKind.INSTITUTION:
        return Report(unit, tuple(institutions), (), MappingProxyType({}))
    in_report = {region.code for region in organisation.subtree_of(unit.region)}
    regions_of: dict[str, tuple[RegionCode, ...]] = {
        institution.code: tuple(region for region in _lineage(organisation, institution.region) if region in in_report)
        for institution in institutions
    }
    holding = {region for lineage in regions_of.values() for region in lineage}
    regions = tuple(region for region in organisation.subtree_of(unit.region) if region.code in holding)
    return Report(unit, tuple(institutions), regions, MappingProxyType(regions_of))


def _unit(organisation: Organisation, code: str) -> ReportUnit | None:
    if (region := organisation.regions.get(RegionCode(code))) is not None:
        return ReportUnit(region.code, region.name, UnitKind.REGION, region.code)
    try:
        department = organisation.department(code)
    except UnknownOrganisationCode:
        pass
    else:
        return ReportUnit(department.code, department.name, UnitKind.DEPARTMENT, department.region)
    try:
        institution = organisation.institution(code)
    except UnknownOrganisationCode:
        return None
    return ReportUnit(institution.code, institution.name, UnitKind.INSTITUTION, institution.region)


def _may_report_on(organisation: Organisation, scope: Scope, unit: ReportUnit) -> bool:
    if unit.code == scope.code:  # codes are unique across regions, departments and institutions
        return True
    if scope.kind is ScopeKind.INSTITUTION:
        return False
    try:
        department = organisation.department(scope.code)
    except UnknownOrganisationCode:  # the scope's department left the organisation at an import
        return False
    below = department.region in _lineage(organisation, unit.region)
    if unit.kind is UnitKind.INSTITUTION:
        return organisation.oversees(department.code, unit.code)
    if unit.kind is UnitKind.REGION:
        return below
    return below and department.kind is DepartmentKind.PERSONNEL


def _under(organisation: Organisation, unit: ReportUnit) -> tuple[Institution, ...]:
    if unit.kind is UnitKind.DEPARTMENT:
        return organisation.institutions_overseen_by(unit.code)
    return organisation.institutions_under(unit.code)


def _lineage(organisation: Organisation, region_code: RegionCode) -> list[RegionCode]:
    """The region's code and its ancestors', nearest first."""
    lineage: list[RegionCode] = []
    code: RegionCode | None = region_code
    while code is not None:
        lineage.append(code)
        code = organisation.region(code).parent
    return lineage


# ---------------------------------------------------------------- compliance


@dataclass(slots=True)
class Tally:
    """People counted against the year's rules, and the hours they earned (hundredths)."""

    people: int = 0
    met: int = 0
    public: int = 0
    professional: int = 0

    @property
    def not_met(self) -> int:
        return self.people - self.met

    @property
    def total(self) -> int:
        return self.public + self.professional

    def count(self, evaluation: Evaluation) -> None:
        """Count one person's evaluated year."""
        self.people += 1
        self.met += evaluation.met
        self.public += evaluation.earned.public
        self.professional += evaluation.earned.professional

    def add(self, other: Tally) -> None:
        """Add another tally's people and hours to this one."""
        self.people += other.people
        self.met += other.met
        self.public += other.public
        self.professional += other.professional


@dataclass(frozen=True, slots=True)
class ComplianceSummary:
    """A report's tallies: the whole unit, each of its regions and each of its institutions."""

    report: Report
    rules: YearRules
    total: Tally
    regions: tuple[tuple[Region, Tally], ...]
    institutions: tuple[tuple[Institution, Tally], ...]

    @classmethod
    def of(cls, report: Report, rules: YearRules, tallies: Mapping[str, Tally]) -> ComplianceSummary:
        """Roll the institutions' tallies (by code; a missing one counts nobody) up to the regions and the unit."""
        by_region = {region.code: Tally() for region in report.regions}
        total = Tally()
        institutions = []
        for institution in report.institutions:
            tally = tallies.get(institution.code, Tally())
            institutions.append((institution, tally))
            total.add(tally)
            for region in report.regions_of.get(institution.code, ()):
                by_region[region].add(tally)
        regions = tuple((region, by_region[region.code]) for region in report.regions)
        return cls(report, rules, total, regions, tuple(institutions))


@dataclass(frozen=True, slots=True)
class Shortfall:
    """A person whose year does not meet its rules, and what they still miss."""

    member: Member
    institution: Institution
    identity: MaskedIdentity
    evaluation: Evaluation


# ---------------------------------------------------------------- vendors' shares of online hours


@dataclass(slots=True)
class OnlineHours:
    """An institution's online hours in a year (hundredths) by vendor, and how many staff earned any."""

    staff: int = 0
    by_vendor: dict[Source, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_vendor.values())

    def count(self, hours: Mapping[Source, int]) -> None:
        """Count one person's online hours by vendor; a person with none is no staff of this tally."""
        if sum(hours.values()) <= 0:
            return
        self.staff += 1
        for vendor, vendor_hours in hours.items():
            self.by_vendor[vendor] = self.by_vendor.get(vendor, 0) + vendor_hours

    @property
    def dominant_vendor(self) -> Source | None:
        """The vendor that provided over 90 % of the online hours, if one did (compared in integers)."""
        numerator, denominator = VENDOR_SHARE_LINE
        total = self.total
        for vendor, hours in self.by_vendor.items():
            if total > 0 and hours * denominator > total * numerator:
                return vendor
        return None

    @property
    def flagged(self) -> bool:
        """At least 20 staff earned online hours and one vendor provided over 90 % of them."""
        return self.staff >= VENDOR_SHARE_STAFF_MIN and self.dominant_vendor is not None

    def share(self, vendor: Source) -> str | None:
        """The vendor's share of the online hours as a decimal string; ``None`` without online hours."""
        total = self.total
        return None if total <= 0 else share_text(self.by_vendor.get(vendor, 0), total)


def share_text(part: int, whole: int) -> str:
    """``part / whole`` as a decimal string of ``SHARE_DECIMAL_PLACES`` places, rounded half up, in integers
    only: ``share_text(1, 3)`` is ``"0.3333"``."""
    if whole <= 0 or not 0 <= part <= whole:
        raise ValueError("a share is a part of a positive whole")
    scale = 10**SHARE_DECIMAL_PLACES
    rounded = (2 * part * scale + whole) // (2 * whole)
    return f"{rounded // scale}.{rounded % scale:0{SHARE_DECIMAL_PLACES}d}"
