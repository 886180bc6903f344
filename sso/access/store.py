"""Access on SQL: API tokens and reset links found by the hash of their secret, and the audit log.

Each method is one transaction. The audit log is only inserted into; its table's triggers refuse the rest.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import ColumnElement, Row, Table, and_, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.model import PersonId
from sso.access.errors import TokenNotFound
from sso.access.model import (
    Actor,
    ActorKind,
    ApiToken,
    AuditAction,
    AuditEntry,
    AuditOutcome,
    AuditQuery,
    NewAuditEntry,
    ResetLink,
    ResetLinkId,
    Role,
    Scope,
    ScopeKind,
    Target,
    TargetKind,
    TokenId,
    TokenRequest,
)
from sso.access.tables import ApiTokenRow, AuditEntryRow, ResetLinkRow

TOKEN: Final[Table] = ApiTokenRow.metadata.tables["access_token"]
RESET_LINK: Final[Table] = ResetLinkRow.metadata.tables["access_reset_link"]
AUDIT: Final[Table] = AuditEntryRow.metadata.tables["access_audit_entry"]

TOKENS_LISTED_MAX: Final = 10_000
RESET_LINKS_LISTED_MAX: Final = 1000


class SqlAccessStore:
    """Tokens, reset links and the audit log in the hub's database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    # ------------------------------------------------------------ API tokens

    async def insert_token(
        self, request: TokenRequest, *, digest: str, created_at: datetime, expires_at: datetime
    ) -> ApiToken:
        """Store a new token by the hash of its secret; returns it with its id."""
        scope = request.scope
        values = {
            "digest": digest,
            "role": request.role.value,
            "scope_kind": None if scope is None else scope.kind.value,
            "scope_code": None if scope is None else scope.code,
            "name": request.name,
            "created_at": created_at,
            "expires_at": expires_at,
            "revoked_at": None,
        }
        async with self._engine.begin() as connection:
            token_id = (await connection.execute(insert(TOKEN).values(values).returning(TOKEN.c.id))).scalar_one()
        return _token_from({**values, "id": token_id})

    async def token_by_digest(self, digest: str) -> ApiToken | None:
        """The token whose secret has this hash, or ``None``."""
        async with self._engine.connect() as connection:
            row = (await connection.execute(select(TOKEN).where(TOKEN.c.digest == digest))).first()
        return None if row is None else _token_from(row._mapping)

    async def tokens(self) -> list[ApiToken]:
        """Every token, newest first, up to ``TOKENS_LISTED_MAX``."""
        statement = select(TOKEN).order_by(TOKEN.c.id.desc()).limit(TOKENS_LISTED_MAX)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(statement)).all()
        return [_token_from(row._mapping) for row in rows]

    async def revoke(self, token_id: TokenId, at: datetime) -> ApiToken:
        """Revoke a token; a token revoked before keeps its first time. Raises ``TokenNotFound``."""
        async with self._engine.begin() as connection:
            await connection.execute(
                update(TOKEN).where(TOKEN.c.id == token_id, TOKEN.c.revoked_at.is_(None)).values(revoked_at=at)
            )
            row = (await connection.execute(select(TOKEN).where(TOKEN.c.id == token_id))).first()
        if row is None:
            raise TokenNotFound(token_id)
        return _token_from(row._mapping)

    # ------------------------------------------------------------ password-reset links

    async def insert_reset_link(
        self,
        person_id: PersonId,
        *,
        digest: str,
        issued_by: TokenId | None,
        created_at: datetime,
        expires_at: datetime,
    ) -> ResetLinkId:
        """Store a new reset link by the hash of its secret."""
        values = {
            "digest": digest,
            "person_id": person_id,
            "issued_by_token_id": issued_by,
            "created_at": created_at,
            "expires_at": expires_at,
        }
        async with self._engine.begin() as connection:
            link_id = (
                await connection.execute(insert(RESET_LINK).values(values).returning(RESET_LINK.c.id))
            ).scalar_one()
        return ResetLinkId(link_id)

    async def use_reset_link(self, digest: str, now: datetime) -> PersonId | None:
        """Use the link up, if it is usable at ``now``: one conditional update, so only one use wins."""
        statement = update(RESET_LINK).where(_usable(digest, now)).values(used_at=now).returning(RESET_LINK.c.person_id)
        async with self._engine.begin() as connection:
            person_id = (await connection.execute(statement)).scalar_one_or_none()
        return None if person_id is None else PersonId(person_id)

    async def reset_links_of(self, person_id: PersonId) -> list[ResetLink]:
        """The person's reset links, newest first, up to ``RESET_LINKS_LISTED_MAX``: never their secrets."""
        statement = (
            select(RESET_LINK)
            .where(RESET_LINK.c.person_id == person_id)
            .order_by(RESET_LINK.c.id.desc())
            .limit(RESET_LINKS_LISTED_MAX)
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(statement)).all()
        return [
            ResetLink(
                id=ResetLinkId(row.id),
                person_id=PersonId(row.person_id),
                issued_by=None if row.issued_by_token_id is None else TokenId(row.issued_by_token_id),
                created_at=row.created_at,
                expires_at=row.expires_at,
                used_at=row.used_at,
            )
            for row in rows
        ]

    # ------------------------------------------------------------ the audit log

    async def append(self, entry: NewAuditEntry, occurred_at: datetime) -> AuditEntry:
        """Append one entry; returns it with its number."""
        target = entry.target
        values = {
            "occurred_at": occurred_at,
            "actor_kind": entry.actor.kind.value,
            "actor_token_id": entry.actor.token_id,
            "action": entry.action.value,
            "outcome": entry.outcome.value,
            "target_kind": None if target is None else target.kind.value,
            "target_id": None if target is None else target.id,
            "details": json.dumps(dict(entry.details), ensure_ascii=False, sort_keys=True),
        }
        async with self._engine.begin() as connection:
            entry_id = (await connection.execute(insert(AUDIT).values(values).returning(AUDIT.c.id))).scalar_one()
        return _audit_entry_from({**values, "id": entry_id})

    async def audit_entries(self, query: AuditQuery, count: int) -> list[AuditEntry]:
        """Up to ``count`` entries that match the query, newest first."""
        conditions: list[ColumnElement[bool]] = []
        if query.action is not None:
            conditions.append(AUDIT.c.action == query.action.value)
        if query.actor is not None:
            conditions.append(AUDIT.c.actor_token_id == query.actor)
        if query.since is not None:
            conditions.append(AUDIT.c.occurred_at >= query.since)
        if query.until is not None:
            conditions.append(AUDIT.c.occurred_at < query.until)
        if query.before_id is not None:
            conditions.append(AUDIT.c.id < query.before_id)
        statement = select(AUDIT).where(*conditions).order_by(AUDIT.c.id.desc()).limit(count)
        async with self._engine.connect() as connection:
            rows: Sequence[Row[Any]] = (await connection.execute(statement)).all()
        return [_audit_entry_from(row._mapping) for row in rows]


def _usable(digest: str, now: datetime) -> ColumnElement[bool]:
    return and_(RESET_LINK.c.digest == digest, RESET_LINK.c.used_at.is_(None), RESET_LINK.c.expires_at > now)


def _token_from(row: Any) -> ApiToken:
    scope_kind = row["scope_kind"]
    return ApiToken(
        id=TokenId(row["id"]),
        role=Role(row["role"]),
        scope=None if scope_kind is None else Scope(ScopeKind(scope_kind), row["scope_code"]),
        name=row["name"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
    )


def _audit_entry_from(row: Any) -> AuditEntry:
    token_id = row["actor_token_id"]
    target_kind = row["target_kind"]
    return AuditEntry(
        id=row["id"],
        occurred_at=row["occurred_at"],
        actor=Actor(ActorKind(row["actor_kind"]), None if token_id is None else TokenId(token_id)),
        action=AuditAction(row["action"]),
        outcome=AuditOutcome(row["outcome"]),
        target=None if target_kind is None else Target(TargetKind(target_kind), row["target_id"]),
        details=json.loads(row["details"]),
    )
