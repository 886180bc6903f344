"""Which unit a supervisor may report on and what the report covers, on the sample organisation of Hunan;
compliance tallies; the vendors' shares of online hours and the 20-staff / 90 % flag on both sides."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.model import Balance, Hours, Source, YearRules, evaluate
from sso.access.model import Scope, ScopeKind
from sso.organisation import Organisation, load_organisation
from supervision.reports.model import ComplianceSummary, OnlineHours, Tally, UnitKind, report_for, share_text

ORGANISATION_FILE = Path(__file__).parents[3] / "config" / "organisation" / "hunan.json"
CHANGSHA = ["430100-0001", "430100-0002", "430102-0001", "430121-0001", "430181-0001", "430181-0002", "430181-0003"]
RULES = YearRules(2021, Hours(9000), Hours(3000), Hours(6000), Hours(750), {"xi_thought": frozenset({"ischinese:X"})})


@pytest.fixture(scope="module")
def hunan() -> Organisation:
    return load_organisation(ORGANISATION_FILE)


def _department(code: str) -> Scope:
    return Scope(ScopeKind.DEPARTMENT, code)


def _institution(code: str) -> Scope:
    return Scope(ScopeKind.INSTITUTION, code)


def _covered(hunan: Organisation, scope: Scope, unit: str) -> list[str] | None:
    report = report_for(hunan, scope, unit)
    return None if report is None else [institution.code for institution in report.institutions]


@pytest.mark.parametrize(
    ("scope", "unit", "covered"),
    [
        # A personnel department: its region, the regions, departments and institutions below it.
        (_department("430100-personnel"), "430100", CHANGSHA),
        (_department("430100-personnel"), "430100-personnel", CHANGSHA),
        (_department("430100-personnel"), "430181", ["430181-0001", "430181-0002", "430181-0003"]),
        (_department("430100-personnel"), "430181-health", ["430181-0001"]),
        (_department("430100-personnel"), "430100-health", ["430100-0001"]),
        (_department("430100-personnel"), "430102-0001", ["430102-0001"]),
        # ... and nothing beside or above it.
        (_department("430100-personnel"), "430200", None),
        (_department("430100-personnel"), "430000", None),
        (_department("430100-personnel"), "430200-0001", None),
        (_department("430100-personnel"), "430000-health", None),
        (_department("430100-personnel"), "no-such-unit", None),
        # A competent department: its own institutions, wherever the report looks in its subtree.
        (_department("430100-health"), "430100-health", ["430100-0001"]),
        (_department("430100-health"), "430100", ["430100-0001"]),
        (_department("430100-health"), "430181", []),
        (_department("430100-health"), "430100-0002", None),
        (_department("430100-health"), "430100-personnel", None),
        (_department("430100-health"), "430181-health", None),
        # The province's personnel department reaches everything.
        (
            _department("430000-personnel"),
            "430200",
            ["430200-0001", "430200-0002", "430211-0001", "430223-0001", "430281-0001", "430281-0002"],
        ),
        # An institution: itself only.
        (_institution("430181-0001"), "430181-0001", ["430181-0001"]),
        (_institution("430181-0001"), "430181", None),
        (_institution("430181-0001"), "430181-0002", None),
    ],
)
def test_a_supervisor_reports_on_the_units_of_their_scope_only(
    hunan: Organisation, scope: Scope, unit: str, covered: list[str] | None
) -> None:
    assert _covered(hunan, scope, unit) == covered


def test_a_report_lists_the_regions_that_hold_its_institutions_parents_first(hunan: Organisation) -> None:
    by_region = report_for(hunan, _department("430100-personnel"), "430100")
    by_department = report_for(hunan, _department("430100-health"), "430100")
    of_institution = report_for(hunan, _institution("430181-0001"), "430181-0001")

    assert by_region is not None
    assert by_region.unit.kind is UnitKind.REGION
    assert [region.code for region in by_region.regions] == ["430100", "430102", "430121", "430181"]
    assert by_region.regions_of["430181-0002"] == ("430181", "430100")
    assert by_department is not None
    assert [region.code for region in by_department.regions] == ["430100"]
    assert of_institution is not None
    assert (of_institution.unit.kind, of_institution.regions) == (UnitKind.INSTITUTION, ())


def test_a_summary_rolls_the_institutions_up_to_their_regions(hunan: Organisation) -> None:
    report = report_for(hunan, _department("430100-personnel"), "430100")
    assert report is not None
    met = evaluate(RULES, Balance(public=3000, professional=6000), frozenset({"ischinese:X"}))
    short = evaluate(RULES, Balance(public=1250, professional=100), frozenset())
    liuyang, centre = Tally(), Tally()
    liuyang.count(met)
    centre.count(short)
    centre.count(met)

    summary = ComplianceSummary.of(report, RULES, {"430181-0002": liuyang, "430100-0001": centre})

    assert (summary.total.people, summary.total.met, summary.total.not_met) == (3, 2, 1)
    assert (summary.total.public, summary.total.professional, summary.total.total) == (7250, 12100, 19350)
    regions = {region.code: (tally.people, tally.met) for region, tally in summary.regions}
    assert regions == {"430100": (3, 2), "430102": (0, 0), "430121": (0, 0), "430181": (1, 1)}
    institutions = {institution.code: tally.people for institution, tally in summary.institutions}
    assert institutions == dict.fromkeys(CHANGSHA, 0) | {"430100-0001": 2, "430181-0002": 1}


def _online(*staff: dict[Source, int]) -> OnlineHours:
    """An institution's online hours: one mapping of hours (hundredths) by vendor per person."""
    online = OnlineHours()
    for hours in staff:
        online.count(hours)
    return online


