"""Operators: reconciliation with each vendor (hub-api.md, "Reconciliation").

``POST /api/v1/reconciliations`` starts a run that goes on in the background of this process (202);
``GET /api/v1/reconciliations/{id}`` shows how it stands; ``GET /api/v1/discrepancies`` lists what the
runs found; ``POST /api/v1/discrepancies/{id}/resolve`` resolves one, changing the ledger only by
appending. Operators only: any other role, and staff, get 404; no credentials 401. Starting a run and
resolving a discrepancy are audited (never with the operator's reason, which is free text: it is kept
with the discrepancy, and in the ledger's reversal entry).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Final

from aiohttp import hdrs, web

from gateway.bearer import audited, authenticate_caller, require_caller
from gateway.bodies import json_object
from gateway.keys import HUB
from gateway.openapi import SecurityScheme, json_answer, page_answer, page_parameters, problem_answer, unauthenticated
from gateway.parameters import row_id
from ledger.model import REASON_CHARACTERS_MAX
from ledger.reconciliation.errors import DiscrepancyNotFound, InvalidReconciliationRequest, RunNotFound
from ledger.reconciliation.model import (
    DISCREPANCY_PAGE_SIZE_DEFAULT,
    DISCREPANCY_PAGE_SIZE_MAX,
    FITTING_ACTIONS,
    RANGE_DAYS_MAX,
    VENDORS,
    Discrepancy,
    DiscrepancyKind,
    DiscrepancyStatus,
    ResolutionAction,
    Run,
    RunStatus,
    parse_discrepancy_query,
    parse_resolution,
    parse_run_request,
)
from sso.access.model import AuditAction, Role, Target, TargetKind

JSON_BODY_BYTES_MAX: Final = 4 * 1024
NO_STORE: Final = {hdrs.CACHE_CONTROL: "no-store"}

routes = web.RouteTableDef()


@routes.post("/api/v1/reconciliations")
async def start_reconciliation(request: web.Request) -> web.Response:
    caller = await authenticate_caller(request)
    async with audited(request, caller, AuditAction.RECONCILIATION_STARTED) as note:
        caller.require(Role.OPERATOR)
        run_request = parse_run_request(await json_object(request, JSON_BODY_BYTES_MAX, InvalidReconciliationRequest))
        scope = run_request.scope
        note.details.update(
            vendor=run_request.vendor.value, first_day=scope.first_day.isoformat(), last_day=scope.last_day.isoformat()
        )
        run = await request.app[HUB].reconciliations.start(run_request, f"operator:{caller.token_id}")
        note.target = Target(TargetKind.RECONCILIATION, str(run.id))
    headers = {**NO_STORE, hdrs.LOCATION: f"/api/v1/reconciliations/{run.id}"}
    return web.json_response({"id": run.id, "status": run.status.value}, status=202, headers=headers)


@routes.get("/api/v1/reconciliations/{run_id}")
async def read_reconciliation(request: web.Request) -> web.Response:
    await require_caller(request, Role.OPERATOR)
    run_id = _id(request.match_info["run_id"])
    if run_id is None:
        raise RunNotFound("no reconciliation has this id")
    run = await request.app[HUB].reconciliations.run_of(run_id)
    return web.json_response(run_document(run), headers=NO_STORE)


@routes.get("/api/v1/discrepancies")
async def list_discrepancies(request: web.Request) -> web.Response:
    await require_caller(request, Role.OPERATOR)
    query = parse_discrepancy_query(request.query.items())
    page = await request.app[HUB].reconciliations.discrepancies(query)
    document = {"items": [discrepancy_document(item) for item in page.items], "next_cursor": page.next_cursor}
    return web.json_response(document, headers=NO_STORE, dumps=_dumps)


@routes.post("/api/v1/discrepancies/{discrepancy_id}/resolve")
async def resolve_discrepancy(request: web.Request) -> web.Response:
    caller = await authenticate_caller(request)
    async with audited(request, caller, AuditAction.DISCREPANCY_RESOLVED) as note:
        caller.require(Role.OPERATOR)
        discrepancy_id = _id(request.match_info["discrepancy_id"])
        if discrepancy_id is None:
            raise DiscrepancyNotFound("no discrepancy has this id")
        note.target = Target(TargetKind.DISCREPANCY, str(discrepancy_id))
        reconciliations = request.app[HUB].reconciliations
        found = await reconciliations.discrepancy(discrepancy_id)  # 404 before the body is judged
        action, reason = parse_resolution(await json_object(request, JSON_BODY_BYTES_MAX, InvalidReconciliationRequest))
        note.details.update(vendor=found.vendor.value, kind=found.kind.value, action=action.value)
        resolved = await reconciliations.resolve(discrepancy_id, action, reason, f"operator:{caller.token_id}")
        note.details["entries"] = 0 if resolved.resolution is None else len(resolved.resolution.entry_seqs)
    return web.json_response(discrepancy_document(resolved), headers=NO_STORE, dumps=_dumps)


def run_document(run: Run) -> dict[str, object]:
    """A run as ``GET /api/v1/reconciliations/{id}`` answers it."""
    counts = run.counts
    scope = run.scope
    return {
        "id": run.id,
        "vendor": run.vendor.value,
        "status": run.status.value,
        "started_at": run.started_at.isoformat(),
        "finished_at": None if run.finished_at is None else run.finished_at.isoformat(),
        "counts": {
            "compared": counts.compared,
            **{kind.value: counts.of_kind(kind) for kind in DiscrepancyKind},
        },
        "unreadable": counts.unreadable,
        "scope": {"year": scope.year, "from": scope.first_day.isoformat(), "to": scope.last_day.isoformat()},
        "started_by": run.started_by,
        "failure": run.failure,
    }


def discrepancy_document(item: Discrepancy) -> dict[str, object]:
    """A discrepancy as the operators' API answers it (the vendor's record has its personal data masked)."""
    resolution = item.resolution
    return {
        "id": item.id,
        "vendor": item.vendor.value,
        "kind": item.kind.value,
        "record_id": item.record_id,
        "person_id": item.person_id,
        "differences": list(item.differences),
        "ledger": None if item.ledger_record is None else json.loads(item.ledger_record),
        "vendor_record": None if item.vendor_record is None else json.loads(item.vendor_record),
        "status": item.status.value,
        "opened_at": item.opened_at.isoformat(),
        "last_run_id": item.last_run_id,
        "resolution": None
        if resolution is None
        else {
            "action": resolution.action.value,
            "reason": resolution.reason,
            "resolved_by": resolution.resolved_by,
            "resolved_at": _instant(resolution.resolved_at),
            "entry_seqs": list(resolution.entry_seqs),
        },
    }


def _id(text: str) -> int | None:
    """A path's numeric id; ``None`` for anything else (answered as not found)."""
    return row_id(text)


