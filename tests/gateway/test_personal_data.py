"""The personal-data test of the identity issue: after the main flows, neither the logs (structlog
and the standard library, at debug level) nor the raw database (every table and column, on SQLite
and PostgreSQL, and SQLite's files byte for byte) hold an ID number or a phone number used.

To add a flow, write ``async def flow(client, used) -> None`` that drives the hub over HTTP and
adds every personal value it sends to ``used`` (``used.id_numbers``, ``used.phones``,
``used.others``), then append it to ``FLOWS``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from config import load_settings
from gateway.app import create_app
from gateway.keys import HUB
from sso.id_numbers import make_id_number
from sso.organisation import load_organisation

HUNAN = load_organisation(Path(__file__).parents[2] / "config" / "organisation" / "hunan.json")

Client = TestClient  # type: ignore[type-arg]


@dataclass
class Used:
    """The personal values the flows sent, to be searched for afterwards."""

    id_numbers: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    others: set[str] = field(default_factory=set)


Flow = Callable[[Client, Used], Awaitable[None]]

# Check character X, so that the lower-case x and its upper-case storage are both exercised.
X_NUMBER = "43010219900307112X"
SECOND_NUMBER = make_id_number("430102", date(1988, 11, 23), 35)
UNKNOWN_NUMBER = make_id_number("430121", date(1975, 5, 1), 48)
INVALID_NUMBER = "430102199003071235"  # a wrong check digit
PASSWORD = "Zq8vWm2kLp"


def _form(id_number: str, phone: str, name: str) -> dict[str, object]:
    return {
        "name": name,
        "password": PASSWORD,
        "id_number": id_number,
        "gender": "女",
        "ethnicity": "土家族",
        "phone": phone,
        "email": f"{phone}@example.cn",
        "native_place": "湖南湘西",
        "education": "硕士研究生",
        "major": "公共卫生",
        "school": "中南大学",
        "graduated_on": "2014-06-30",
        "unit_code": "430100-0001",
        "title": "其他",
    }


async def _expect(response: object, status: int) -> None:
    assert response.status == status, await response.text()  # type: ignore[attr-defined]


async def register_and_use_an_account(client: Client, used: Used) -> None:
    used.id_numbers |= {X_NUMBER, SECOND_NUMBER, INVALID_NUMBER}
    used.phones |= {"13712345678", "15887654321", "18600001111", "1860000111"}
    used.others.add(PASSWORD)

    await _expect(await client.post("/api/v1/register", json=_form(X_NUMBER.lower(), "13712345678", "向红")), 201)
    await _expect(await client.post("/api/v1/register", json=_form(SECOND_NUMBER, "15887654321", "田野")), 201)
    await _expect(await client.post("/api/v1/register", json=_form(INVALID_NUMBER, "1860000111", "彭")), 422)
    await _expect(await client.post("/api/v1/register", json=_form(X_NUMBER, "18600001111", "向红")), 409)
    await _expect(await client.post("/api/v1/login", json={"id_number": X_NUMBER.lower(), "password": PASSWORD}), 200)
    me = await client.get("/api/v1/me")
    await _expect(me, 200)
    assert (await me.json())["id_number"] == X_NUMBER
    await _expect(await client.patch("/api/v1/me", json={"phone": "18600001111"}), 200)
    await _expect(await client.patch("/api/v1/me", json={"phone": "1860000111", "id_number": SECOND_NUMBER}), 422)
    await _expect(await client.post("/api/v1/logout"), 204)


async def fail_to_log_in(client: Client, used: Used) -> None:
    used.id_numbers |= {SECOND_NUMBER, UNKNOWN_NUMBER, INVALID_NUMBER}
    used.others.add("Wrong9password")

    await _expect(await client.post("/api/v1/login", json={"id_number": UNKNOWN_NUMBER, "password": PASSWORD}), 401)
    await _expect(await client.post("/api/v1/login", json={"id_number": INVALID_NUMBER, "password": PASSWORD}), 401)
    for _ in range(5):
        attempt = {"id_number": SECOND_NUMBER.lower(), "password": "Wrong9password"}
        await _expect(await client.post("/api/v1/login", json=attempt), 401)
    await _expect(await client.post("/api/v1/login", json={"id_number": SECOND_NUMBER, "password": PASSWORD}), 429)


FLOWS: list[Flow] = [register_and_use_an_account, fail_to_log_in]


async def test_no_id_number_or_phone_is_in_the_logs_or_the_database(
    aiohttp_client: Callable[..., Awaitable[Client]],
    settings_file: Path,
    personal_data_probe,
    id_number_needles_of,
) -> None:
    client = await aiohttp_client(create_app(load_settings(settings_file)))
    await client.server.app[HUB].organisation.replace(HUNAN)
    used = Used()
    for flow in FLOWS:
        await flow(client, used)
    await client.close()

    needles = {needle for number in used.id_numbers for needle in id_number_needles_of(number)}
    needles |= used.phones | used.others

    assert await personal_data_probe.places_holding(needles) == {}
    logs = personal_data_probe.logs()
    for event in ("person_registered", "login_succeeded", "login_failed", "login_locked", "profile_changed"):
        assert f'"event": "{event}"' in logs
    assert "INSERT INTO person" in logs  # the database's statements were logged too, parameters included


@pytest.mark.parametrize("number", [X_NUMBER, SECOND_NUMBER])
async def test_the_probe_finds_a_planted_number(database_url: str, personal_data_probe, number: str) -> None:
    from sqlalchemy import text

    from gateway.database import create_engine

    engine = create_engine(database_url)
    async with engine.begin() as connection:
        await connection.execute(
            text("INSERT INTO login_failure (id_number_index, failed_at) VALUES (:index, CURRENT_TIMESTAMP)"),
            {"index": number.lower()},
        )
    await engine.dispose()
    import structlog

    structlog.get_logger("planted").debug("planted", text=f"prefix{number[:17]}")

    found = await personal_data_probe.places_holding({number.lower(), number[:17]})

    assert "table login_failure" in found[number.lower()]
    assert "logs" in found[number[:17]]