ISCHINESE_TEN = {Source.ISCHINESE: 1000}
JUST_OVER = (*[ISCHINESE_TEN] * 18, {Source.ISCHINESE: 1, Source.WEBTRN: 999}, {Source.WEBTRN: 1000})
"""20 staff; ischinese 180.01 of 200.00 hours: 90.005 %."""


def test_an_institution_is_flagged_from_20_staff_and_over_90_percent_of_one_vendor() -> None:
    over = _online(*JUST_OVER)
    exactly = _online(*[ISCHINESE_TEN] * 18, *[{Source.HNOU: 1000}] * 2)
    over_with_19 = _online(*JUST_OVER[:19])
    all_one_vendor_with_19 = _online(*[ISCHINESE_TEN] * 19)

    assert (over.staff, over.total, over.dominant_vendor, over.flagged) == (20, 20000, Source.ISCHINESE, True)
    assert (over.share(Source.ISCHINESE), over.share(Source.WEBTRN), over.share(Source.HNOU)) == (
        "0.9001",
        "0.1000",
        "0.0000",
    )
    assert (exactly.staff, exactly.dominant_vendor, exactly.flagged) == (20, None, False)
    assert exactly.share(Source.ISCHINESE) == "0.9000"
    assert (over_with_19.staff, over_with_19.dominant_vendor, over_with_19.flagged) == (19, Source.ISCHINESE, False)
    assert (all_one_vendor_with_19.share(Source.ISCHINESE), all_one_vendor_with_19.flagged) == ("1.0000", False)


def test_only_people_who_earned_online_hours_count_as_staff() -> None:
    online = _online({}, {Source.WEBTRN: 0}, {Source.HNOU: 250})

    assert (online.staff, online.total, online.by_vendor) == (1, 250, {Source.HNOU: 250})
    assert OnlineHours().share(Source.HNOU) is None


@pytest.mark.parametrize(
    ("part", "whole", "text"),
    [
        (1, 3, "0.3333"),
        (2, 3, "0.6667"),
        (1, 2, "0.5000"),
        (18001, 20000, "0.9001"),
        (0, 7, "0.0000"),
        (7, 7, "1.0000"),
    ],
)
def test_a_share_is_a_decimal_string_rounded_half_up_in_integers(part: int, whole: int, text: str) -> None:
    assert share_text(part, whole) == text


@pytest.mark.parametrize(("part", "whole"), [(1, 0), (3, 2), (-1, 2)])
def test_a_share_is_a_part_of_a_positive_whole(part: int, whole: int) -> None:
    with pytest.raises(ValueError, match="a share is a part of a positive whole"):
        share_text(part, whole)
