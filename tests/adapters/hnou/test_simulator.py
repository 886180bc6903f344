"""hnou's LTI tool refuses a login initiation from a platform it is not registered with."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.test_utils import TestClient

from adapters.hnou.simulator import SIMULATOR, create_simulator

Client = TestClient[web.Request, web.Application]


async def test_a_login_from_an_unknown_platform_is_refused(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
) -> None:
    app = create_simulator("http://127.0.0.1:8080", client_id="hub-client", deployment_id="d-1")
    client = await aiohttp_client(app)

    unknown = await client.get(
        "/lti/login", params={"iss": "http://127.0.0.1:9999", "login_hint": "x"}, allow_redirects=False
    )
    no_hint = await client.get("/lti/login", params={"iss": "http://127.0.0.1:8080"}, allow_redirects=False)

    assert (unknown.status, no_hint.status) == (400, 400)
    assert [refusal.step for refusal in app[SIMULATOR].refusals] == ["login", "login"]
    assert "Could not find login hint" in app[SIMULATOR].refusals[1].detail


async def test_a_login_from_the_hub_goes_to_its_authorization_endpoint(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
) -> None:
    client = await aiohttp_client(
        create_simulator("http://127.0.0.1:8080", client_id="hub-client", deployment_id="d-1")
    )

    answer = await client.get(
        "/lti/login",
        params={"iss": "http://127.0.0.1:8080", "login_hint": "h", "lti_message_hint": "m", "client_id": "hub-client"},
        allow_redirects=False,
    )

    assert answer.status == 302
    location = answer.headers["Location"]
    assert location.startswith("http://127.0.0.1:8080/lti/authorize?")
    for part in ("scope=openid", "response_type=id_token", "response_mode=form_post", "prompt=none", "nonce="):
        assert part in location
    assert any(cookie.startswith("lti1p3-state-") for cookie in answer.cookies)
