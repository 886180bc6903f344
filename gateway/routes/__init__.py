"""The hub's HTTP routes, one module per area. Each module offers ``routes`` (an aiohttp
``RouteTableDef``) and ``openapi_paths`` (its part of the OpenAPI document)."""

from __future__ import annotations

from types import ModuleType

from gateway.routes import exports, handoff, health, hnou, ingestion, ischinese, operators, staff

AREAS: tuple[ModuleType, ...] = (health, staff, operators, handoff, ischinese, hnou, ingestion, exports)
