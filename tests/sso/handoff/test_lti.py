"""The LTI authorization request: a page for an untrusted redirect, an OIDC error for the rest."""

from __future__ import annotations

import pytest

from sso.handoff.errors import AuthorizationRefused, OidcError, UntrustedRedirect
from sso.handoff.lti import check_authorization_request

from .conftest import HNOU

GOOD = {
    "scope": "openid",
    "response_type": "id_token",
    "response_mode": "form_post",
    "prompt": "none",
    "client_id": "hub-client",
    "redirect_uri": "http://127.0.0.1:9003/lti/launch",
    "login_hint": "login-1",
    "lti_message_hint": "hint-1",
    "state": "state-1",
    "nonce": "nonce-1",
}


def test_a_good_request_is_accepted() -> None:
    request = check_authorization_request(GOOD, HNOU)

    assert (request.redirect_uri, request.state, request.nonce) == (GOOD["redirect_uri"], "state-1", "nonce-1")
    assert (request.login_hint, request.message_hint) == ("login-1", "hint-1")
    assert "hint-1" not in repr(request)


@pytest.mark.parametrize(
    "changes",
    [
        {"client_id": "someone-else"},
        {"client_id": None},
        {"redirect_uri": "http://127.0.0.1:9003/lti/launch/"},
        {"redirect_uri": "http://evil.example/lti/launch"},
        {"redirect_uri": None},
    ],
)
def test_an_unknown_client_or_redirect_uri_gets_a_page_not_a_redirect(changes: dict[str, str | None]) -> None:
    parameters = {name: value for name, value in {**GOOD, **changes}.items() if value is not None}

    with pytest.raises(UntrustedRedirect):
        check_authorization_request(parameters, HNOU)


def test_without_an_lti_tool_configured_every_request_is_untrusted() -> None:
    with pytest.raises(UntrustedRedirect):
        check_authorization_request(GOOD, None)


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"response_type": "code"}, OidcError.UNSUPPORTED_RESPONSE_TYPE),
        ({"scope": "profile"}, OidcError.INVALID_SCOPE),
        ({"response_mode": "query"}, OidcError.INVALID_REQUEST),
        ({"prompt": "login"}, OidcError.INVALID_REQUEST),
        ({"prompt": None}, OidcError.INVALID_REQUEST),
        ({"nonce": None}, OidcError.INVALID_REQUEST),
        ({"nonce": ""}, OidcError.INVALID_REQUEST),
        ({"nonce": "n" * 600}, OidcError.INVALID_REQUEST),
        ({"login_hint": None}, OidcError.LOGIN_REQUIRED),
        ({"lti_message_hint": None}, OidcError.LOGIN_REQUIRED),
        ({"lti_message_hint": "h" * 3000}, OidcError.INVALID_REQUEST),
    ],
)
def test_a_bad_request_from_the_tool_gets_an_oidc_error_with_its_state(
    changes: dict[str, str | None], error: OidcError
) -> None:
    parameters = {name: value for name, value in {**GOOD, **changes}.items() if value is not None}

    with pytest.raises(AuthorizationRefused) as refused:
        check_authorization_request(parameters, HNOU)

    assert refused.value.error is error
    assert (refused.value.redirect_uri, refused.value.state) == (GOOD["redirect_uri"], "state-1")


def test_an_overlong_state_is_not_echoed() -> None:
    with pytest.raises(AuthorizationRefused) as refused:
        check_authorization_request({**GOOD, "state": "s" * 2000}, HNOU)

    assert refused.value.state is None
