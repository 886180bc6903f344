"""Supervisors' reports, read a page of people at a time.

A report walks the active staff of its institutions in rosters of up to ``ROSTER_UNITS_PER_QUERY_MAX``
institutions, ``ROSTER_PAGE_SIZE`` people at a time, and asks the ledger about each page at once.
It holds one page of people and one tally per institution, never the whole province.
"""

from __future__ import annotations

import bisect
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import Final

from ledger.model import Evaluation
from sso.organisation import Institution, Region
from sso.people.model import ROSTER_UNITS_PER_QUERY_MAX, Member
from supervision.reports.model import (
    ComplianceSummary,
    OnlineHours,
    Report,
    ReportUnit,
    Shortfall,
    Tally,
)
from supervision.reports.ports import Evaluations, Rosters

__all__ = [
    "ROSTER_PAGE_SIZE",
    "ComplianceLine",
    "InstitutionLine",
    "RegionLine",
    "Reports",
    "ShortPage",
    "UnitLine",
    "VendorSharePage",
    "institution_chunks",
    "roster_pages",
]

ROSTER_PAGE_SIZE: Final = 500

Evaluated = list[tuple[Member, Evaluation]]


@dataclass(frozen=True, slots=True)
class ShortPage:
    """People short of the year's rules, and where the next page starts (``None`` after the last)."""

    items: tuple[Shortfall, ...]
    next_after: Member | None


@dataclass(frozen=True, slots=True)
class VendorSharePage:
    """Institutions with their online hours, and the code the next page starts after (``None`` after the last)."""

    items: tuple[tuple[Institution, OnlineHours], ...]
    next_after: str | None


@dataclass(frozen=True, slots=True)
class InstitutionLine:
    institution: Institution
    tally: Tally


@dataclass(frozen=True, slots=True)
class RegionLine:
    region: Region
    tally: Tally


@dataclass(frozen=True, slots=True)
class UnitLine:
    unit: ReportUnit
    tally: Tally


ComplianceLine = Shortfall | InstitutionLine | RegionLine | UnitLine


