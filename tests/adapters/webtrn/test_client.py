"""The hub's calls to webtrn's API, against the simulator on a real server: tokens, retries, limits."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime

import pytest
from aiohttp import web

from adapters.retries import RETRY_AFTER_SECONDS_MAX
from adapters.webtrn.client import (
    PAGE_CALL,
    TOKEN_CALL,
    WebtrnAccount,
    WebtrnClient,
    open_client,
)
from adapters.webtrn.errors import AnswerInvalid, CredentialsRefused, UnexpectedAnswer, WebtrnUnavailable
from adapters.webtrn.simulator_api import WebtrnApiSimulator

from .conftest import CountedSleep, ServerMaker

FIRST_PAGE = {"updated_since": "2021-01-01T00:00:00Z", "limit": "500"}


@pytest.fixture(autouse=True)
def records(simulator: WebtrnApiSimulator) -> None:
    for number in range(1, 5):
        simulator.complete(number, sub="sub-wang-w", updated_at=datetime(2021, 6, 1, 2, 0, number, tzinfo=UTC))


async def all_pages(client: WebtrnClient) -> list[int]:
    """Every item id, following the cursors."""
    ids: list[int] = []
    parameters = dict(FIRST_PAGE)
    while True:
        page = json.loads(await client.page(parameters))
        ids += [item["id"] for item in page["items"]]
        if page["next_cursor"] is None:
            return ids
        parameters = {"cursor": page["next_cursor"], "limit": "500"}


async def test_pages_are_read_with_one_token_from_client_credentials(
    account: WebtrnAccount, simulator: WebtrnApiSimulator, sleep: CountedSleep
) -> None:
    async with open_client(account, sleep=sleep) as client:
        ids = await all_pages(client)

    assert ids == [1, 2, 3, 4]
    assert (simulator.page_requests, simulator.token_requests) == (2, 1)
    assert sleep.delays == []


async def test_a_token_about_to_expire_is_fetched_again(
    account: WebtrnAccount, simulator: WebtrnApiSimulator, sleep: CountedSleep
) -> None:
    # Authlib renews a token within 60 seconds of its expiry: one that lives 30 seconds is renewed
    # before every request, after the first token that the hub asks for itself.
    simulator.token_lifetime_seconds = 30

    async with open_client(account, sleep=sleep) as client:
        await all_pages(client)

    assert (simulator.page_requests, simulator.token_requests) == (2, 1 + 2)


async def test_wrong_client_credentials_are_refused_without_naming_the_secret(
    account: WebtrnAccount, simulator: WebtrnApiSimulator, sleep: CountedSleep
) -> None:
    wrong = WebtrnAccount(account.token_url, account.api_base, account.client_id, "not-the-secret")

    async with open_client(wrong, sleep=sleep) as client:
        with pytest.raises(CredentialsRefused, match="invalid_client") as refused:
            await client.page(FIRST_PAGE)

    assert "not-the-secret" not in str(refused.value)
    assert "not-the-secret" not in repr(wrong)
    assert simulator.page_requests == 0


@pytest.mark.parametrize("how", ["told to", "expired at the vendor"])
async def test_a_401_fetches_a_new_token_and_tries_once_more(
    account: WebtrnAccount, simulator: WebtrnApiSimulator, sleep: CountedSleep, how: str
) -> None:
    async with open_client(account, sleep=sleep) as client:
        await client.page(FIRST_PAGE)
        if how == "told to":
            simulator.answer(401, on_requests=[2])
        else:
            simulator.expire_tokens()
        page = json.loads(await client.page(FIRST_PAGE))

    assert [item["id"] for item in page["items"]] == [1, 2, 3]
    assert (simulator.page_requests, simulator.token_requests) == (3, 2)
    assert sleep.delays == []


async def test_a_second_401_in_a_row_stops_the_pull(
    account: WebtrnAccount, simulator: WebtrnApiSimulator, sleep: CountedSleep
) -> None:
    simulator.answer(401, on_requests=[1, 2])

    async with open_client(account, sleep=sleep) as client:
        with pytest.raises(CredentialsRefused, match="webtrn refused the token"):
            await client.page(FIRST_PAGE)

    assert simulator.page_requests == 2


async def test_a_429_waits_as_long_as_retry_after_says(
    account: WebtrnAccount, simulator: WebtrnApiSimulator, sleep: CountedSleep
) -> None:
    simulator.answer(429, on_requests=[1], retry_after_seconds=7)
    simulator.answer(429, on_requests=[2], retry_after_seconds=86_400)

    async with open_client(account, sleep=sleep) as client:
        page = json.loads(await client.page(FIRST_PAGE))

    assert [item["id"] for item in page["items"]] == [1, 2, 3]
    assert sleep.delays == [7.0, RETRY_AFTER_SECONDS_MAX]


async def test_502_and_503_back_off_exponentially_then_succeed(
    account: WebtrnAccount, simulator: WebtrnApiSimulator, sleep: CountedSleep
) -> None:
    simulator.answer(502, on_requests=[1, 2])
    simulator.answer(503, on_requests=[3])

    async with open_client(account, sleep=sleep) as client:
        page = json.loads(await client.page(FIRST_PAGE))

    assert [item["id"] for item in page["items"]] == [1, 2, 3]
    assert len(sleep.delays) == 3
    # Each wait is 1, 2, 4 … seconds with a jitter of ±50 %.
    for attempt, delay in enumerate(sleep.delays):
        assert 0.5 * 2**attempt <= delay <= 1.5 * 2**attempt


async def test_a_vendor_failing_beyond_the_retry_budget_stops_the_pull_naming_it(
    account: WebtrnAccount, simulator: WebtrnApiSimulator, sleep: CountedSleep
) -> None:
    simulator.answer(502, on_requests=range(1, 100))

    async with open_client(account, sleep=sleep) as client:
        with pytest.raises(WebtrnUnavailable, match=r"^webtrn kept failing: 502 to a page request"):
            await client.page(FIRST_PAGE)

    assert simulator.page_requests == PAGE_CALL.tries_max
    assert len(sleep.delays) == PAGE_CALL.tries_max - 1


async def test_an_unreachable_vendor_is_retried_then_reported(sleep: CountedSleep) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    account = WebtrnAccount(f"{base}/oauth/token", base, "hub", "secret")

    async with open_client(account, sleep=sleep) as client:
        with pytest.raises(WebtrnUnavailable, match="broken connection"):
            await client.page(FIRST_PAGE)

    assert len(sleep.delays) > 0


async def test_an_answer_the_contract_does_not_allow_stops_the_pull(
    account: WebtrnAccount, simulator: WebtrnApiSimulator, sleep: CountedSleep
) -> None:
    async with open_client(account, sleep=sleep) as client:
        with pytest.raises(UnexpectedAnswer, match="webtrn answered 400"):
            await client.page({**FIRST_PAGE, "limit": "501"})

    assert sleep.delays == []


async def test_an_answer_over_the_size_limit_is_refused(
    account: WebtrnAccount, simulator: WebtrnApiSimulator, sleep: CountedSleep
) -> None:
    simulator.put(99, datetime(2021, 6, 1, 1, 0, tzinfo=UTC), {"id": 99, "padding": "x" * PAGE_CALL.answer_bytes_max})

    async with open_client(account, sleep=sleep) as client:
        with pytest.raises(AnswerInvalid, match="over"):
            await client.page(FIRST_PAGE)


async def test_a_streamed_answer_is_cut_off_at_the_size_limit(aiohttp_server: ServerMaker, sleep: CountedSleep) -> None:
    """An answer without Content-Length: the limit holds while it is read, not after."""

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        chunk = b" " * 65_536
        for _ in range(PAGE_CALL.answer_bytes_max // len(chunk) + 64):
            await response.write(chunk)
        return response

    async def token(request: web.Request) -> web.Response:
        return web.json_response({"access_token": "t", "token_type": "Bearer", "expires_in": 3600})

    app = web.Application()
    app.router.add_post("/oauth/token", token)
    app.router.add_get("/api/v1/completions", endless)
    server = await aiohttp_server(app)
    base = str(server.make_url("")).rstrip("/")

    async with open_client(WebtrnAccount(f"{base}/oauth/token", base, "hub", "secret"), sleep=sleep) as client:
        with pytest.raises(AnswerInvalid, match="over"):
            await client.page(FIRST_PAGE)


async def test_a_token_answer_over_its_size_limit_is_refused(aiohttp_server: ServerMaker, sleep: CountedSleep) -> None:
    async def token(request: web.Request) -> web.Response:
        padding = "x" * TOKEN_CALL.answer_bytes_max
        return web.json_response({"access_token": "t", "token_type": "Bearer", "expires_in": 3600, "x": padding})

    app = web.Application()
    app.router.add_post("/oauth/token", token)
    server = await aiohttp_server(app)
    base = str(server.make_url("")).rstrip("/")

    async with open_client(WebtrnAccount(f"{base}/oauth/token", base, "hub", "secret"), sleep=sleep) as client:
        with pytest.raises(AnswerInvalid, match=f"over {TOKEN_CALL.answer_bytes_max} bytes"):
            await client.page(FIRST_PAGE)


async def test_a_token_answer_without_a_bearer_token_is_refused(
    aiohttp_server: ServerMaker, sleep: CountedSleep
) -> None:
    async def token(request: web.Request) -> web.Response:
        return web.json_response({"access_token": "t", "token_type": "mac", "expires_in": 3600})

    app = web.Application()
    app.router.add_post("/oauth/token", token)
    server = await aiohttp_server(app)
    base = str(server.make_url("")).rstrip("/")

    async with open_client(WebtrnAccount(f"{base}/oauth/token", base, "hub", "secret"), sleep=sleep) as client:
        with pytest.raises(UnexpectedAnswer, match="bearer"):
            await client.page(FIRST_PAGE)
