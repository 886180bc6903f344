"""The bearer-token check of the API, and the audit of what token holders do.

Operators, auditors and supervisors call with ``Authorization: Bearer <token>``; such a request is
judged by its token alone, on every route: ``gateway.sessions`` ignores a session cookie beside an
``Authorization`` header, and hands such a request to a staff route over to ``authenticate_caller``
(401 for a token that admits nobody, 404 for one that does: no role here is staff's).

- ``require_caller(request, *roles)``: the ``Caller`` the token admits, in one of the roles. No token:
  401 with ``WWW-Authenticate: Bearer realm="hub"``; a malformed, unknown, expired or revoked one: the
  same with ``error="invalid_token"``. A role that does not fit: 404, as for anything else outside the
  caller's reach, so that nothing reveals what exists; the same for a member of staff who calls with
  their session and no token.
- ``audited(request, caller, action, target)``: a block that leaves exactly one audit entry, whose
  outcome says how the block ended; ``audited_act`` the same for any actor (the command line's).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import ClassVar, Final

import structlog
from aiohttp import hdrs, web

from adapters.errors import AdapterError
from gateway.keys import HUB
from gateway.sessions import session_token_of
from ledger.errors import LedgerError
from sso.access.errors import InvalidToken, OutOfReach
from sso.access.model import Actor, AuditAction, AuditOutcome, NewAuditEntry, Role, Scope, Target, TokenId
from sso.access.service import AuditLog
from sso.errors import IdentityError
from sso.organisation import Organisation
from supervision.errors import SupervisionError
from trainings.errors import TrainingsError

__all__ = [
    "AuditNote",
    "BearerTokenInvalid",
    "BearerTokenRequired",
    "Caller",
    "audited",
    "audited_act",
    "authenticate_caller",
    "require_caller",
]

AUTHORIZATION_CHARACTERS_MAX: Final = 512
BEARER_CHALLENGE: Final = 'Bearer realm="hub"'

log = structlog.get_logger(__name__)


class BearerTokenRequired(Exception):
    """The request carries no bearer token; answered 401 with the bearer challenge."""

    code: ClassVar[str] = "bearer_token_required"
    title: ClassVar[str] = "Authentication required"
    headers: ClassVar[dict[str, str]] = {hdrs.WWW_AUTHENTICATE: BEARER_CHALLENGE}

    def __init__(self) -> None:
        super().__init__("this call needs an Authorization: Bearer token")


class BearerTokenInvalid(Exception):
    """The bearer token is malformed, unknown, expired or revoked; answered 401, one answer for all."""

    code: ClassVar[str] = "invalid_token"
    title: ClassVar[str] = "Invalid token"
    headers: ClassVar[dict[str, str]] = {hdrs.WWW_AUTHENTICATE: f'{BEARER_CHALLENGE}, error="invalid_token"'}

    def __init__(self) -> None:
        super().__init__("the bearer token is malformed, unknown, expired or revoked")


@dataclass(frozen=True, slots=True)
class Caller:
    """Who calls: their token's id, role and scope, and the organisation the scope is read against."""

    token_id: TokenId
    role: Role
    scope: Scope | None
    organisation: Organisation | None = field(default=None, repr=False)

    @property
    def actor(self) -> Actor:
        """The caller as the audit log names them."""
        return Actor.holding(self.role, self.token_id)

    def require(self, *roles: Role) -> None:
        """Go on only in one of these roles. Raises ``OutOfReach`` otherwise."""
        if self.role not in roles:
            raise OutOfReach

    def oversees(self, institution_code: str) -> bool:
        """Whether the caller may act on the staff of this institution.

        Operators and auditors reach every institution; a supervisor those their unit oversees.
        """
        if self.scope is None:
            return True
        return self.organisation is not None and self.scope.reaches(self.organisation, institution_code)

    def require_oversight(self, institution_code: str) -> None:
        """Go on only for staff of an institution the caller oversees. Raises ``OutOfReach`` otherwise."""
        if not self.oversees(institution_code):
            raise OutOfReach


