"""The LTI 1.3 platform's authorization request (OIDC third-party initiated login, step 2 of
vendors.md for hnou): what a request must hold before the hub looks at its message hint.

The client and its ``redirect_uri`` are checked first: until both are known, an error cannot be
sent anywhere and is shown as a page (``UntrustedRedirect``). After that, every error goes back to
the ``redirect_uri`` with the request's ``state`` (``AuthorizationRefused``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from sso.handoff.errors import AuthorizationRefused, OidcError, UntrustedRedirect
from sso.handoff.model import LtiVendor

__all__ = ["PARAMETER_CHARACTERS_MAX", "AuthorizationRequest", "check_authorization_request"]

PARAMETER_CHARACTERS_MAX: Final = 2048
"""No parameter of an authorization request is longer (a URL at most)."""
STATE_CHARACTERS_MAX: Final = 1024
NONCE_CHARACTERS_MAX: Final = 512


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """A well-formed authorization request from the configured tool, to one of its redirect URIs."""

    link: LtiVendor
    redirect_uri: str
    state: str | None
    nonce: str
    login_hint: str
    message_hint: str

    def __repr__(self) -> str:
        # The message hint is a single-use secret.
        return f"AuthorizationRequest(redirect_uri={self.redirect_uri!r})"


def check_authorization_request(parameters: Mapping[str, str], link: LtiVendor | None) -> AuthorizationRequest:
    """The request in ``parameters`` if it is well formed, for the tool ``link`` (None: no LTI tool).

    Raises ``UntrustedRedirect`` for an unknown client or an unregistered redirect_uri, and
    ``AuthorizationRefused`` for any other fault, carrying the redirect_uri and state to answer to.
    """
    client_id = parameters.get("client_id")
    if link is None or client_id is None or client_id != link.client_id:
        raise UntrustedRedirect(OidcError.INVALID_REQUEST, "client_id names no client of this platform")
    redirect_uri = parameters.get("redirect_uri")
    if redirect_uri is None or redirect_uri not in link.redirect_uris:
        raise UntrustedRedirect(OidcError.INVALID_REQUEST, "redirect_uri is not registered for this client")
    state = parameters.get("state")
    if state is not None and len(state) > STATE_CHARACTERS_MAX:
        raise AuthorizationRefused(
            OidcError.INVALID_REQUEST, "state is too long", redirect_uri=redirect_uri, state=None
        )
    fault = _first_fault(parameters)
    if fault is not None:
        error, description = fault
        raise AuthorizationRefused(error, description, redirect_uri=redirect_uri, state=state)
    return AuthorizationRequest(
        link=link,
        redirect_uri=redirect_uri,
        state=state,
        nonce=parameters["nonce"],
        login_hint=parameters["login_hint"],
        message_hint=parameters["lti_message_hint"],
    )


def _first_fault(parameters: Mapping[str, str]) -> tuple[OidcError, str] | None:
    too_long = any(len(value) > PARAMETER_CHARACTERS_MAX for value in parameters.values())
    checks: tuple[tuple[bool, OidcError, str], ...] = (
        (too_long, OidcError.INVALID_REQUEST, f"a parameter is over {PARAMETER_CHARACTERS_MAX} characters"),
        (
            parameters.get("response_type") != "id_token",
            OidcError.UNSUPPORTED_RESPONSE_TYPE,
            "response_type must be id_token",
        ),
        ("openid" not in parameters.get("scope", "").split(), OidcError.INVALID_SCOPE, "scope must include openid"),
        (parameters.get("response_mode") != "form_post", OidcError.INVALID_REQUEST, "response_mode must be form_post"),
        (parameters.get("prompt") != "none", OidcError.INVALID_REQUEST, "prompt must be none"),
        (not parameters.get("nonce"), OidcError.INVALID_REQUEST, "nonce is required"),
        (len(parameters.get("nonce", "")) > NONCE_CHARACTERS_MAX, OidcError.INVALID_REQUEST, "nonce is too long"),
        (not parameters.get("login_hint"), OidcError.LOGIN_REQUIRED, "login_hint is required"),
        (not parameters.get("lti_message_hint"), OidcError.LOGIN_REQUIRED, "lti_message_hint is required"),
    )
    for failed, error, description in checks:
        if failed:
            return error, description
    return None
