"""The nonces of hnou's notifications in the database, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.hnou.store import NONCE, PRUNED_PER_USE_MAX, SqlNonceRegister
from gateway.database import create_engine

NOW = datetime(2021, 6, 1, 2, 0, tzinfo=UTC)
NONCE_TEXT = "0123456789abcdef"


async def _count(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(NONCE))).scalar_one())


async def test_a_nonce_is_new_once_within_ten_minutes(engine: AsyncEngine) -> None:
    nonces = SqlNonceRegister(engine)

    assert await nonces.first_use("hub", NONCE_TEXT, NOW)
    assert not await nonces.first_use("hub", NONCE_TEXT, NOW)
    assert not await nonces.first_use("hub", NONCE_TEXT, NOW + timedelta(seconds=599))
    assert await nonces.first_use("other-app", NONCE_TEXT, NOW)


async def test_a_nonce_seen_more_than_ten_minutes_ago_is_new_again(engine: AsyncEngine) -> None:
    nonces = SqlNonceRegister(engine)
    await nonces.first_use("hub", NONCE_TEXT, NOW)

    assert await nonces.first_use("hub", NONCE_TEXT, NOW + timedelta(seconds=601))
    assert not await nonces.first_use("hub", NONCE_TEXT, NOW + timedelta(seconds=700))


async def test_a_nonce_holds_across_a_restart(database_url: str) -> None:
    before, after = create_engine(database_url), create_engine(database_url)
    try:
        assert await SqlNonceRegister(before).first_use("hub", NONCE_TEXT, NOW)
        await before.dispose()

        assert not await SqlNonceRegister(after).first_use("hub", NONCE_TEXT, NOW + timedelta(seconds=5))
    finally:
        await before.dispose()
        await after.dispose()


async def test_two_processes_racing_with_one_nonce_let_one_through(database_url: str) -> None:
    engines = [create_engine(database_url) for _ in range(2)]
    try:
        answers = await asyncio.gather(
            *(SqlNonceRegister(engine).first_use("hub", NONCE_TEXT, NOW) for engine in engines)
        )
    finally:
        for engine in engines:
            await engine.dispose()

    assert sorted(answers) == [False, True]


async def test_expired_nonces_are_pruned_a_bounded_number_at_a_time(engine: AsyncEngine) -> None:
    old = NOW - timedelta(minutes=11)
    async with engine.begin() as connection:
        await connection.execute(
            insert(NONCE),
            [{"appid": "hub", "nonce": f"old-nonce-{number:06d}", "seen_at": old} for number in range(150)],
        )
    nonces = SqlNonceRegister(engine)

    await nonces.first_use("hub", "fresh-nonce-0001", NOW)
    assert await _count(engine) == 150 - PRUNED_PER_USE_MAX + 1
    await nonces.first_use("hub", "fresh-nonce-0002", NOW)
    assert await _count(engine) == 2