async def authenticate_caller(request: web.Request) -> Caller:
    """The caller the request's bearer token admits, in whatever role.

    Raises ``BearerTokenRequired`` without credentials, ``BearerTokenInvalid`` for a refused token, and
    ``OutOfReach`` for a member of staff signed in with a session and no token.
    """
    hub = request.app[HUB]
    if hdrs.AUTHORIZATION not in request.headers:
        await _refuse_staff(request)
    try:
        token = await hub.access.tokens.authenticate(_bearer_secret(request))
    except InvalidToken as exc:
        log.info("bearer_token_refused", route=_route_of(request), reason=exc.reason.value)
        raise BearerTokenInvalid from None
    organisation = None if token.scope is None else await hub.organisation.organisation()
    return Caller(token_id=token.id, role=token.role, scope=token.scope, organisation=organisation)


async def require_caller(request: web.Request, *roles: Role) -> Caller:
    """The caller the request's bearer token admits, in one of ``roles``.

    Raises ``BearerTokenRequired`` or ``BearerTokenInvalid`` (401), and ``OutOfReach`` (404) for another role.
    """
    caller = await authenticate_caller(request)
    caller.require(*roles)
    return caller


async def _refuse_staff(request: web.Request) -> None:
    """A signed-in member of staff is someone, with no role here: 404 for them, 401 for nobody."""
    session_token = session_token_of(request)
    if session_token is not None and await request.app[HUB].people.person_for_session(session_token) is not None:
        raise OutOfReach
    raise BearerTokenRequired


def _bearer_secret(request: web.Request) -> str:
    header = request.headers.get(hdrs.AUTHORIZATION)
    if header is None:
        raise BearerTokenRequired
    scheme, _, secret = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise BearerTokenRequired
    if len(header) > AUTHORIZATION_CHARACTERS_MAX:
        log.info("bearer_token_refused", route=_route_of(request), reason="too_long")
        raise BearerTokenInvalid
    return secret.strip()


def _route_of(request: web.Request) -> str:
    # The route's pattern, not the path: a path may carry whatever the caller typed, personal data too.
    resource = request.match_info.route.resource
    return "unknown" if resource is None else resource.canonical


@dataclass(slots=True)
class AuditNote:
    """What an audited block says about itself: its target once known, and details without personal data."""

    target: Target | None
    details: dict[str, str | int | bool | None] = field(default_factory=dict)


@asynccontextmanager
async def audited(
    request: web.Request, caller: Caller, action: AuditAction, target: Target | None = None
) -> AsyncIterator[AuditNote]:
    """Run a block as one audited action of the caller: see ``audited_act``."""
    async with audited_act(request.app[HUB].access.audit, caller.actor, action, target) as note:
        yield note


@asynccontextmanager
async def audited_act(
    audit: AuditLog, actor: Actor, action: AuditAction, target: Target | None = None
) -> AsyncIterator[AuditNote]:
    """Run a block as one audited action: exactly one entry, whose outcome says how the block ended.

    ``OutOfReach`` is recorded as denied, the packages' expected errors and the gateway's 4xx
    refusals as refused (with their code), anything else as failed; every error is raised on unchanged.
    """
    note = AuditNote(target)
    try:
        yield note
    except OutOfReach:
        await _record(audit, actor, action, note, AuditOutcome.DENIED)
        raise
    except (IdentityError, LedgerError, AdapterError, TrainingsError, SupervisionError) as error:
        note.details["error"] = str(getattr(error, "code", "error"))
        await _record(audit, actor, action, note, AuditOutcome.REFUSED)
        raise
    except web.HTTPClientError as error:  # a request the gateway refused, such as a body over its limit
        note.details["error"] = f"http_{error.status}"
        await _record(audit, actor, action, note, AuditOutcome.REFUSED)
        raise
    # Any other failure is still an action someone attempted: it is recorded, then raised unchanged.
    except Exception:
        await _record(audit, actor, action, note, AuditOutcome.FAILED)
        raise
    await _record(audit, actor, action, note, AuditOutcome.SUCCEEDED)


async def _record(audit: AuditLog, actor: Actor, action: AuditAction, note: AuditNote, outcome: AuditOutcome) -> None:
    entry = NewAuditEntry(actor=actor, action=action, outcome=outcome, target=note.target, details=note.details)
    await audit.record(entry)
