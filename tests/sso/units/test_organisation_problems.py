"""An organisation file is judged whole: every bad entry is reported, not only the first."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from sso.errors import OrganisationInvalid
from sso.organisation import PROBLEMS_REPORTED_MAX, load_organisation, parse_organisation

HUNAN_FILE = Path(__file__).parents[3] / "config" / "organisation" / "hunan.json"


def _hunan() -> dict[str, list[dict[str, object]]]:
    document = json.loads(HUNAN_FILE.read_text(encoding="utf-8"))
    del document["about"]
    return document


def test_every_bad_entry_is_named() -> None:
    document = _hunan()
    document["regions"][3]["name"] = ""
    document["departments"][10]["kind"] = "other"
    document["institutions"][5]["department"] = "430000-nothing"
    document["institutions"][7]["code"] = document["institutions"][6]["code"]

    with pytest.raises(OrganisationInvalid) as caught:
        parse_organisation(document)

    problems = caught.value.problems
    assert problems[0].startswith("regions[3]: name is not a text")
    assert any(problem.startswith("departments[10]: kind is not one of") for problem in problems)
    assert any(problem.startswith("institutions[5] (") and "430000-nothing" in problem for problem in problems)
    assert any(problem.startswith("institutions[7] (") and "already used by" in problem for problem in problems)
    assert str(caught.value) == "; ".join(problems)


def test_entries_that_refer_to_a_bad_one_are_reported_too() -> None:
    document = _hunan()
    city = next(position for position, region in enumerate(document["regions"]) if region["code"] == "430100")
    document["regions"][city]["name"] = "长沙市" * 50

    with pytest.raises(OrganisationInvalid) as caught:
        parse_organisation(document)

    problems = caught.value.problems
    assert problems[0].startswith(f"regions[{city}]: name is not a text")
    assert any("parent 430100 is not a region" in problem for problem in problems)
    assert any("region 430100 is not a region" in problem for problem in problems)


def test_the_report_is_limited() -> None:
    document = _hunan()
    for institution in document["institutions"]:
        institution["name"] = ""
    for region in document["regions"][1:]:
        region["name"] = ""

    with pytest.raises(OrganisationInvalid) as caught:
        parse_organisation(document)

    assert len(caught.value.problems) == PROBLEMS_REPORTED_MAX + 1
    assert caught.value.problems[-1].startswith("and ")


def test_a_file_names_itself_in_every_problem(tmp_path: Path) -> None:
    document = _hunan()
    document["regions"][1]["code"] = "43"
    document["institutions"][0]["region"] = "x"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document), encoding="utf-8")

    with pytest.raises(OrganisationInvalid) as caught:
        load_organisation(path)

    assert len(caught.value.problems) >= 2
    assert all(problem.startswith(f"organisation file {path}: ") for problem in caught.value.problems)


def test_the_shipped_file_has_no_problem() -> None:
    organisation = parse_organisation(copy.deepcopy(_hunan()))

    assert len(organisation.regions) == 56
