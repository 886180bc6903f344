"""Access's pure rules: token requests, scopes, secrets, audit entries without personal data, audit queries."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from sso.access.errors import InvalidAccessRequest
from sso.access.model import (
    AUDIT_PAGE_SIZE_DEFAULT,
    COMMAND_LINE,
    AuditAction,
    AuditOutcome,
    NewAuditEntry,
    Role,
    Scope,
    ScopeKind,
    Target,
    TargetKind,
    TokenId,
    decode_cursor,
    encode_cursor,
    is_well_formed_secret,
    mask_email,
    mask_phone,
    new_secret,
    parse_audit_query,
    secret_digest,
    token_request,
)
from sso.id_numbers import make_id_number
from sso.organisation import Organisation, load_organisation

ORGANISATION_FILE = Path(__file__).parents[3] / "config" / "organisation" / "hunan.json"


@pytest.fixture(scope="module")
def hunan() -> Organisation:
    return load_organisation(ORGANISATION_FILE)


def _fields(error: pytest.ExceptionInfo[InvalidAccessRequest]) -> list[str]:
    return [field_error.field for field_error in error.value.errors]


# ---------------------------------------------------------------- token requests


def test_operators_and_auditors_have_no_scope(hunan: Organisation) -> None:
    operator = token_request(hunan, role="operator", name=" 王芳的令牌 ")
    auditor = token_request(hunan, role="auditor", lifetime_days=7)

    assert (operator.role, operator.scope, operator.name) == (Role.OPERATOR, None, "王芳的令牌")
    assert operator.lifetime == timedelta(days=90)
    assert (auditor.role, auditor.scope, auditor.lifetime) == (Role.AUDITOR, None, timedelta(days=7))


def test_a_supervisor_names_one_unit_that_exists(hunan: Organisation) -> None:
    department = token_request(hunan, role="supervisor", department="430100-personnel")
    institution = token_request(hunan, role="supervisor", institution="430181-0001")

    assert department.scope == Scope(ScopeKind.DEPARTMENT, "430100-personnel")
    assert institution.scope == Scope(ScopeKind.INSTITUTION, "430181-0001")


@pytest.mark.parametrize(
    ("arguments", "fields"),
    [
        ({"role": "supervisor"}, ["scope"]),
        ({"role": "supervisor", "department": "430100-personnel", "institution": "430181-0001"}, ["scope"]),
        ({"role": "supervisor", "department": "430181-0001"}, ["department"]),
        ({"role": "supervisor", "institution": "430100-personnel"}, ["institution"]),
        ({"role": "operator", "department": "430100-personnel"}, ["department"]),
        ({"role": "auditor", "institution": "430181-0001"}, ["institution"]),
        ({"role": "root"}, ["role"]),
        ({"role": "operator", "lifetime_days": 0}, ["expires_days"]),
        ({"role": "operator", "lifetime_days": 366}, ["expires_days"]),
        ({"role": "operator", "name": "x" * 101}, ["name"]),
        ({"role": "operator", "name": "a\nb"}, ["name"]),
    ],
)
def test_bad_token_requests_are_refused(hunan: Organisation, arguments: dict[str, object], fields: list[str]) -> None:
    with pytest.raises(InvalidAccessRequest) as refused:
        token_request(hunan, **arguments)  # type: ignore[arg-type]

    assert _fields(refused) == fields


def test_every_fault_of_a_token_request_is_listed_at_once(hunan: Organisation) -> None:
    with pytest.raises(InvalidAccessRequest) as refused:
        token_request(hunan, role="operator", institution="430181-0001", name="\x00", lifetime_days=-1)

    assert _fields(refused) == ["institution", "name", "expires_days"]


# ---------------------------------------------------------------- scopes


@pytest.mark.parametrize(
    ("scope", "reached", "not_reached"),
    [
        # A city's personnel department: every institution in the city and its counties.
        (
            Scope(ScopeKind.DEPARTMENT, "430100-personnel"),
            ["430100-0001", "430100-0002", "430102-0001", "430181-0003"],
            ["430200-0001", "430000-0001"],
        ),
        # A city's health commission: the institutions it governs, not the counties' hospitals.
        (Scope(ScopeKind.DEPARTMENT, "430100-health"), ["430100-0001"], ["430100-0002", "430181-0001", "430200-0001"]),
        # The province's personnel department: everything.
        (Scope(ScopeKind.DEPARTMENT, "430000-personnel"), ["430000-0001", "430181-0001", "430281-0002"], []),
        # An institution: its own staff only.
        (Scope(ScopeKind.INSTITUTION, "430181-0001"), ["430181-0001"], ["430181-0002", "430100-0001"]),
        # A unit that no longer exists reaches nothing.
        (Scope(ScopeKind.DEPARTMENT, "439999-personnel"), [], ["430100-0001"]),
    ],
)
def test_a_scope_reaches_what_its_unit_oversees(
    hunan: Organisation, scope: Scope, reached: list[str], not_reached: list[str]
) -> None:
    assert [code for code in reached if scope.reaches(hunan, code)] == reached
    assert [code for code in not_reached if scope.reaches(hunan, code)] == []
    assert not scope.reaches(hunan, "no-such-institution")


# ---------------------------------------------------------------- secrets


def test_secrets_are_random_recognisable_and_kept_as_their_sha256() -> None:
    first, second = new_secret(), new_secret()

    assert first != second
    assert first.startswith("hub_")
    assert len(first) == len("hub_") + 43  # 256 bits in base64url
    assert is_well_formed_secret(first)
    assert secret_digest(first) == hashlib.sha256(first.encode()).hexdigest()


@pytest.mark.parametrize(
    "text", ["", "hub_", "hub_" + "a" * 42, "hub_" + "a" * 44, "hux_" + "a" * 43, "hub_" + "a" * 42 + "!"]
)
def test_malformed_secrets_are_recognised(text: str) -> None:
    assert not is_well_formed_secret(text)


def test_a_reset_secret_is_not_a_token() -> None:
    reset = new_secret("hubreset_")

    assert is_well_formed_secret(reset, "hubreset_")
    assert not is_well_formed_secret(reset)


# ---------------------------------------------------------------- audit entries


def test_an_audit_entry_refuses_details_that_look_like_personal_data() -> None:
    id_number = make_id_number("430102", date(1990, 3, 7), 123, today=date(2021, 12, 1))
    for value in (id_number, f"old {id_number.lower()} new", "13812345678", "wang@example.cn"):
        with pytest.raises(ValueError, match="personal data") as refused:
            NewAuditEntry(COMMAND_LINE, AuditAction.PERSON_READ, AuditOutcome.SUCCEEDED, details={"note": value})
        assert value not in str(refused.value)
    with pytest.raises(ValueError, match="personal data"):
        Target(TargetKind.PERSON, id_number)


def test_an_id_the_hub_made_is_a_target_and_a_detail_whatever_digits_it_holds() -> None:
    # 16 random bytes in hex (a person id, an export id) can hold runs of digits that look like a
    # mobile number or an ID number: about one in a hundred does.
    for hub_id in ("a13912345678b" + "0" * 19, "1101051949123100" + "2a" * 8, "0" * 32):
        assert Target.person(hub_id).id == hub_id
        assert Target(TargetKind.EXPORT, hub_id).id == hub_id
        entry = NewAuditEntry(
            COMMAND_LINE, AuditAction.LEDGER_EXPORTED, AuditOutcome.SUCCEEDED, details={"export_id": hub_id}
        )
        assert entry.details["export_id"] == hub_id
    for not_an_id in ("13912345678", "a13912345678b" + "0" * 18, "A13912345678B" + "0" * 19):
        with pytest.raises(ValueError, match="personal data"):
            Target(TargetKind.PERSON, not_an_id)


def test_an_audit_entry_takes_plain_details_and_freezes_them() -> None:
    details: dict[str, str | int | bool | None] = {"unit_code": "430181-0001", "changed": True, "year": 2021}
    entry = NewAuditEntry(
        COMMAND_LINE, AuditAction.PERSON_TRANSFERRED, AuditOutcome.SUCCEEDED, Target.person("a" * 32), details
    )
    details["year"] = 1999

    assert entry.details == {"unit_code": "430181-0001", "changed": True, "year": 2021}
    with pytest.raises(TypeError):
        entry.details["year"] = 1999  # type: ignore[index]


@pytest.mark.parametrize(
    "details", [{"Bad Key": 1}, {f"key_{number}": number for number in range(17)}, {"x": "y" * 201}]
)
def test_an_audit_entry_limits_its_details(details: dict[str, str | int | bool | None]) -> None:
    with pytest.raises(ValueError, match="audit"):
        NewAuditEntry(COMMAND_LINE, AuditAction.PERSON_READ, AuditOutcome.SUCCEEDED, details=details)


# ---------------------------------------------------------------- audit queries


def test_an_audit_query_reads_every_filter() -> None:
    query = parse_audit_query(
        {
            "action": "person.read",
            "actor": "7",
            "since": "2021-06-01T08:00:00+08:00",
            "until": "2021-07-01T00:00:00Z",
            "cursor": encode_cursor(120),
            "limit": "10",
        }
    )

    assert query.action is AuditAction.PERSON_READ
    assert query.actor == TokenId(7)
    assert query.since == datetime(2021, 6, 1, 0, 0, tzinfo=UTC)
    assert query.until == datetime(2021, 7, 1, tzinfo=UTC)
    assert (query.before_id, query.limit) == (120, 10)
    assert parse_audit_query({}).limit == AUDIT_PAGE_SIZE_DEFAULT


def test_every_bad_audit_parameter_is_listed_at_once() -> None:
    with pytest.raises(InvalidAccessRequest) as refused:
        parse_audit_query(
            {
                "action": "person.eaten",
                "actor": "-1",
                "since": "2021-06-01T08:00:00",  # no offset: refused, not guessed
                "until": "yesterday",
                "cursor": "bm90LWEtY3Vyc29y",
                "limit": "201",
            }
        )

    assert _fields(refused) == ["action", "actor", "since", "until", "cursor", "limit"]


def test_unknown_and_overlong_audit_parameters_are_refused() -> None:
    with pytest.raises(InvalidAccessRequest) as refused:
        parse_audit_query({"person": "x", "action": "a" * 101})

    assert _fields(refused) == ["person", "action"]


def test_a_cursor_round_trips_and_a_forged_one_is_refused() -> None:
    assert decode_cursor(encode_cursor(42)) == 42
    assert decode_cursor(encode_cursor(42) + "A") is None
    assert decode_cursor("YXVkaXQ6LTE") is None  # "audit:-1"
    assert decode_cursor("") is None


# ---------------------------------------------------------------- masks


def test_phones_and_emails_are_masked() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_email("wangfang@example.cn") == "w***@example.cn"
    assert mask_email("not-an-address") == "***"


def test_every_code_of_the_audit_log_fits_its_column() -> None:
    from sso.access.tables import AuditEntryRow

    columns = AuditEntryRow.metadata.tables["access_audit_entry"].columns
    for codes, column in ((AuditAction, "action"), (AuditOutcome, "outcome"), (TargetKind, "target_kind")):
        too_long = [code.value for code in codes if len(code.value) > columns[column].type.length]
        assert too_long == [], column
