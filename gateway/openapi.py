"""The OpenAPI 3.1 document of the hub's HTTP interface, served at ``/openapi.json``."""

from __future__ import annotations

from collections.abc import Iterable
from types import ModuleType

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


def problem_answer(description: str) -> dict[str, object]:
    """An answer in the document: a problem+json body with this description."""
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def openapi_document(areas: Iterable[ModuleType]) -> dict[str, object]:
    """The whole document, from the paths each area of routes declares."""
    paths: dict[str, object] = {}
    for area in areas:
        paths.update(area.openapi_paths)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Training-hours hub", "version": "1"},
        "paths": paths,
        "components": {"schemas": {"Problem": PROBLEM_SCHEMA}},
    }
