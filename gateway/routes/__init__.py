"""The hub's HTTP routes, one module per area. Each module offers ``routes`` (an aiohttp
``RouteTableDef``) and ``openapi_paths`` (its part of the OpenAPI document)."""

from __future__ import annotations

from types import ModuleType

from gateway.pages import assets
from gateway.pages import auditors as auditor_pages
from gateway.pages import console as console_pages
from gateway.pages import filings as filing_pages
from gateway.pages import messages as messages_pages
from gateway.pages import password_links as password_link_pages
from gateway.pages import staff as staff_pages
from gateway.pages import supervisors as supervisor_pages
from gateway.pages import training as training_pages
from gateway.routes import (
    certificates,
    exports,
    feedback,
    handoff,
    health,
    hnou,
    ingestion,
    ischinese,
    messages,
    monitoring,
    notices,
    operators,
    quarantine,
    reconciliation,
    staff,
    supervision,
    trainings,
)

AREAS: tuple[ModuleType, ...] = (
    *(
        health,
        staff,
        certificates,
        messages,
        operators,
        handoff,
        ischinese,
        hnou,
        ingestion,
        exports,
        quarantine,
        reconciliation,
        monitoring,
        trainings,
        supervision,
        feedback,
        notices,
    ),
    *(
        assets,
        staff_pages,
        training_pages,
        messages_pages,
        console_pages,
        filing_pages,
        password_link_pages,
        supervisor_pages,
        auditor_pages,
    ),
)
