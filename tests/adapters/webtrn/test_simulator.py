"""webtrn's simulator takes the hub's ES256 token for webtrn and nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ...gateway.handoff_support import World, handoff_world, sqlite_copy


@pytest.fixture
async def world(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[World]:
    # On SQLite alone: the simulator stores nothing in the hub; tests/gateway covers both databases.
    async with handoff_world(tmp_path, sqlite_copy(tmp_path, sqlite_template)) as world:
        await world.consent("ischinese")
        await world.consent("webtrn")
        yield world


async def _token(world: World, vendor: str) -> str:
    return (await world.browser.get(world.url(f"/sso/launch/{vendor}"))).form().fields["id_token"]


async def test_webtrns_own_token_logs_the_learner_in(world: World) -> None:
    page = await world.browser.post(world.webtrn_launch, {"id_token": await _token(world, "webtrn")})

    assert page.status == 200
    [account] = world.webtrn.accounts.values()
    assert account.registration["name"] == "欧阳娜娜"


async def test_ischinese_token_is_refused_for_its_algorithm(world: World) -> None:
    page = await world.browser.post(world.webtrn_launch, {"id_token": await _token(world, "ischinese")})

    assert page.status == 401
    assert world.webtrn.accounts == {}
    assert [refusal.reason for refusal in world.webtrn.refusals] == ["algorithm"]
