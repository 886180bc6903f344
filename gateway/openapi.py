"""The OpenAPI 3.1 document of the hub's HTTP interface, served at ``/openapi.json``."""

from __future__ import annotations

PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}


def _problem_answer(description: str) -> dict[str, object]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def openapi_document() -> dict[str, object]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Training-hours hub", "version": "1"},
        "paths": {
            "/healthz": {
                "get": {
                    "summary": "The process is up",
                    "operationId": "healthz",
                    "responses": {"200": {"description": "Up"}},
                }
            },
            "/readyz": {
                "get": {
                    "summary": "The database is reachable",
                    "operationId": "readyz",
                    "responses": {
                        "200": {"description": "Ready"},
                        "503": _problem_answer("The database cannot be reached"),
                    },
                }
            },
        },
        "components": {"schemas": {"Problem": PROBLEM_SCHEMA}},
    }