def _instant(moment: datetime) -> str:
    return moment.isoformat()


def _dumps(document: object) -> str:
    return json.dumps(document, ensure_ascii=False)


# ---------------------------------------------------------------- the OpenAPI description

_OPERATORS: Final = (
    "Operators only: `Authorization: Bearer <token>` of an operator. For any other role, and for staff, "
    "the answer is 404."
)
_UNAUTHENTICATED: Final = unauthenticated(
    SecurityScheme.BEARER, "No valid bearer token: WWW-Authenticate names the Bearer challenge"
)
_INSTANT: Final = {"type": "string", "format": "date-time"}
_NULLABLE_INSTANT: Final = {"type": ["string", "null"], "format": "date-time"}
_VENDOR: Final = {"type": "string", "enum": [vendor.value for vendor in VENDORS]}
_ID_PARAMETER: Final = {"in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
_RUN: Final = {
    "type": "object",
    "required": ["id", "vendor", "status", "started_at", "finished_at", "counts"],
    "properties": {
        "id": {"type": "integer"},
        "vendor": _VENDOR,
        "status": {"type": "string", "enum": [status.value for status in RunStatus]},
        "started_at": _INSTANT,
        "finished_at": _NULLABLE_INSTANT,
        "counts": {
            "type": "object",
            "description": (
                "compared: the distinct records seen on either side; for each kind, the open discrepancies "
                "the run found or kept (an accepted one that still holds is not counted again)"
            ),
            "properties": {
                "compared": {"type": "integer"},
                **{kind.value: {"type": "integer"} for kind in DiscrepancyKind},
            },
        },
        "unreadable": {"type": "integer", "description": "The vendor's records its adapter could not read"},
        "scope": {
            "type": "object",
            "properties": {
                "year": {"type": ["integer", "null"]},
                "from": {"type": "string", "format": "date"},
                "to": {"type": "string", "format": "date"},
            },
        },
        "started_by": {"type": "string", "description": "operator:<token id>, command_line or scheduler"},
        "failure": {"type": ["string", "null"], "description": "Why a failed run stopped"},
    },
}
_DISCREPANCY: Final = {
    "type": "object",
    "required": [
        "id",
        "vendor",
        "kind",
        "record_id",
        "person_id",
        "ledger",
        "vendor_record",
        "status",
        "opened_at",
        "resolution",
    ],
    "properties": {
        "id": {"type": "integer"},
        "vendor": _VENDOR,
        "kind": {"type": "string", "enum": [kind.value for kind in DiscrepancyKind]},
        "record_id": {"type": "string", "description": "The vendor's id of the record"},
        "person_id": {"type": ["string", "null"]},
        "differences": {
            "type": "array",
            "items": {"type": "string", "enum": ["status", "person", "course", "subject", "hours", "completed_at"]},
            "description": "For different: what differs",
        },
        "ledger": {
            "type": ["object", "null"],
            "description": "The ledger's latest credit of the record as the run saw it, with status counted|reversed",
        },
        "vendor_record": {
            "type": ["object", "null"],
            "description": "The record as the vendor gave it (hnou's ID number and name masked)",
        },
        "status": {"type": "string", "enum": [status.value for status in DiscrepancyStatus]},
        "opened_at": _INSTANT,
        "last_run_id": {"type": "integer", "description": "The last run that found it"},
        "resolution": {
            "type": ["object", "null"],
            "properties": {
                "action": {"type": "string", "enum": [action.value for action in ResolutionAction]},
                "reason": {"type": "string"},
                "resolved_by": {"type": "string", "description": "operator:<token id>, or reconciliation:<run id>"},
                "resolved_at": _INSTANT,
                "entry_seqs": {
                    "type": "array",
                    "items": {"type": "integer"},
                    "description": "The ledger entries the resolution appended",
                },
            },
        },
    },
}
_FITTING: Final = "; ".join(
    f"{kind.value}: {' or '.join(action.value for action in actions)}" for kind, actions in FITTING_ACTIONS.items()
)


openapi_paths: dict[str, object] = {
    "/api/v1/reconciliations": {
        "post": {
            "summary": "Reconcile a vendor's records with the ledger over a year or a range of days",
            "description": (
                f"{_OPERATORS} The run goes on in the background; read it at the Location. ischinese is read "
                "through its listing and webtrn through a full scan (the records completed within the scope); "
                "hnou through its daily files of the scope's days, which are change dates. Audited."
            ),
            "operationId": "startReconciliation",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["vendor"],
                            "properties": {
                                "vendor": _VENDOR,
                                "year": {"type": "integer", "description": "A training year with rules"},
                                "from": {"type": "string", "format": "date", "description": "Instead of year"},
                                "to": {
                                    "type": "string",
                                    "format": "date",
                                    "description": f"Included; at most {RANGE_DAYS_MAX} days from from",
                                },
                            },
                        }
                    }
                },
            },
            "responses": {
                "202": json_answer(
                    "Started; Location names the run",
                    {"type": "object", "properties": {"id": {"type": "integer"}, "status": {"type": "string"}}},
                ),
                "401": _UNAUTHENTICATED,
                "404": problem_answer("Not for this caller"),
                "409": problem_answer("A reconciliation of this vendor is under way"),
                "413": problem_answer("The body is too large"),
                "422": problem_answer(
                    "Invalid: errors names every field at fault (a vendor not configured, a year without rules); "
                    "nothing was recorded"
                ),
                "503": problem_answer("The database cannot be reached; retry"),
            },
        }
    },
    "/api/v1/reconciliations/{run_id}": {
        "get": {
            "summary": "A reconciliation run: its status and counts",
            "description": _OPERATORS,
            "operationId": "readReconciliation",
            "parameters": [{"name": "run_id", **_ID_PARAMETER}],
            "responses": {
                "200": json_answer("The run", _RUN),
                "401": _UNAUTHENTICATED,
                "404": problem_answer("No such run, or not for this caller"),
            },
        }
    },
    "/api/v1/discrepancies": {
        "get": {
            "summary": "Discrepancies the runs found, in the order they were opened",
            "description": _OPERATORS,
            "operationId": "listDiscrepancies",
            "parameters": [
                {
                    "name": "status",
                    "in": "query",
                    "schema": {"type": "string", "enum": [status.value for status in DiscrepancyStatus]},
                },
                {"name": "vendor", "in": "query", "schema": _VENDOR},
                *page_parameters(DISCREPANCY_PAGE_SIZE_MAX, DISCREPANCY_PAGE_SIZE_DEFAULT),
            ],
            "responses": {
                "200": page_answer("A page; next_cursor is null on the last", _DISCREPANCY),
                "401": _UNAUTHENTICATED,
                "404": problem_answer("Not for this caller"),
                "422": problem_answer("Invalid parameters: errors lists every parameter at fault"),
            },
        }
    },
    "/api/v1/discrepancies/{discrepancy_id}/resolve": {
        "post": {
            "summary": "Resolve a discrepancy: ingest the vendor's version, reverse the ledger's entry, or accept it",
            "description": (
                f"{_OPERATORS} The ledger changes only by appending: ingest is a credit of the vendor's record "
                "(through the adapter's own translation), or for different a reversal and a new credit that names "
                "the one it replaces (a reversal alone when the vendor revoked the record); reverse is a reversal "
                "entry; "
                f"accept appends nothing. Fitting actions: {_FITTING}. Audited."
            ),
            "operationId": "resolveDiscrepancy",
            "parameters": [{"name": "discrepancy_id", **_ID_PARAMETER}],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["action", "reason"],
                            "properties": {
                                "action": {"type": "string", "enum": ["ingest", "reverse", "accept"]},
                                "reason": {"type": "string", "minLength": 1, "maxLength": REASON_CHARACTERS_MAX},
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": json_answer("The discrepancy, resolved", _DISCREPANCY),
                "401": _UNAUTHENTICATED,
                "404": problem_answer("No such discrepancy, or not for this caller"),
                "409": problem_answer(
                    "Already resolved (nothing changed), or the ledger holds another version of the record now"
                ),
                "413": problem_answer("The body is too large"),
                "422": problem_answer("The action does not fit the discrepancy's kind, or the body is invalid"),
                "503": problem_answer("The ledger or the database cannot be reached; retry"),
            },
        }
    },
}
