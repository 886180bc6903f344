"""The hub's HTTP routes, one module per area; the pages' areas live in ``gateway.pages``. Each module
offers ``routes`` (an aiohttp ``RouteTableDef``) and ``openapi_paths`` (its part of the OpenAPI document)."""

from __future__ import annotations

from types import ModuleType

from gateway.pages import assets
from gateway.pages import staff as staff_pages
from gateway.routes import exports, handoff, health, hnou, ingestion, ischinese, operators, reconciliation, staff

AREAS: tuple[ModuleType, ...] = (
    *(health, staff, operators, handoff, ischinese, hnou, ingestion, exports, reconciliation),
    *(assets, staff_pages),
)
