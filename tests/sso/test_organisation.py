"""The organisation: the shipped sample of Hunan, its tree queries, and every validation rule."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from sso.errors import OrganisationInvalid, UnknownOrganisationCode
from sso.organisation import (
    Department,
    DepartmentKind,
    Institution,
    Organisation,
    Region,
    load_organisation,
    parse_organisation,
)

HUNAN_FILE = Path(__file__).resolve().parents[2] / "config" / "organisation" / "hunan.json"

CITIES = {
    "430100": "长沙市",
    "430200": "株洲市",
    "430300": "湘潭市",
    "430400": "衡阳市",
    "430500": "邵阳市",
    "430600": "岳阳市",
    "430700": "常德市",
    "430800": "张家界市",
    "430900": "益阳市",
    "431000": "郴州市",
    "431100": "永州市",
    "431200": "怀化市",
    "431300": "娄底市",
    "433100": "湘西土家族苗族自治州",
}


@pytest.fixture(scope="module")
def hunan() -> Organisation:
    return load_organisation(HUNAN_FILE)


def _codes(entries: Sequence[Region | Department | Institution]) -> list[str]:
    return [entry.code for entry in entries]


# The shipped sample.


def test_the_province_has_its_14_cities_and_prefectures(hunan: Organisation) -> None:
    (province,) = hunan.roots()

    assert (province.code, province.name) == ("430000", "湖南省")
    assert {region.code: region.name for region in hunan.children_of("430000")} == CITIES


def test_every_city_has_two_to_four_counties_whose_codes_it_prefixes(hunan: Organisation) -> None:
    for city_code in CITIES:
        counties = hunan.children_of(city_code)
        assert 2 <= len(counties) <= 4
        assert all(county.code[:4] == city_code[:4] for county in counties)
        assert all(hunan.children_of(county.code) == () for county in counties)


def test_every_region_has_one_personnel_department_and_competent_ones(hunan: Organisation) -> None:
    for region in hunan.regions.values():
        departments = hunan.departments_in(region.code)
        kinds = [department.kind for department in departments]
        assert kinds.count(DepartmentKind.PERSONNEL) == 1
        assert kinds.count(DepartmentKind.COMPETENT) >= 2
        assert "人力资源和社会保障" in hunan.personnel_department_of(region.code).name


def test_most_regions_have_institutions(hunan: Organisation) -> None:
    with_institutions = [region for region in hunan.regions.values() if hunan.institutions_in(region.code)]

    assert len(with_institutions) >= 0.8 * len(hunan.regions)
    assert all(1 <= len(hunan.institutions_in(region.code)) <= 3 for region in with_institutions)


def test_the_sample_names_real_places_with_their_codes(hunan: Organisation) -> None:
    assert hunan.region("430181").name == "浏阳市"
    assert hunan.region("433101").name == "吉首市"
    assert hunan.region("430211").parent == "430200"
    assert hunan.department("430000-personnel").name == "湖南省人力资源和社会保障厅"
    assert hunan.department("430100-health").name == "长沙市卫生健康委员会"
    assert hunan.institution("430000-0001").name == "湖南省人民医院"


# Tree queries.


def test_the_subtree_of_a_region_lists_parents_first(hunan: Organisation) -> None:
    assert _codes(hunan.subtree_of("430100")) == ["430100", "430102", "430121", "430181"]
    assert _codes(hunan.subtree_of("430181")) == ["430181"]
    subtree = hunan.subtree_of("430000")
    assert len(subtree) == len(hunan.regions)
    assert subtree[0].code == "430000"


def test_institutions_in_a_region_are_its_own(hunan: Organisation) -> None:
    assert [institution.name for institution in hunan.institutions_in("430100")] == ["长沙市中心医院", "长沙市第一中学"]


def test_a_personnel_department_oversees_every_institution_of_its_subtree(hunan: Organisation) -> None:
    overseen = hunan.institutions_overseen_by("430100-personnel")

    assert [institution.name for institution in overseen] == [
        "长沙市中心医院",
        "长沙市第一中学",
        "长沙市芙蓉区疾病预防控制中心",
        "长沙县人民医院",
        "浏阳市人民医院",
        "浏阳市第一中学",
        "浏阳市农业技术推广中心",
    ]
    assert len(hunan.institutions_overseen_by("430000-personnel")) == len(hunan.institutions)
    assert _codes(hunan.institutions_overseen_by("430181-personnel")) == ["430181-0001", "430181-0002", "430181-0003"]


def test_a_competent_department_oversees_the_institutions_it_governs(hunan: Organisation) -> None:
    assert [institution.name for institution in hunan.institutions_overseen_by("430100-health")] == ["长沙市中心医院"]
    assert [institution.name for institution in hunan.institutions_overseen_by("430000-health")] == ["湖南省人民医院"]
    assert [institution.name for institution in hunan.institutions_overseen_by("430181-agriculture")] == [
        "浏阳市农业技术推广中心"
    ]
    assert hunan.institutions_overseen_by("430102-education") == ()


def test_oversees_agrees_with_institutions_overseen_by(hunan: Organisation) -> None:
    for department in hunan.departments.values():
        overseen = set(_codes(hunan.institutions_overseen_by(department.code)))
        for institution in hunan.institutions.values():
            assert hunan.oversees(department.code, institution.code) is (institution.code in overseen)


def test_every_institution_is_overseen_by_every_personnel_department_above_it(hunan: Organisation) -> None:
    for institution in hunan.institutions.values():
        region = hunan.region(institution.region)
        while True:
            assert hunan.oversees(hunan.personnel_department_of(region.code).code, institution.code)
            if region.parent is None:
                break
            region = hunan.region(region.parent)


@pytest.mark.parametrize(
    ("query", "kind"),
    [
        (lambda organisation: organisation.children_of("999999"), "region"),
        (lambda organisation: organisation.subtree_of("430000-health"), "region"),
        (lambda organisation: organisation.institutions_in("439999"), "region"),
        (lambda organisation: organisation.personnel_department_of("439999"), "region"),
        (lambda organisation: organisation.institutions_overseen_by("430000"), "department"),
        (lambda organisation: organisation.oversees("430000-health", "430000-9999"), "institution"),
        (lambda organisation: organisation.institution("430000-health"), "institution"),
    ],
)
def test_a_query_about_an_unknown_code_is_refused(
    hunan: Organisation, query: Callable[[Organisation], object], kind: str
) -> None:
    with pytest.raises(UnknownOrganisationCode) as caught:
        query(hunan)

    assert caught.value.kind == kind
    assert caught.value.code == "unknown_organisation_code"


# Validation.


def _minimal() -> dict[str, list[dict[str, object]]]:
    return {
        "regions": [
            {"code": "430000", "name": "湖南省", "parent": None},
            {"code": "430100", "name": "长沙市", "parent": "430000"},
            {"code": "430200", "name": "株洲市", "parent": "430000"},
        ],
        "departments": [
            {"code": "P0", "name": "省人社厅", "region": "430000", "kind": "personnel"},
            {"code": "H0", "name": "省卫健委", "region": "430000", "kind": "competent"},
            {"code": "P1", "name": "长沙人社局", "region": "430100", "kind": "personnel"},
            {"code": "H1", "name": "长沙卫健委", "region": "430100", "kind": "competent"},
            {"code": "P2", "name": "株洲人社局", "region": "430200", "kind": "personnel"},
            {"code": "H2", "name": "株洲卫健委", "region": "430200", "kind": "competent"},
        ],
        "institutions": [
            {"code": "I0", "name": "省医院", "region": "430000", "department": "H0"},
            {"code": "I1", "name": "长沙医院", "region": "430100", "department": "H1"},
            {"code": "I2", "name": "株洲医院", "region": "430200", "department": "H2"},
            {"code": "I3", "name": "长沙的省属医院", "region": "430100", "department": "H0"},
        ],
    }


def test_the_minimal_document_is_valid_and_oversight_follows_the_rules() -> None:
    organisation = parse_organisation(_minimal())

    assert _codes(organisation.institutions_overseen_by("P0")) == ["I0", "I1", "I3", "I2"]
    assert _codes(organisation.institutions_overseen_by("P1")) == ["I1", "I3"]
    assert _codes(organisation.institutions_overseen_by("H0")) == ["I0", "I3"]
    assert _codes(organisation.institutions_overseen_by("H1")) == ["I1"]
    assert not organisation.oversees("H1", "I3")
    assert not organisation.oversees("P2", "I1")


def _broken(section: str, position: int, **changes: object) -> dict[str, list[dict[str, object]]]:
    document = copy.deepcopy(_minimal())
    document[section][position].update(changes)
    return document


def _without(section: str, position: int) -> dict[str, list[dict[str, object]]]:
    document = copy.deepcopy(_minimal())
    del document[section][position]
    return document


def _with_moved_child() -> dict[str, list[dict[str, object]]]:
    document = copy.deepcopy(_minimal())
    document["regions"].append(document["regions"].pop(0))
    return document


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (_broken("regions", 1, code="430000"), "regions[1] (430000 长沙市): code 430000 is already used by regions[0]"),
        (
            _broken("departments", 1, code="430100"),
            "departments[1] (430100 省卫健委): code 430100 is already used by regions[1]",
        ),
        (
            _broken("institutions", 2, code="I1"),
            "institutions[2] (I1 株洲医院): code I1 is already used by institutions[1]",
        ),
        (
            _broken("institutions", 0, code="H0"),
            "institutions[0] (H0 省医院): code H0 is already used by departments[1]",
        ),
        (
            _broken("regions", 2, parent="439999"),
            "regions[2] (430200 株洲市): parent 439999 is not a region listed before it",
        ),
        (
            _broken("regions", 2, parent="430200"),
            "regions[2] (430200 株洲市): parent 430200 is not a region listed before it",
        ),
        (_with_moved_child(), "regions[0] (430100 长沙市): parent 430000 is not a region listed before it"),
        (_broken("departments", 3, region="439999"), "departments[3] (H1 长沙卫健委): region 439999 is not a region"),
        (
            _broken("departments", 3, kind="personnel"),
            "departments[3] (H1 长沙卫健委): region 430100 already has departments[2]",
        ),
        (_without("departments", 4), "regions[2] (430200 株洲市): no personnel department"),
        (_broken("institutions", 1, region="439999"), "institutions[1] (I1 长沙医院): region 439999 is not a region"),
        (
            _broken("institutions", 1, department="H9"),
            "institutions[1] (I1 长沙医院): department H9 is not a competent",
        ),
        (
            _broken("institutions", 1, department="P1"),
            "institutions[1] (I1 长沙医院): department P1 is not a competent",
        ),
        (
            _broken("institutions", 1, department="H2"),
            "institutions[1] (I1 长沙医院): department H2 is not of its region",
        ),
        (
            _broken("institutions", 0, department="H1"),
            "institutions[0] (I0 省医院): department H1 is not of its region",
        ),
        (_broken("regions", 1, code="4301"), "regions[1]: code is not a code matching"),
        (_broken("regions", 1, code=430100), "regions[1]: code is not a code matching"),
        (_broken("regions", 1, parent=""), "regions[1]: parent is not a code matching"),
        (_broken("departments", 0, code="P 0"), "departments[0]: code is not a code matching"),
        (_broken("departments", 0, kind="other"), "departments[0]: kind is not one of ['personnel', 'competent']"),
        (_broken("institutions", 0, name=""), "institutions[0]: name is not a text"),
        (_broken("institutions", 0, name=" 省医院"), "institutions[0]: name is not a text"),
        (_broken("institutions", 0, name="医" * 101), "institutions[0]: name is not a text"),
        (_broken("institutions", 0, extra=1), "institutions[0]: has the names"),
        ({**_minimal(), "regions": {}}, "regions is not a list"),
        ({**_minimal(), "departments": ["P0"]}, "departments[0]: not an object"),
        ({"regions": [], "departments": []}, "the document has the names"),
        ({**_minimal(), "comment": ""}, "the document has the names"),
        ([], "the document is not a JSON object"),
    ],
)
def test_an_invalid_document_is_refused_naming_the_bad_entry(document: object, message: str) -> None:
    with pytest.raises(OrganisationInvalid) as caught:
        parse_organisation(document)

    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_an_entry_without_a_field_is_refused() -> None:
    document = copy.deepcopy(_minimal())
    del document["regions"][0]["parent"]

    with pytest.raises(OrganisationInvalid, match=r"regions\[0\]: has the names \['code', 'name'\]"):
        parse_organisation(document)


def test_a_tree_deeper_than_the_limit_is_refused() -> None:
    document = copy.deepcopy(_minimal())
    parent = "430100"
    for depth in range(1, 6):
        code = f"4301{depth:02d}"
        document["regions"].append({"code": code, "name": f"第{depth}级", "parent": parent})
        document["departments"].append({"code": f"P-{code}", "name": "人社", "region": code, "kind": "personnel"})
        parent = code

    with pytest.raises(OrganisationInvalid, match=r"regions\[6\] \(430104 第4级\): deeper than 5 levels"):
        parse_organisation(document)


def test_an_empty_organisation_is_valid_and_has_no_roots() -> None:
    organisation = parse_organisation({"regions": [], "departments": [], "institutions": []})

    assert organisation.roots() == ()


def test_a_file_with_an_about_text_loads(tmp_path: Path) -> None:
    path = tmp_path / "organisation.json"
    path.write_text(json.dumps({"about": "a sample", **_minimal()}), encoding="utf-8")

    assert len(load_organisation(path).institutions) == 4


@pytest.mark.parametrize(
    ("content", "fault"),
    [
        (b"{", "not JSON"),
        (b"\xff", "not UTF-8"),
        (b'{"regions": [], "regions": []}', "repeats the names ['regions']"),
        (b'{"regions": [], "departments": []}', "the document has the names"),
    ],
)
def test_a_file_that_is_not_a_valid_document_is_refused_naming_the_file(
    tmp_path: Path, content: bytes, fault: str
) -> None:
    path = tmp_path / "organisation.json"
    path.write_bytes(content)

    with pytest.raises(OrganisationInvalid) as caught:
        load_organisation(path)

    assert str(caught.value).startswith(f"organisation file {path}: ")
    assert fault in str(caught.value)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OrganisationInvalid, match="cannot be read"):
        load_organisation(tmp_path / "absent.json")
