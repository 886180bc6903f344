"""The simulator keeps webtrn's side of the contract, so that tests against it mean something."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from adapters.webtrn.simulator_api import WebtrnApiSimulator

from .conftest import CLIENT_ID, CLIENT_SECRET

Client = TestClient[web.Request, web.Application]
BASIC = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()


@pytest.fixture
def simulator() -> WebtrnApiSimulator:
    """Pages as long as the limit asks."""
    return WebtrnApiSimulator(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)


@pytest.fixture
async def client(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]], simulator: WebtrnApiSimulator
) -> Client:
    simulator.complete(1, sub="s", updated_at=datetime(2021, 6, 1, 2, 0, 5, tzinfo=UTC))
    simulator.complete(2, sub="s", updated_at=datetime(2021, 6, 1, 2, 0, 5, tzinfo=UTC))
    simulator.complete(3, sub="s", updated_at=datetime(2021, 6, 1, 2, 0, 6, tzinfo=UTC))
    simulator.complete(4, sub="s", updated_at=datetime(2021, 6, 1, 2, 0, 7, tzinfo=UTC))
    return await aiohttp_client(simulator.app())


async def token(client: Client) -> str:
    answer = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "completions.read"},
        headers={"Authorization": BASIC},
    )
    assert answer.status == 200
    body = await answer.json()
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 3600)
    return str(body["access_token"])


async def page(client: Client, **query: str) -> dict[str, Any]:
    bearer = await token(client)
    answer = await client.get("/api/v1/completions", params=query, headers={"Authorization": f"Bearer {bearer}"})
    assert answer.status == 200, await answer.text()
    body: dict[str, Any] = await answer.json()
    return body


async def test_updated_since_is_inclusive_and_items_come_in_order(client: Client) -> None:
    body = await page(client, updated_since="2021-06-01T02:00:05Z", limit="500")

    assert [item["id"] for item in body["items"]] == [1, 2, 3, 4]
    assert body["next_cursor"] is None
    assert body["items"][0]["updated_at"] == "2021-06-01T02:00:05Z"


async def test_a_cursor_alone_sets_the_position(client: Client) -> None:
    first = await page(client, updated_since="2021-06-01T00:00:00Z", limit="2")
    second = await page(client, cursor=first["next_cursor"], limit="2", updated_since="2030-01-01T00:00:00Z")

    assert [item["id"] for item in first["items"]] == [1, 2]
    assert [item["id"] for item in second["items"]] == [3, 4]
    assert second["next_cursor"] is None


async def test_a_revoked_item_comes_again_with_a_new_updated_at(client: Client, simulator: WebtrnApiSimulator) -> None:
    simulator.revoke(1, updated_at=datetime(2021, 7, 1, tzinfo=UTC))

    body = await page(client, updated_since="2021-06-01T02:00:06Z", limit="500")

    assert [(item["id"], item["status"]) for item in body["items"]] == [
        (3, "completed"),
        (4, "completed"),
        (1, "revoked"),
    ]


async def test_hours_are_json_numbers(client: Client) -> None:
    answer = await client.get(
        "/api/v1/completions",
        params={"updated_since": "2021-06-01T00:00:00Z", "limit": "1"},
        headers={"Authorization": f"Bearer {await token(client)}"},
    )

    assert '"credit_hours": 2.5,' in await answer.text()


@pytest.mark.parametrize(
    ("form", "authorization", "status", "error"),
    [
        ({"grant_type": "client_credentials"}, BASIC, 200, None),
        (
            {"grant_type": "client_credentials"},
            "Basic " + base64.b64encode(b"hub:wrong").decode(),
            401,
            "invalid_client",
        ),
        ({"grant_type": "client_credentials"}, "", 401, "invalid_client"),
        ({"grant_type": "password"}, BASIC, 400, "unsupported_grant_type"),
        ({"grant_type": "client_credentials", "scope": "completions.write"}, BASIC, 400, "invalid_scope"),
    ],
)
async def test_the_token_endpoint_checks_the_client_and_the_grant(
    client: Client, form: dict[str, str], authorization: str, status: int, error: str | None
) -> None:
    answer = await client.post("/oauth/token", data=form, headers={"Authorization": authorization})

    assert answer.status == status
    assert (await answer.json()).get("error") == error


@pytest.mark.parametrize(
    ("query", "authorized", "status"),
    [
        ({"updated_since": "2021-06-01T00:00:00Z", "limit": "500"}, False, 401),
        ({"updated_since": "2021-06-01T00:00:00Z", "limit": "501"}, True, 400),
        ({"updated_since": "2021-06-01T00:00:00", "limit": "5"}, True, 400),
        ({"limit": "5"}, True, 400),
        ({"cursor": "not a cursor", "limit": "5"}, True, 400),
    ],
)
async def test_the_pages_refuse_what_the_contract_does_not_allow(
    client: Client, query: dict[str, str], authorized: bool, status: int
) -> None:
    headers = {"Authorization": f"Bearer {await token(client)}"} if authorized else {}

    answer = await client.get("/api/v1/completions", params=query, headers=headers)

    assert answer.status == status


async def test_faults_are_given_at_the_chosen_requests(client: Client, simulator: WebtrnApiSimulator) -> None:
    simulator.answer(429, on_requests=[2], retry_after_seconds=9)
    headers = {"Authorization": f"Bearer {await token(client)}"}
    query = {"updated_since": "2021-06-01T00:00:00Z", "limit": "5"}

    statuses = [(await client.get("/api/v1/completions", params=query, headers=headers)) for _ in range(3)]

    assert [answer.status for answer in statuses] == [200, 429, 200]
    assert statuses[1].headers["Retry-After"] == "9"
