"""The hub's API as the demo's operators, supervisors and auditors call it: their bearer tokens come
from the hub's access service (as ``hub tokens create`` makes them), and each answer must have the
status the caller expects."""

from __future__ import annotations

from typing import Any, Final

import httpx

from gateway.demo.stage import Stage
from sso.access.model import Role, TokenRequest, token_request

__all__ = ["TIMEOUT_SECONDS", "answer", "bearer", "issue_token"]

TIMEOUT_SECONDS: Final = 30.0


async def issue_token(
    stage: Stage, role: Role, *, name: str = "", department: str | None = None, institution: str | None = None
) -> str:
    """A new bearer token of ``role`` named ``name``, scoped to a department or an institution where given."""
    request: TokenRequest = token_request(
        await stage.hub.organisation.organisation(),
        role=role.value,
        name=name,
        department=department,
        institution=institution,
    )
    issued = await stage.hub.access.tokens.issue(request)
    return issued.secret


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def answer(response: httpx.Response, status: int) -> dict[str, Any]:
    """The JSON document of an answer with ``status``; raises ``httpx.HTTPStatusError`` for any other."""
    if response.status_code != status:
        raise httpx.HTTPStatusError(
            f"{response.request.url} answered {response.status_code}, not {status}: {response.text[:500]}",
            request=response.request,
            response=response,
        )
    document: dict[str, Any] = response.json()
    return document
