"""The web service through a real aiohttp test server."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient

from config import load_settings
from gateway.app import create_app
from gateway.bootstrap import ensure_keyring

Client = Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]]


async def test_health_and_readiness(aiohttp_client: Client, settings_file: Path) -> None:
    client = await aiohttp_client(create_app(load_settings(settings_file)))

    health = await client.get("/healthz")
    ready = await client.get("/readyz")

    assert (health.status, await health.json()) == (200, {"status": "up"})
    assert (ready.status, await ready.json()) == (200, {"status": "ready"})


async def test_not_ready_without_a_database_answers_a_problem(aiohttp_client: Client, tmp_path: Path) -> None:
    settings_path = tmp_path / "hub.toml"
    settings_path.write_text(
        '[hub]\nbase_url = "http://127.0.0.1:8080"\ndatabase_url = "postgresql+asyncpg://nobody@127.0.0.1:1/none"\n'
        f'data_key_file = "{tmp_path}/data.key"\n',
        encoding="utf-8",
    )
    ensure_keyring(tmp_path / "data.key")
    client = await aiohttp_client(create_app(load_settings(settings_path)))

    ready = await client.get("/readyz")

    assert ready.status == 503
    assert ready.content_type == "application/problem+json"
    body = await ready.json()
    assert (body["status"], body["title"]) == (503, "Not ready")


async def test_unknown_paths_answer_problems(aiohttp_client: Client, settings_file: Path) -> None:
    client = await aiohttp_client(create_app(load_settings(settings_file)))

    missing = await client.get("/api/v1/nothing-here")

    assert missing.status == 404
    assert missing.content_type == "application/problem+json"
    assert (await missing.json())["status"] == 404


async def test_the_openapi_document_lists_the_routes(aiohttp_client: Client, settings_file: Path) -> None:
    app = create_app(load_settings(settings_file))
    client = await aiohttp_client(app)

    document = await (await client.get("/openapi.json")).json()

    assert document["openapi"].startswith("3.1")
    served = {resource.canonical for resource in app.router.resources() if resource.canonical != "/openapi.json"}
    assert served <= set(document["paths"])
