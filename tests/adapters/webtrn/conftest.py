"""webtrn's API simulator served on 127.0.0.1, the hub's account there, and a sleep that only counts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.webtrn.client import WebtrnAccount
from adapters.webtrn.simulator_api import WebtrnApiSimulator

CLIENT_ID = "hub"
CLIENT_SECRET = "webtrn-secret-0123456789.~_-"
ServerMaker = Callable[[web.Application], Awaitable[TestServer]]


@dataclass
class CountedSleep:
    """Records each wait instead of waiting."""

    delays: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def sleep() -> CountedSleep:
    return CountedSleep()


@pytest.fixture
def simulator() -> WebtrnApiSimulator:
    return WebtrnApiSimulator(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, page_size_max=3)


@pytest.fixture
async def webtrn_server(aiohttp_server: ServerMaker, simulator: WebtrnApiSimulator) -> TestServer:
    return await aiohttp_server(simulator.app())


@pytest.fixture
def account(webtrn_server: TestServer) -> WebtrnAccount:
    base = str(webtrn_server.make_url("")).rstrip("/")
    return WebtrnAccount(
        token_url=f"{base}/oauth/token", api_base=base, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )
