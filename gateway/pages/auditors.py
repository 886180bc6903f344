"""The auditors' pages: the exports of the ledger made so far with their signed manifests, a new export
downloaded as the API streams it, and the walk of the hash chain.

Auditors sign in on the console's sign-in page with their bearer token (``gateway.pages.console``); every
page here asks ``signed_in_auditor``, so anyone else gets 404 (or the sign-in page, without a console
session). Each action goes through the services the API's routes use and is audited as they audit it:
an export is begun, noted and streamed by ``gateway.routes.exports``' own functions, so the file, its
headers and its manifest are the API's. An export's file is not kept: the list shows each export with
its manifest, and a new export is downloaded from the form (a POST with the form token, since it is
recorded and audited).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Final

from aiohttp import hdrs, web

from gateway.bearer import audited
from gateway.keys import HUB
from gateway.openapi import CONSOLE_SIGN_IN_FIRST, HTML_CONTENT, PAGE_FORM_REFUSED, html_page_operation
from gateway.pages.console import signed_in_auditor
from gateway.pages.forms import read_form
from gateway.pages.paging import page_number, paged
from gateway.pages.rendering import Audience, PageRefused, render_page
from gateway.routes.exports import note_export, parse_export_request, read_manifest, stream_export
from ledger.errors import ExportNotFound
from ledger.exports.model import ExportFormat
from ledger.model import BEIJING, format_hours
from sso.access.errors import InvalidAccessRequest
from sso.access.model import AuditAction, Target, TargetKind

__all__ = ["openapi_paths", "routes"]

EXPORTS_LISTED_MAX: Final = 200
EXPORTS_PER_PAGE: Final = 20
FORMAT_NAMES: Final[Mapping[str, str]] = {ExportFormat.CSV.value: "CSV", ExportFormat.JSONL.value: "JSON Lines"}
FIELD_FAULTS: Final[Mapping[str, str]] = {
    "year": "请填写四位数字的年度（2000至2100）",
    "format": "请选择导出格式",
    "unit": "请填写地区或单位的代码，或留空导出全部",
}
LABELS: Final[Mapping[str, str]] = {"year": "年度", "format": "格式", "unit": "地区或单位代码"}
DONE: Final[Mapping[str, str]] = {"signed_in": "已登录审计控制台。"}
JWKS_PATH: Final = "/.well-known/jwks.json"

routes = web.RouteTableDef()


# ---------------------------------------------------------------- exports


@routes.get("/console/exports")
async def exports_page(request: web.Request) -> web.Response:
    await signed_in_auditor(request)
    return await _exports_page(request, values={}, errors={})


@routes.post("/console/exports")
async def start_export(request: web.Request) -> web.StreamResponse:
    caller = await signed_in_auditor(request)
    form = await read_form(request)
    values = {name: form.get(name, "").strip() for name in ("year", "format", "unit")}
    query = {name: value for name, value in values.items() if value}
    try:
        async with audited(request, caller, AuditAction.LEDGER_EXPORTED, Target(TargetKind.LEDGER, "entries")) as note:
            export_request = await parse_export_request(request, query, caller)
            run = await request.app[HUB].exports.begin(export_request)
            note_export(note, run)
    except InvalidAccessRequest as refused:
        errors = {fault.field: FIELD_FAULTS.get(fault.field, FIELD_FAULTS["year"]) for fault in refused.errors}
        return await _exports_page(request, values=values, errors=errors, status=422)
    return await stream_export(request, run, f"/console/exports/{run.export_id}/manifest")


async def _exports_page(
    request: web.Request, *, values: Mapping[str, str], errors: Mapping[str, str], status: int = 200
) -> web.Response:
    hub = request.app[HUB]
    exports = await hub.exports.recent(EXPORTS_LISTED_MAX)
    rules = hub.settings.rules
    this_year = datetime.now(BEIJING).year
    default_year = this_year if this_year in rules or not rules else max(rules)
    context = {
        "exports": paged(
            exports, page_number(request.query), size=EXPORTS_PER_PAGE, path=request.path, query=request.query
        ),
        "listed_max": EXPORTS_LISTED_MAX,
        "format_names": FORMAT_NAMES,
        "moment": _moment,
        "values": {"year": str(default_year), "format": ExportFormat.CSV.value, **values},
        "errors": errors,
        "labels": LABELS,
    }
    return _page(request, "auditors/exports.html", context, status=status)


@routes.get("/console/exports/{export_id}/manifest")
async def manifest_page(request: web.Request) -> web.Response:
    export_id, manifest = await _manifest(request)
    context = {
        "export_id": export_id,
        "manifest": manifest,
        "format_names": FORMAT_NAMES,
        "document": json.dumps(manifest, ensure_ascii=False, indent=2),
        "jwks_path": JWKS_PATH,
    }
    return _page(request, "auditors/manifest.html", context)


@routes.get("/console/exports/{export_id}/manifest.json")
async def manifest_download(request: web.Request) -> web.Response:
    export_id, manifest = await _manifest(request)
    disposition = f'attachment; filename="ledger-{manifest["year"]}-{export_id}.manifest.json"'
    return web.json_response(manifest, headers={hdrs.CACHE_CONTROL: "no-store", hdrs.CONTENT_DISPOSITION: disposition})


async def _manifest(request: web.Request) -> tuple[str, dict[str, object]]:
    """The export the path names and its signed manifest, read as the API reads it (audited); the not-found
    page for an export that never finished or never was."""
    caller = await signed_in_auditor(request)
    try:
        manifest = await read_manifest(request, caller)
    except ExportNotFound:
        raise PageRefused(404, "找不到该清单", "没有这个已完成的导出；未完成或中断的导出没有清单。") from None
    return request.match_info["export_id"], manifest


# ---------------------------------------------------------------- the chain


@routes.get("/console/verification")
async def verification_page(request: web.Request) -> web.Response:
    await signed_in_auditor(request)
    return _page(request, "auditors/verification.html", {"report": None})


@routes.post("/console/verification")
async def verify_chain(request: web.Request) -> web.Response:
    caller = await signed_in_auditor(request)
    await read_form(request)
    ledger = request.app[HUB].ledger
    async with audited(request, caller, AuditAction.LEDGER_VERIFIED, Target(TargetKind.LEDGER, "chain")) as note:
        report = await ledger.verify_chain()
        mismatches = await ledger.balance_mismatches()
        note.details.update(intact=report.intact and not mismatches, entries_checked=report.entries_checked)
    context = {
        "report": report,
        "intact": report.intact and not mismatches,
        "ledger_head_seq": await ledger.head_seq(),
        "checked_at": _moment(datetime.now(BEIJING)),
        "mismatches": [
            {
                "person_id": mismatch.person_id,
                "year": mismatch.year,
                "subject": mismatch.subject.value,
                "stored": format_hours(mismatch.stored),
                "recomputed": format_hours(mismatch.recomputed),
            }
            for mismatch in mismatches
        ],
    }
    return _page(request, "auditors/verification.html", context)


# ---------------------------------------------------------------- shared


def _page(request: web.Request, template: str, context: Mapping[str, object], *, status: int = 200) -> web.Response:
    done = DONE.get(request.query.get("done", ""))
    return render_page(request, template, {"done": done, **context}, audience=Audience.AUDITOR, status=status)


def _moment(moment: datetime | None) -> str:
    return "—" if moment is None else moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


# ---------------------------------------------------------------- the OpenAPI description

_NOT_AUDITOR: Final = "A member of staff, or a console session of another role: the not-found page"


_EXPORTED: Final = {
    "description": "The export, streamed as /api/v1/exports/ledger streams it; its Link names its manifest's page",
    "content": {"text/csv": {"schema": {"type": "string"}}, "application/jsonl": {}},
}
openapi_paths: dict[str, object] = {
    "/console/exports": {
        "get": html_page_operation(
            f"The {EXPORTS_LISTED_MAX} latest exports, paged (?page=N), and the form to make one",
            "consoleExports",
            _200="The page",
            _303=CONSOLE_SIGN_IN_FIRST,
            _404=_NOT_AUDITOR,
        ),
        "post": html_page_operation(
            "Export the ledger's entries of a year (a form: year, format, optional unit)",
            "consoleStartExport",
            download=_EXPORTED,
            _403=PAGE_FORM_REFUSED,
            _422="Fields at fault: the page with the errors beside them",
        ),
    },
    "/console/exports/{export_id}/manifest": {
        "get": html_page_operation(
            "A finished export's signed manifest",
            "consoleExportManifest",
            _200="The page",
            _303=CONSOLE_SIGN_IN_FIRST,
            _404="Another role, or no such finished export",
        )
    },
    "/console/exports/{export_id}/manifest.json": {
        "get": {
            "summary": "A finished export's signed manifest, as a file to check the export with offline",
            "operationId": "consoleDownloadExportManifest",
            "responses": {
                "200": {"description": "The manifest", "content": {"application/json": {"schema": {"type": "object"}}}},
                "303": {"description": CONSOLE_SIGN_IN_FIRST},
                "404": {"description": "Another role, or no such finished export", "content": HTML_CONTENT},
            },
        }
    },
    "/console/verification": {
        "get": html_page_operation(
            "The form to walk the hash chain",
            "consoleVerification",
            _200="The page",
            _303=CONSOLE_SIGN_IN_FIRST,
            _404=_NOT_AUDITOR,
        ),
        "post": html_page_operation(
            "Walk the hash chain and recompute the balances (a form)",
            "consoleVerifyChain",
            _200="The result: the head, the entries checked, intact or the first bad sequence number",
            _403=PAGE_FORM_REFUSED,
            _404=_NOT_AUDITOR,
        ),
    },
}
