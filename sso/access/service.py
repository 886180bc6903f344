"""Access's use cases: issue, list, revoke and check API tokens; issue and use password-reset links;
append to and read the audit log.

The clock is passed in, so expiry is tested without waiting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.model import PersonId
from sso.access.errors import InvalidToken, ResetLinkInvalid, TokenRejection
from sso.access.model import (
    RESET_LINK_LIFETIME_SECONDS,
    RESET_LINK_PREFIX,
    TOKEN_PREFIX,
    ApiToken,
    AuditEntry,
    AuditPage,
    AuditQuery,
    NewAuditEntry,
    ResetLink,
    TokenId,
    TokenRequest,
    encode_cursor,
    is_well_formed_secret,
    new_secret,
    secret_digest,
)
from sso.access.store import SqlAccessStore

__all__ = ["Access", "AuditLog", "IssuedResetLink", "IssuedToken", "ResetLinks", "Tokens"]

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A new token and its secret: the only moment the secret exists outside its holder."""

    token: ApiToken
    secret: str

    def __repr__(self) -> str:
        return f"IssuedToken(token={self.token!r})"


@dataclass(frozen=True, slots=True)
class IssuedResetLink:
    """A new password-reset secret (for the link) and when it stops working."""

    secret: str
    expires_at: datetime

    def __repr__(self) -> str:
        return f"IssuedResetLink(expires_at={self.expires_at!r})"


class Tokens:
    """The API tokens of operators, auditors and supervisors."""

    def __init__(self, store: SqlAccessStore, clock: Clock = utc_now) -> None:
        self._store = store
        self._clock = clock

    async def issue(self, request: TokenRequest) -> IssuedToken:
        """Store a new token (its hash only) and return it with its secret."""
        secret = new_secret(TOKEN_PREFIX)
        now = self._clock()
        token = await self._store.insert_token(
            request, digest=secret_digest(secret), created_at=now, expires_at=now + request.lifetime
        )
        return IssuedToken(token=token, secret=secret)

    async def all(self) -> list[ApiToken]:
        """Every token, newest first."""
        return await self._store.tokens()

    async def revoke(self, token_id: TokenId) -> ApiToken:
        """Revoke a token from now on. Raises ``TokenNotFound``."""
        return await self._store.revoke(token_id, self._clock())

    async def authenticate(self, secret: str) -> ApiToken:
        """The token this secret belongs to, if it admits its holder now.

        Found by the hash of the secret through a unique index, so no comparison leaks timing.
        Raises ``InvalidToken`` for a malformed, unknown, expired or revoked token.
        """
        if not is_well_formed_secret(secret, TOKEN_PREFIX):
            raise InvalidToken(TokenRejection.MALFORMED)
        token = await self._store.token_by_digest(secret_digest(secret))
        if token is None:
            raise InvalidToken(TokenRejection.UNKNOWN)
        if token.revoked_at is not None:
            raise InvalidToken(TokenRejection.REVOKED)
        if not token.admits_at(self._clock()):
            raise InvalidToken(TokenRejection.EXPIRED)
        return token


class ResetLinks:
    """One-time password-reset links that an operator issues for a person."""

    def __init__(self, store: SqlAccessStore, clock: Clock = utc_now) -> None:
        self._store = store
        self._clock = clock

    async def issue(self, person_id: PersonId, *, issued_by: TokenId | None) -> IssuedResetLink:
        """A new link for the person, usable once within ``RESET_LINK_LIFETIME_SECONDS``."""
        secret = new_secret(RESET_LINK_PREFIX)
        now = self._clock()
        expires_at = now + timedelta(seconds=RESET_LINK_LIFETIME_SECONDS)
        await self._store.insert_reset_link(
            person_id, digest=secret_digest(secret), issued_by=issued_by, created_at=now, expires_at=expires_at
        )
        return IssuedResetLink(secret=secret, expires_at=expires_at)

    async def use(self, secret: str) -> PersonId:
        """Use a link up and return its person; check the new password before, since a link works once.

        Raises ``ResetLinkInvalid`` for a link that is malformed, unknown, used or expired.
        """
        if not is_well_formed_secret(secret, RESET_LINK_PREFIX):
            raise ResetLinkInvalid
        person_id = await self._store.use_reset_link(secret_digest(secret), self._clock())
        if person_id is None:
            raise ResetLinkInvalid
        return person_id

    async def of(self, person_id: PersonId) -> list[ResetLink]:
        """The links issued for the person, newest first."""
        return await self._store.reset_links_of(person_id)


class AuditLog:
    """The append-only log of every operator, supervisor and auditor action."""

    def __init__(self, store: SqlAccessStore, clock: Clock = utc_now) -> None:
        self._store = store
        self._clock = clock

    async def record(self, entry: NewAuditEntry) -> AuditEntry:
        """Append one entry, stamped with the clock's time."""
        return await self._store.append(entry, self._clock())

    async def page(self, query: AuditQuery) -> AuditPage:
        """The entries that match, newest first, with the cursor to the next page when there is one."""
        entries = await self._store.audit_entries(query, query.limit + 1)
        if len(entries) <= query.limit:
            return AuditPage(entries=tuple(entries), next_cursor=None)
        shown = tuple(entries[: query.limit])
        return AuditPage(entries=shown, next_cursor=encode_cursor(shown[-1].id))


@dataclass(frozen=True, slots=True)
class Access:
    """Tokens, reset links and the audit log, on one store and one clock."""

    tokens: Tokens
    reset_links: ResetLinks
    audit: AuditLog

    @classmethod
    def on(cls, engine: AsyncEngine, clock: Clock = utc_now) -> Access:
        """Access kept in this database."""
        store = SqlAccessStore(engine)
        return cls(tokens=Tokens(store, clock), reset_links=ResetLinks(store, clock), audit=AuditLog(store, clock))