class Reports:
    """Compliance and vendors' shares of the institutions of a report."""

    def __init__(self, evaluations: Evaluations, rosters: Rosters) -> None:
        self._evaluations = evaluations
        self._rosters = rosters

    async def compliance(self, report: Report, year: int) -> ComplianceSummary:
        """The report's tallies against the year's rules. Raises ``NoRulesForYear``."""
        rules = self._evaluations.rules_for(year)
        tallies: dict[str, Tally] = {}
        async with aclosing(self._evaluated(report.institutions, year, None)) as pages:
            async for page in pages:
                for member, evaluation in page:
                    tallies.setdefault(member.unit_code, Tally()).count(evaluation)
        return ComplianceSummary.of(report, rules, tallies)

    async def shortfalls(self, report: Report, year: int, after: Member | None, limit: int) -> ShortPage:
        """Up to ``limit`` people of the report short of the year's rules, after ``after``, in the order of
        the rosters (institution code, then person). Raises ``NoRulesForYear``."""
        self._evaluations.rules_for(year)
        found: Evaluated = []
        async with aclosing(self._evaluated(report.institutions, year, after)) as pages:
            async for page in pages:
                found += [(member, evaluation) for member, evaluation in page if not evaluation.met]
                if len(found) > limit:
                    break
        shown = found[:limit]
        items = await self._shortfalls(_by_code(report), shown)
        return ShortPage(items, shown[-1][0] if len(found) > limit else None)

    async def lines(self, report: Report, year: int) -> AsyncGenerator[list[ComplianceLine]]:
        """The whole report as lines, a page at a time: each institution's short people followed by the
        institution's line, then each region's line (tree order), then the unit's. Raises ``NoRulesForYear``
        before the first page."""
        rules = self._evaluations.rules_for(year)
        tallies: dict[str, Tally] = {}
        by_code = _by_code(report)
        for chunk in institution_chunks(report.institutions):
            current: str | None = None
            async with aclosing(self._pages(chunk, year, None)) as pages:
                async for page in pages:
                    short = [item for item in page if not item[1].met]
                    shortfalls = iter(await self._shortfalls(by_code, short))
                    lines: list[ComplianceLine] = []
                    for member, evaluation in page:
                        if current is not None and member.unit_code != current:
                            lines.append(InstitutionLine(by_code[current], tallies[current]))
                        current = member.unit_code
                        tallies.setdefault(current, Tally()).count(evaluation)
                        if not evaluation.met:
                            lines.append(next(shortfalls))
                    yield lines
            # The last institution read, and those without anyone, end the chunk.
            yield [
                InstitutionLine(institution, tallies.get(institution.code, Tally()))
                for institution in chunk
                if institution.code == current or institution.code not in tallies
            ]
        summary = ComplianceSummary.of(report, rules, tallies)
        yield [
            *(RegionLine(region, tally) for region, tally in summary.regions),
            UnitLine(report.unit, summary.total),
        ]

    async def vendor_shares(self, report: Report, year: int, after: str | None, limit: int) -> VendorSharePage:
        """Up to ``limit`` institutions of the report (by code, after the code ``after``) with their online
        hours in the year by vendor. Raises ``NoRulesForYear``."""
        self._evaluations.rules_for(year)
        codes = [institution.code for institution in report.institutions]
        start = 0 if after is None else bisect.bisect_right(codes, after)
        page = report.institutions[start : start + limit]
        hours = {institution.code: OnlineHours() for institution in page}
        for chunk in institution_chunks(page):
            async for members in roster_pages(self._rosters, chunk, None):
                online = await self._evaluations.online_hours_of([member.person_id for member in members], year)
                for member in members:
                    hours[member.unit_code].count(online.get(member.person_id, {}))
        next_after = page[-1].code if page and start + limit < len(codes) else None
        return VendorSharePage(tuple((institution, hours[institution.code]) for institution in page), next_after)

    async def _evaluated(
        self, institutions: Sequence[Institution], year: int, after: Member | None
    ) -> AsyncGenerator[Evaluated]:
        """Pages of the institutions' active staff with their evaluated years, from after ``after``."""
        chunks = institution_chunks(institutions)
        first = 0
        if after is not None:
            codes = [institution.code for institution in institutions]
            first = bisect.bisect_left(codes, after.unit_code) // ROSTER_UNITS_PER_QUERY_MAX
        for index in range(first, len(chunks)):
            async with aclosing(self._pages(chunks[index], year, after if index == first else None)) as pages:
                async for page in pages:
                    yield page

    async def _pages(self, chunk: Sequence[Institution], year: int, after: Member | None) -> AsyncGenerator[Evaluated]:
        async with aclosing(roster_pages(self._rosters, chunk, after)) as rosters:
            async for members in rosters:
                evaluations = await self._evaluations.evaluate_people([member.person_id for member in members], year)
                yield [(member, evaluations[member.person_id]) for member in members]

    async def _shortfalls(self, by_code: Mapping[str, Institution], evaluated: Evaluated) -> tuple[Shortfall, ...]:
        if not evaluated:
            return ()
        identities = await self._rosters.masked_identities([member.person_id for member, _evaluation in evaluated])
        return tuple(
            Shortfall(member, by_code[member.unit_code], identities[member.person_id], evaluation)
            for member, evaluation in evaluated
        )


def _by_code(report: Report) -> dict[str, Institution]:
    return {institution.code: institution for institution in report.institutions}


def institution_chunks(institutions: Sequence[Institution]) -> list[Sequence[Institution]]:
    """The institutions in runs of ``ROSTER_UNITS_PER_QUERY_MAX``, the most one roster reads at once."""
    return [
        institutions[start : start + ROSTER_UNITS_PER_QUERY_MAX]
        for start in range(0, len(institutions), ROSTER_UNITS_PER_QUERY_MAX)
    ]


async def roster_pages(
    rosters: Rosters, institutions: Sequence[Institution], after: Member | None
) -> AsyncGenerator[list[Member]]:
    """The active staff of up to ``ROSTER_UNITS_PER_QUERY_MAX`` institutions, ``ROSTER_PAGE_SIZE`` at a time."""
    codes = [institution.code for institution in institutions]
    while members := await rosters.roster(codes, after=after, count=ROSTER_PAGE_SIZE):
        yield members
        if len(members) < ROSTER_PAGE_SIZE:
            return
        after = members[-1]
