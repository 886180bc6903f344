"""Errors of access: API tokens, roles and scopes, the audit log and password-reset links.

Every one is an ``IdentityError`` with a stable ``code`` and a human ``title``. No message
ever holds a token, a reset link, an ID number, a phone number or an e-mail address: they
are safe to log and to show.

    IdentityError (sso.errors)
    └── AccessError                 code, title, detail
        ├── InvalidToken            reason: a token that is malformed, unknown, expired or revoked
        ├── OutOfReach              the target lies outside the caller's role or scope: "not found"
        ├── InvalidAccessRequest    errors: every field at fault (a token to issue, an audit query…)
        ├── TokenNotFound           no API token has this id
        └── ResetLinkInvalid        a password-reset link that is unknown, used or expired
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from ledger.errors import FieldError
from sso.errors import IdentityError

__all__ = [
    "AccessError",
    "FieldError",
    "InvalidAccessRequest",
    "InvalidToken",
    "OutOfReach",
    "ResetLinkInvalid",
    "TokenNotFound",
    "TokenRejection",
]


class AccessError(IdentityError):
    """The base of the errors of access."""

    code = "access_error"
    title = "Access error"


class TokenRejection(StrEnum):
    """Why a bearer token was refused; for logs, never shown apart from the one answer."""

    MALFORMED = "malformed"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    REVOKED = "revoked"


class InvalidToken(AccessError):
    """A bearer token that does not admit anyone; every reason gets the same message."""

    code = "invalid_token"
    title = "Invalid token"

    def __init__(self, reason: TokenRejection) -> None:
        super().__init__("the bearer token is malformed, unknown, expired or revoked")
        self.reason = reason


class OutOfReach(AccessError):
    """The caller's role or scope does not reach the target; answered as if it did not exist."""

    code = "not_found"
    title = "Not found"

    def __init__(self) -> None:
        super().__init__("there is nothing here for this caller")


class InvalidAccessRequest(AccessError):
    """Input that does not validate; ``errors`` lists every field at fault."""

    code = "invalid_access_request"
    title = "Invalid request"

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__("; ".join(f"{error.field}: {error.message}" for error in errors))
        self.errors = tuple(errors)


class TokenNotFound(AccessError):
    """No API token has this id."""

    code = "token_not_found"
    title = "Token not found"

    def __init__(self, token_id: int) -> None:
        super().__init__(f"there is no API token with id {token_id}")
        self.token_id = token_id


class ResetLinkInvalid(AccessError):
    """A password-reset link that is unknown, already used or expired; one message for all three."""

    code = "reset_link_invalid"
    title = "Invalid password-reset link"

    def __init__(self) -> None:
        super().__init__("this password-reset link is unknown, used or expired: ask your unit's operator for a new one")
