"""Auditors: streamed exports of the ledger with their signed manifests, and the walk of the hash chain.

An export streams as it is read, so its manifest (with the file's SHA-256) exists only once the
last byte is out: the answer's ``Link`` header names where to fetch it then. An export that
breaks off (the client leaves, or the chain breaks under it) never gets a manifest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

import structlog
from aiohttp import hdrs, web

from gateway.bearer import AuditNote, Caller, audited, authenticate_caller
from gateway.keys import HUB
from gateway.openapi import SecurityScheme, problem_answer, unauthenticated
from gateway.parameters import year_parameter
from ledger.errors import ExportNotFound, FieldError
from ledger.exports.model import ExportFormat
from ledger.exports.service import ExportRequest, ExportRun
from sso.access.errors import InvalidAccessRequest
from sso.access.model import AuditAction, Role, Target, TargetKind
from sso.errors import UnknownOrganisationCode

NO_STORE: Final = {hdrs.CACHE_CONTROL: "no-store"}
EXPORT_ID: Final = re.compile(r"[0-9a-f]{32}", re.ASCII)

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()


@routes.get("/api/v1/exports/ledger")
async def export_ledger(request: web.Request) -> web.StreamResponse:
    hub = request.app[HUB]
    caller = await authenticate_caller(request)
    async with audited(request, caller, AuditAction.LEDGER_EXPORTED, Target(TargetKind.LEDGER, "entries")) as note:
        caller.require(Role.AUDITOR)
        export_request = await parse_export_request(request, request.query, caller)
        run = await hub.exports.begin(export_request)
        note_export(note, run)
    return await stream_export(request, run, f"/api/v1/exports/{run.export_id}/manifest")


def note_export(note: AuditNote, run: ExportRun) -> None:
    """What the audit entry of an export says of it."""
    note.details.update(
        export_id=run.export_id,
        year=run.request.year,
        format=run.request.export_format.value,
        unit=run.request.unit_code,
        through_seq=run.through_seq,
    )


async def stream_export(request: web.Request, run: ExportRun, manifest_path: str) -> web.StreamResponse:
    """Stream the export as a download; the ``Link`` header names ``manifest_path``, where its manifest will be."""
    export_request = run.request
    filename = f"ledger-{export_request.year}-{run.export_id}.{export_request.export_format.value}"
    headers: dict[str, str] = {
        hdrs.CONTENT_TYPE: f"{export_request.export_format.media_type}; charset=utf-8",
        hdrs.CONTENT_DISPOSITION: f'attachment; filename="{filename}"',
        hdrs.LINK: f'<{manifest_path}>; rel="describedby"',
        "Export-Through-Seq": str(run.through_seq),
        hdrs.CACHE_CONTROL: "no-store",
    }
    response = web.StreamResponse(headers=headers)
    await response.prepare(request)
    async for chunk in run.chunks():
        await response.write(chunk)
    await response.write_eof()
    log.info("ledger_exported", export_id=run.export_id, through_seq=run.through_seq)
    return response


async def parse_export_request(request: web.Request, query: Mapping[str, str], caller: Caller) -> ExportRequest:
    """The export that ``query`` (``year``, ``format``, optional ``unit``) asks for on behalf of ``caller``.
    Raises ``InvalidAccessRequest`` listing every field at fault."""
    actor, errors = f"{caller.role.value}:{caller.token_id}", list[FieldError]()
    try:
        year = year_parameter(query.get("year"))
    except InvalidAccessRequest as error:
        errors.extend(error.errors)
    try:
        export_format = ExportFormat(query.get("format", ""))
    except ValueError:
        errors.append(FieldError("format", "is required: csv or jsonl"))
    unit_code, institutions = query.get("unit"), None
    if unit_code is not None:
        organisation = await request.app[HUB].organisation.organisation()
        try:
            institutions = frozenset(institution.code for institution in organisation.institutions_under(unit_code))
        except UnknownOrganisationCode:
            errors.append(FieldError("unit", "is not the code of a region or an institution"))
    if errors:
        raise InvalidAccessRequest(errors)
    return ExportRequest(year, export_format, actor, unit_code, institutions)


@routes.get("/api/v1/exports/{export_id}/manifest")
async def export_manifest(request: web.Request) -> web.Response:
    caller = await authenticate_caller(request)
    return web.json_response(await read_manifest(request, caller), headers=NO_STORE)


async def read_manifest(request: web.Request, caller: Caller) -> dict[str, object]:
    """The signed manifest of the export the path's ``export_id`` names, audited; for an auditor alone.
    Raises ``ExportNotFound`` for an export that never finished, never was, or an id of no export's shape
    (which never becomes the audit entry's target: the path is the caller's text)."""
    export_id = request.match_info["export_id"]
    async with audited(request, caller, AuditAction.EXPORT_MANIFEST_READ) as note:
        caller.require(Role.AUDITOR)
        if EXPORT_ID.fullmatch(export_id) is None:
            note.details["reason"] = "malformed_export_id"
            raise ExportNotFound("no export has an id of that shape: 32 lowercase hexadecimal digits")
        note.target = Target(TargetKind.EXPORT, export_id)
        manifest = await request.app[HUB].exports.manifest(export_id)
        if manifest is None:
            raise ExportNotFound(f"no finished export has the id {export_id}")
    return manifest


@routes.get("/api/v1/ledger/verify")
async def verify_ledger(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    caller = await authenticate_caller(request)
    async with audited(request, caller, AuditAction.LEDGER_VERIFIED, Target(TargetKind.LEDGER, "chain")) as note:
        caller.require(Role.AUDITOR)
        report = await hub.ledger.verify_chain()
        mismatches = await hub.ledger.balance_mismatches()
        note.details.update(intact=report.intact and not mismatches, entries_checked=report.entries_checked)
    document = {
        "intact": report.intact and not mismatches,
        "entries_checked": report.entries_checked,
        "head_seq": report.head_seq,
        "head_hash": report.head_hash,
        "first_bad_seq": report.first_bad_seq,
        "problem": report.problem,
        "balance_mismatches": [
            {
                "person_id": mismatch.person_id,
                "year": mismatch.year,
                "subject": mismatch.subject.value,
                "stored": mismatch.stored,
                "recomputed": mismatch.recomputed,
            }
            for mismatch in mismatches
        ],
    }
    return web.json_response(document, headers=NO_STORE)


# ---------------------------------------------------------------- the OpenAPI description

_BEARER: Final = "Auditors only: `Authorization: Bearer <token>` (`hub tokens create --role auditor`). Audited."
_UNAUTHENTICATED: Final = unauthenticated(SecurityScheme.BEARER, "No valid bearer token")
_NOT_FOUND: Final = problem_answer("Nothing here for this caller: another role, or no such finished export")
_SEQ_AND_HASH: Final = {
    "type": ["object", "null"],
    "properties": {"seq": {"type": "integer"}, "hash": {"type": "string"}},
}
_MANIFEST: Final = {
    "type": "object",
    "required": ["version", "export_id", "format", "year", "through_seq", "row_count", "sha256", "signature"],
    "properties": {
        "version": {"type": "integer", "const": 1},
        "export_id": {"type": "string"},
        "format": {"type": "string", "enum": ["csv", "jsonl"]},
        "year": {"type": "integer"},
        "unit_code": {"type": ["string", "null"]},
        "through_seq": {"type": "integer", "description": "The last sequence number when the export began"},
        "row_count": {"type": "integer"},
        "sha256": {"type": "string", "description": "Of the file's bytes, as served"},
        "first": _SEQ_AND_HASH,
        "last": _SEQ_AND_HASH,
        "created_at": {"type": "string"},
        "signature": {
            "type": "string",
            "description": (
                "A compact JWS (alg Ed25519, typ hub-document+jws, kid in /.well-known/jwks.json) whose payload is "
                "the canonical JSON of this manifest without `signature`: sorted keys, no white space, UTF-8"
            ),
        },
    },
}
_EXPORT_DESCRIPTION: Final = (
    "The ledger's entries of one year, streamed, pinned to the last sequence number when the export began "
    "(header `Export-Through-Seq`). Each row holds every field the hash chain covers (hours as a decimal string; "
    "the chain hashes integer hundredths), the entry's `hash`, and two labels the chain does not cover: "
    "`id_number_masked` and `unit_code`. CSV is UTF-8 with a byte-order mark. The chain is verified as it is read. "
    "Once the last byte is out, the signed manifest is at the `Link` of rel `describedby`; "
    "`hub ledger verify --export FILE --manifest FILE --jwks URL` checks both offline. " + _BEARER
)

openapi_paths: Final = {
    "/api/v1/exports/ledger": {
        "get": {
            "summary": "Export the ledger's entries of a year",
            "operationId": "exportLedger",
            "description": _EXPORT_DESCRIPTION,
            "parameters": [
                {"name": "year", "in": "query", "required": True, "schema": {"type": "integer"}},
                {"name": "format", "in": "query", "required": True, "schema": {"enum": ["csv", "jsonl"]}},
                {
                    "name": "unit",
                    "in": "query",
                    "required": False,
                    "description": "An institution, or a region for every institution of its subtree",
                    "schema": {"type": "string"},
                },
            ],
            "responses": {
                "200": {
                    "description": "The export, streamed",
                    "headers": {
                        "Link": {"schema": {"type": "string"}, "description": "Where the manifest will be"},
                        "Export-Through-Seq": {"schema": {"type": "integer"}},
                    },
                    "content": {"text/csv": {"schema": {"type": "string"}}, "application/jsonl": {}},
                },
                "401": _UNAUTHENTICATED,
                "404": _NOT_FOUND,
                "422": problem_answer("Invalid input: errors lists every field at fault"),
            },
        }
    },
    "/api/v1/exports/{export_id}/manifest": {
        "get": {
            "summary": "The signed manifest of a finished export",
            "operationId": "readExportManifest",
            "description": _BEARER,
            "parameters": [
                {"name": "export_id", "in": "path", "required": True, "schema": {"type": "string"}},
            ],
            "responses": {
                "200": {"description": "The manifest", "content": {"application/json": {"schema": _MANIFEST}}},
                "401": _UNAUTHENTICATED,
                "404": _NOT_FOUND,
            },
        }
    },
    "/api/v1/ledger/verify": {
        "get": {
            "summary": "Walk the hash chain and recompute the balances",
            "operationId": "verifyLedger",
            "description": "Reports the first sequence number that breaks the chain, if any. " + _BEARER,
            "responses": {
                "200": {
                    "description": "The report",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "intact": {"type": "boolean"},
                                    "entries_checked": {"type": "integer"},
                                    "head_seq": {"type": "integer"},
                                    "head_hash": {"type": "string"},
                                    "first_bad_seq": {"type": ["integer", "null"]},
                                    "problem": {"type": ["string", "null"]},
                                    "balance_mismatches": {"type": "array", "items": {"type": "object"}},
                                },
                            }
                        }
                    },
                },
                "401": _UNAUTHENTICATED,
                "404": _NOT_FOUND,
            },
        }
    },
}
