"""Errors of the SSO handoff; every one is an ``IdentityError``.

No message ever holds an ID number, a token, a message hint or key material: they are
safe to log and to show.

    IdentityError (sso.errors)
    └── HandoffError                    code, title, detail
        ├── UnknownVendor               a vendor code the hub is not configured for
        ├── InvalidConsentRequest       errors: every field at fault in a consent request
        ├── ConsentNotFound             no consent to withdraw for this vendor
        ├── AuthorizationError          an LTI authorization request refused; error: the OIDC code
        │   ├── UntrustedRedirect       unknown client or unregistered redirect_uri: answer a page
        │   └── AuthorizationRefused    answer the OIDC error at the redirect_uri, with the state
        ├── HandoffUnavailable          the store cannot be reached; retry later
        └── DocumentSignatureInvalid    a document's signature does not verify with the given keys
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from ledger.errors import FieldError
from sso.errors import IdentityError

__all__ = [
    "AuthorizationError",
    "AuthorizationRefused",
    "ConsentNotFound",
    "DocumentSignatureInvalid",
    "HandoffError",
    "HandoffUnavailable",
    "InvalidConsentRequest",
    "OidcError",
    "UnknownVendor",
    "UntrustedRedirect",
]


class HandoffError(IdentityError):
    """The base of the errors of the SSO handoff."""

    code = "handoff_error"
    title = "Handoff error"


class UnknownVendor(HandoffError):
    """A vendor code that is not one of the hub's configured vendors."""

    code = "unknown_vendor"
    title = "Unknown vendor"

    def __init__(self) -> None:
        super().__init__("the hub hands nobody over to this vendor")


class InvalidConsentRequest(HandoffError):
    """A consent request that does not validate; ``errors`` lists every field at fault."""

    code = "invalid_consent_request"
    title = "Invalid consent request"

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__("; ".join(f"{error.field}: {error.message}" for error in errors))
        self.errors = tuple(errors)


class ConsentNotFound(HandoffError):
    """The person has no consent for this vendor to withdraw."""

    code = "consent_not_found"
    title = "Consent not found"

    def __init__(self) -> None:
        super().__init__("there is no consent for this vendor")


class OidcError(StrEnum):
    """The OpenID Connect error codes the authorization endpoint answers (OIDC Core 3.1.2.6, RFC 6749)."""

    INVALID_REQUEST = "invalid_request"
    INVALID_SCOPE = "invalid_scope"
    UNSUPPORTED_RESPONSE_TYPE = "unsupported_response_type"
    LOGIN_REQUIRED = "login_required"
    CONSENT_REQUIRED = "consent_required"


class AuthorizationError(HandoffError):
    """An LTI authorization request that gets no token; ``error`` is its OIDC error code."""

    code = "authorization_error"
    title = "Authorization refused"

    def __init__(self, error: OidcError, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


class UntrustedRedirect(AuthorizationError):
    """The request names an unknown client or a redirect_uri not registered for it: nothing is sent there."""

    code = "untrusted_redirect"
    title = "Untrusted redirect"


class AuthorizationRefused(AuthorizationError):
    """A request from a known client to a registered redirect_uri that is refused: the error goes back there."""

    code = "authorization_refused"
    title = "Authorization request refused"

    def __init__(self, error: OidcError, description: str, *, redirect_uri: str, state: str | None) -> None:
        super().__init__(error, description)
        self.redirect_uri = redirect_uri
        self.state = state


class HandoffUnavailable(HandoffError):
    """The handoff's store cannot be reached; nothing was changed that the caller can see."""

    code = "handoff_unavailable"
    title = "The handoff cannot be done right now"


class DocumentSignatureInvalid(HandoffError):
    """A document's signature that does not verify with the given keys; the message says why."""

    code = "document_signature_invalid"
    title = "The document's signature does not verify"
