"""Access: the API tokens of operators, auditors and supervisors, their roles and scopes, password-reset
links, and the append-only audit log of what they do."""

from sso.access.errors import (
    AccessError,
    InvalidAccessRequest,
    InvalidToken,
    OutOfReach,
    ResetLinkInvalid,
    TokenNotFound,
)
from sso.access.model import (
    Actor,
    ActorKind,
    ApiToken,
    AuditAction,
    AuditEntry,
    AuditOutcome,
    AuditPage,
    AuditQuery,
    NewAuditEntry,
    Role,
    Scope,
    ScopeKind,
    Target,
    TargetKind,
    TokenId,
)
from sso.access.service import Access, AuditLog, ResetLinks, Tokens

__all__ = [
    "Access",
    "AccessError",
    "Actor",
    "ActorKind",
    "ApiToken",
    "AuditAction",
    "AuditEntry",
    "AuditLog",
    "AuditOutcome",
    "AuditPage",
    "AuditQuery",
    "InvalidAccessRequest",
    "InvalidToken",
    "NewAuditEntry",
    "OutOfReach",
    "ResetLinkInvalid",
    "ResetLinks",
    "Role",
    "Scope",
    "ScopeKind",
    "Target",
    "TargetKind",
    "TokenId",
    "TokenNotFound",
    "Tokens",
]
