"""Tokens, reset links and the audit log on a real database (SQLite and PostgreSQL), with a clock moved by hand."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.model import PersonId
from sso.access.errors import InvalidToken, ResetLinkInvalid, TokenNotFound, TokenRejection
from sso.access.model import (
    COMMAND_LINE,
    Actor,
    AuditAction,
    AuditOutcome,
    AuditQuery,
    NewAuditEntry,
    Role,
    Scope,
    ScopeKind,
    Target,
    TokenId,
    TokenRequest,
)
from sso.access.service import Access

PERSON = PersonId("0123456789abcdef0123456789abcdef")


class Clock:
    """A clock that stands still until moved."""

    def __init__(self) -> None:
        self.now = datetime(2021, 12, 1, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def access(engine: AsyncEngine, clock: Clock) -> Access:
    return Access.on(engine, clock)


def _request(role: Role = Role.OPERATOR, scope: Scope | None = None, days: int = 30) -> TokenRequest:
    return TokenRequest(role=role, scope=scope, name="王芳", lifetime=timedelta(days=days))


async def _rows(engine: AsyncEngine, table: str) -> list[dict[str, object]]:
    async with engine.connect() as connection:
        result = await connection.execute(text(f"SELECT * FROM {table}"))  # noqa: S608  (a table name of the test)
        return [dict(row._mapping) for row in result]


# ---------------------------------------------------------------- tokens


async def test_only_the_hash_of_a_token_is_stored(access: Access, engine: AsyncEngine) -> None:
    scope = Scope(ScopeKind.DEPARTMENT, "430100-personnel")
    issued = await access.tokens.issue(_request(Role.SUPERVISOR, scope))

    (row,) = await _rows(engine, "access_token")
    assert row["digest"] == hashlib.sha256(issued.secret.encode()).hexdigest()
    assert issued.secret not in {str(value) for value in row.values()}
    assert issued.secret not in repr(issued)
    assert (row["role"], row["scope_kind"], row["scope_code"]) == ("supervisor", "department", "430100-personnel")
    assert await access.tokens.authenticate(issued.secret) == issued.token


async def test_a_token_works_until_it_expires(access: Access, clock: Clock) -> None:
    issued = await access.tokens.issue(_request(days=30))

    clock.advance(days=30, seconds=-1)
    assert (await access.tokens.authenticate(issued.secret)).id == issued.token.id
    clock.advance(seconds=1)
    with pytest.raises(InvalidToken) as refused:
        await access.tokens.authenticate(issued.secret)
    assert refused.value.reason is TokenRejection.EXPIRED


async def test_a_revoked_token_stops_working_at_once_and_keeps_its_first_revocation(
    access: Access, clock: Clock
) -> None:
    issued = await access.tokens.issue(_request())
    other = await access.tokens.issue(_request(Role.AUDITOR))
    clock.advance(hours=1)
    revoked = await access.tokens.revoke(issued.token.id)
    clock.advance(hours=1)
    again = await access.tokens.revoke(issued.token.id)

    assert revoked.revoked_at == again.revoked_at == datetime(2021, 12, 1, 9, 0, tzinfo=UTC)
    with pytest.raises(InvalidToken) as refused:
        await access.tokens.authenticate(issued.secret)
    assert refused.value.reason is TokenRejection.REVOKED
    assert (await access.tokens.authenticate(other.secret)).role is Role.AUDITOR
    assert [token.id for token in await access.tokens.all()] == [other.token.id, issued.token.id]


async def test_unknown_and_malformed_tokens_are_refused(access: Access) -> None:
    issued = await access.tokens.issue(_request())
    forged = issued.secret[:-1] + ("A" if issued.secret[-1] != "A" else "B")

    reasons = []
    for secret in (forged, "", issued.secret + "x", issued.secret.removeprefix("hub_")):
        with pytest.raises(InvalidToken) as refused:
            await access.tokens.authenticate(secret)
        reasons.append(refused.value.reason)
        assert secret not in str(refused.value) or not secret
    assert reasons == [TokenRejection.UNKNOWN, *[TokenRejection.MALFORMED] * 3]


async def test_revoking_an_unknown_token_says_so(access: Access) -> None:
    with pytest.raises(TokenNotFound, match="no API token with id 404"):
        await access.tokens.revoke(TokenId(404))


# ---------------------------------------------------------------- reset links


async def test_a_reset_link_works_once(access: Access, engine: AsyncEngine) -> None:
    issued = await access.reset_links.issue(PERSON, issued_by=TokenId(3))

    assert await access.reset_links.use(issued.secret) == PERSON
    with pytest.raises(ResetLinkInvalid):
        await access.reset_links.use(issued.secret)
    (row,) = await _rows(engine, "access_reset_link")
    assert issued.secret not in {str(value) for value in row.values()}
    assert (row["person_id"], row["issued_by_token_id"]) == (PERSON, 3)


async def test_a_reset_link_expires_after_a_day(access: Access, clock: Clock) -> None:
    late = await access.reset_links.issue(PERSON, issued_by=None)
    in_time = await access.reset_links.issue(PERSON, issued_by=None)

    clock.advance(hours=24, seconds=-1)
    assert await access.reset_links.use(in_time.secret) == PERSON
    clock.advance(seconds=1)
    with pytest.raises(ResetLinkInvalid):
        await access.reset_links.use(late.secret)


async def test_unknown_and_malformed_reset_links_are_refused(access: Access) -> None:
    token = await access.tokens.issue(_request())
    for secret in ("", "hubreset_" + "a" * 43, token.secret):
        with pytest.raises(ResetLinkInvalid):
            await access.reset_links.use(secret)


# ---------------------------------------------------------------- the audit log


async def _fill(access: Access, clock: Clock) -> None:
    operator, auditor = Actor.holding(Role.OPERATOR, TokenId(1)), Actor.holding(Role.AUDITOR, TokenId(2))
    plan = [
        (operator, AuditAction.PERSON_REGISTERED),
        (operator, AuditAction.PERSON_READ),
        (auditor, AuditAction.AUDIT_LOG_READ),
        (operator, AuditAction.PERSON_READ),
        (COMMAND_LINE, AuditAction.TOKEN_CREATED),
    ]
    for actor, action in plan:
        clock.advance(minutes=10)
        await access.audit.record(NewAuditEntry(actor, action, AuditOutcome.SUCCEEDED, Target.person(PERSON)))


async def test_an_audit_entry_is_stored_as_given(access: Access, clock: Clock) -> None:
    entry = NewAuditEntry(
        Actor.holding(Role.SUPERVISOR, TokenId(9)),
        AuditAction.PERSON_TRANSFERRED,
        AuditOutcome.REFUSED,
        Target.person(PERSON),
        {"from_unit": "430181-0001", "changed": False, "year": 2021, "error": None},
    )
    recorded = await access.audit.record(entry)

    (stored,) = (await access.audit.page(AuditQuery())).entries
    assert stored == recorded
    assert (stored.occurred_at, stored.actor, stored.target) == (clock.now, entry.actor, entry.target)
    assert stored.details == {"from_unit": "430181-0001", "changed": False, "year": 2021, "error": None}


async def test_the_audit_log_pages_newest_first_with_filters(access: Access, clock: Clock) -> None:
    start = clock.now
    await _fill(access, clock)

    first = await access.audit.page(AuditQuery(limit=2))
    second = await access.audit.page(AuditQuery(limit=2, before_id=first.entries[-1].id))
    last = await access.audit.page(AuditQuery(limit=2, before_id=second.entries[-1].id))
    by_action = await access.audit.page(AuditQuery(action=AuditAction.PERSON_READ))
    by_actor = await access.audit.page(AuditQuery(actor=TokenId(2)))
    by_time = await access.audit.page(
        AuditQuery(since=start + timedelta(minutes=20), until=start + timedelta(minutes=40))
    )

    paged = [entry.id for page in (first, second, last) for entry in page.entries]
    assert paged == sorted(paged, reverse=True)
    assert len(set(paged)) == 5
    assert first.next_cursor is not None
    assert second.next_cursor is not None
    assert last.next_cursor is None
    assert [entry.action for entry in by_action.entries] == [AuditAction.PERSON_READ] * 2
    assert [entry.action for entry in by_actor.entries] == [AuditAction.AUDIT_LOG_READ]
    assert [entry.occurred_at - start for entry in by_time.entries] == [timedelta(minutes=30), timedelta(minutes=20)]


@pytest.mark.parametrize(
    "statement", ["UPDATE access_audit_entry SET outcome = 'denied'", "DELETE FROM access_audit_entry"]
)
async def test_the_database_refuses_to_change_or_delete_audit_entries(
    access: Access, clock: Clock, engine: AsyncEngine, statement: str
) -> None:
    await _fill(access, clock)
    before = await _rows(engine, "access_audit_entry")

    with pytest.raises(DBAPIError, match="append-only"):
        async with engine.begin() as connection:
            await connection.execute(text(statement))

    assert await _rows(engine, "access_audit_entry") == before
