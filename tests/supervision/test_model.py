"""What supervision's parts share: the reach of a scope, the queries of paged answers and their cursors."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from sso.access.model import Scope, ScopeKind
from sso.errors import UnknownOrganisationCode
from sso.organisation import Organisation, load_organisation
from supervision.errors import InvalidSupervisionRequest
from supervision.model import PAGE_SIZE_DEFAULT, QueryName, Reach, decode_cursor, encode_cursor, parse_query, reach_of

ORGANISATION_FILE = Path(__file__).parents[2] / "config" / "organisation" / "hunan.json"
ALL = frozenset(QueryName)


@pytest.fixture(scope="module")
def hunan() -> Organisation:
    return load_organisation(ORGANISATION_FILE)


def test_a_scope_reaches_what_its_unit_oversees(hunan: Organisation) -> None:
    personnel = reach_of(hunan, Scope(ScopeKind.DEPARTMENT, "430100-personnel"))
    competent = reach_of(hunan, Scope(ScopeKind.DEPARTMENT, "430100-health"))
    own = reach_of(hunan, Scope(ScopeKind.INSTITUTION, "430181-0001"))

    assert personnel == Reach(regions=frozenset({"430100", "430102", "430121", "430181"}))
    assert competent == Reach(department="430100-health")
    assert own == Reach(institution="430181-0001")
    for reach in (personnel, competent, own):
        reached = sorted(code for code, institution in hunan.institutions.items() if reach.contains(institution))
        scope_kind = ScopeKind.INSTITUTION if reach.institution else ScopeKind.DEPARTMENT
        code = reach.institution or reach.department or "430100-personnel"
        assert reached == sorted(i for i in hunan.institutions if Scope(scope_kind, code).reaches(hunan, i))
    with pytest.raises(UnknownOrganisationCode):
        reach_of(hunan, Scope(ScopeKind.DEPARTMENT, "430100-gone"))
    with pytest.raises(ValueError, match="exactly one"):
        Reach(institution="430181-0001", department="430181-health")


def test_a_query_takes_its_known_parameters() -> None:
    cursor = encode_cursor("430100-0001", "0" * 32)

    query = parse_query(
        [("year", "2021"), ("cursor", cursor), ("limit", "7"), ("format", "csv")],
        ALL,
        year_required=True,
        cursor_parts=2,
    )
    defaults = parse_query([], frozenset({QueryName.CURSOR, QueryName.LIMIT}))

    assert (query.training_year, query.cursor, query.limit) == (2021, ("430100-0001", "0" * 32), 7)
    assert query.values[QueryName.FORMAT] == "csv"
    assert (defaults.year, defaults.cursor, defaults.limit) == (None, None, PAGE_SIZE_DEFAULT)
    with pytest.raises(ValueError, match="without year_required"):
        _ = defaults.training_year


def test_a_query_names_every_parameter_at_fault() -> None:
    with pytest.raises(InvalidSupervisionRequest) as refused:
        parse_query(
            [("year", "21"), ("year", "2021"), ("limit", "0"), ("cursor", "nope!"), ("430102199003071234", "x")],
            frozenset({QueryName.YEAR, QueryName.CURSOR, QueryName.LIMIT}),
            year_required=True,
        )

    assert [(error.field, error.message) for error in refused.value.errors] == [
        ("year", "is given more than once"),
        ("?", "is not a parameter of this query"),
        ("year", "is required: a year from 2000 to 2100"),
        ("cursor", "must be a next_cursor this endpoint gave"),
        ("limit", "must be a whole number from 1 to 500"),
    ]
    with pytest.raises(InvalidSupervisionRequest, match="year: is required"):
        parse_query([], frozenset({QueryName.YEAR}), year_required=True)


def test_a_cursor_carries_its_parts_and_nothing_else_decodes() -> None:
    cursor = encode_cursor("430181-0002", "ab12")

    assert decode_cursor(cursor) == ("430181-0002", "ab12")
    assert decode_cursor(cursor + "A") is None
    assert decode_cursor("not a cursor") is None
    assert decode_cursor(base64.urlsafe_b64encode(b"a//b").decode()) is None  # an empty part
    assert decode_cursor(base64.urlsafe_b64encode("单位".encode()).decode()) is None
    with pytest.raises(ValueError, match="letters, digits"):
        encode_cursor("a/b")
    with pytest.raises(InvalidSupervisionRequest, match="cursor"):
        parse_query([("cursor", cursor)], frozenset({QueryName.CURSOR}))  # two parts where one is expected
