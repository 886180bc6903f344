"""The security of the OpenAPI document against the running hub: every ``/api/`` operation that answers
401 declares how to sign in, with the scheme whose challenge it sends, and none declares it for nothing.
Through a real aiohttp test server on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from .access_support import Client, ClientMaker, serve_hub

PATH_PARAMETER = re.compile(r"\{([^}]+)\}")
EXAMPLE_PARAMETERS = {"person_id": "0" * 32, "vendor": "ischinese"}
"""What stands in for a path parameter in a call; any other parameter is ``x``."""
WRITES = frozenset({"post", "put", "patch", "delete"})
CHALLENGE_SCHEMES = {"Bearer": "bearer", "Session": "session"}


@pytest.fixture
async def client(aiohttp_client: ClientMaker, settings_file: Path, database_url: str) -> Client:
    return await serve_hub(aiohttp_client, settings_file, database_url)


@pytest.fixture
async def document(client: Client) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status == 200
    return await response.json()  # type: ignore[no-any-return]


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if path.startswith("/api/")
    ]


def _schemes(operation: dict[str, Any]) -> set[str]:
    return {scheme for requirement in operation.get("security", []) for scheme in requirement}


async def test_the_document_names_the_bearer_token_and_the_session_cookie(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]

    assert schemes["bearer"] == {"type": "http", "scheme": "bearer", "description": schemes["bearer"]["description"]}
    assert (schemes["session"]["type"], schemes["session"]["in"], schemes["session"]["name"]) == (
        "apiKey",
        "cookie",
        "hub_session",
    )
    used = {
        scheme
        for path, item in document["paths"].items()
        for operation in item.values()
        for scheme in _schemes(operation)
    }
    assert used == {"bearer", "session"}


async def test_every_api_operation_that_documents_a_401_declares_its_security(document: dict[str, Any]) -> None:
    undeclared = [
        (path, method)
        for path, method, operation in _operations(document)
        if "401" in operation["responses"] and not _schemes(operation)
    ]

    # The login answers 401 to the credentials in its body: it is public, and says so with `security: []`.
    assert undeclared == [("/api/v1/login", "post")]
    assert document["paths"]["/api/v1/login"]["post"]["security"] == []
    assert _schemes(document["paths"]["/api/v1/me"]["get"]) == {"session"}
    assert _schemes(document["paths"]["/api/v1/me/data"]["get"]) == {"session"}
    assert _schemes(document["paths"]["/api/v1/people/{person_id}"]["get"]) == {"bearer"}
    assert _schemes(document["paths"]["/sso/launch/{vendor}"]["get"]) == {"session"}  # a page, not under /api/
    assert "security" not in document["paths"]["/webhooks/ischinese"]["post"]  # signed by the vendor instead
    assert "security" not in document["paths"]["/api/v1/units"]["get"]


async def test_every_api_operation_answers_401_without_credentials_exactly_when_it_declares_security(
    client: Client, document: dict[str, Any]
) -> None:
    checked = 0
    for path, method, operation in _operations(document):
        url = PATH_PARAMETER.sub(lambda match: EXAMPLE_PARAMETERS.get(match.group(1), "x"), path)
        body = {"json": {}} if method in WRITES else {}
        response = await client.request(method.upper(), url, **body)

        declared = _schemes(operation)
        if response.status == 401:
            challenge = response.headers["WWW-Authenticate"].split(" ", maxsplit=1)[0]
            assert CHALLENGE_SCHEMES[challenge] in declared, (method, path)
            checked += 1
        else:
            assert not declared, (method, path, response.status)
    assert checked >= 10  # the operators' and the staff's operations were all reached
