"""Supervisors' reports on the units they oversee: compliance with the year's rules (JSON, or a CSV
download), the people short of them a page at a time, and the vendors' shares of online hours.

Supervisors only, with their bearer token; every call leaves one audit entry. A unit that does not
exist and a unit outside the caller's scope get the same 404. ID numbers and names are masked in
every answer. The CSV is UTF-8 with a byte-order mark, so that Excel opens it as such.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncGenerator, Iterable, Sequence
from contextlib import aclosing
from typing import Final

from aiohttp import hdrs, web

from gateway.bearer import AuditNote, Caller, audited, authenticate_caller
from gateway.keys import HUB
from gateway.openapi import page_parameters, problem_answer
from ledger.model import Evaluation, YearRules, format_hours
from sso.access.errors import OutOfReach
from sso.access.model import AuditAction, Role, Target, TargetKind
from sso.organisation import InstitutionCode
from sso.people.model import Member, PersonId
from supervision.model import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX, QueryName, encode_cursor, parse_query
from supervision.reports.model import (
    ONLINE_VENDORS,
    VENDOR_SHARE_LINE,
    VENDOR_SHARE_STAFF_MIN,
    ComplianceSummary,
    OnlineHours,
    Report,
    ReportFormat,
    ReportUnit,
    Shortfall,
    Tally,
    report_for,
    share_text,
)
from supervision.reports.service import ComplianceLine, InstitutionLine, RegionLine

NO_STORE: Final = {hdrs.CACHE_CONTROL: "no-store"}
CSV_MEDIA_TYPE: Final = "text/csv"
BYTE_ORDER_MARK: Final = "\ufeff"
CSV_COLUMNS: Final = (
    "level",
    "code",
    "name",
    "region_code",
    "id_number_masked",
    "name_masked",
    "people",
    "met",
    "not_met",
    "hours_total",
    "hours_public",
    "hours_professional",
    "missing_total",
    "missing_public",
    "missing_professional",
    "missing_mandatory",
)
TOPICS_SEPARATOR: Final = ";"
_FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")
_REPORT_PARAMETERS: Final = frozenset({QueryName.YEAR, QueryName.FORMAT})
_PAGE_PARAMETERS: Final = frozenset({QueryName.YEAR, QueryName.CURSOR, QueryName.LIMIT})
_FORMATS: Final = {QueryName.FORMAT: [member.value for member in ReportFormat]}

routes = web.RouteTableDef()


@routes.get("/api/v1/units/{code}/compliance")
async def compliance(request: web.Request) -> web.StreamResponse:
    caller = await authenticate_caller(request)
    async with audited(request, caller, AuditAction.COMPLIANCE_READ) as note:
        report = report_in_reach(caller, request.match_info["code"], note)
        query = parse_query(request.query.items(), _REPORT_PARAMETERS, year_required=True, choices=_FORMATS)
        year, report_format = query.training_year, _format(request, query.values.get(QueryName.FORMAT))
        note.details.update(year=year, format=report_format.value)
        reports = request.app[HUB].supervision.reports
        if report_format is ReportFormat.CSV:
            response = await _stream_csv(
                request, reports.lines(report, year), note, f"compliance-{report.unit.code}-{year}.csv"
            )
        else:
            summary = await reports.compliance(report, year)
            note.details["people"] = summary.total.people
            response = web.json_response(_summary_document(summary, year), headers=NO_STORE)
    return response


@routes.get("/api/v1/units/{code}/compliance/short")
async def compliance_shortfalls(request: web.Request) -> web.Response:
    caller = await authenticate_caller(request)
    async with audited(request, caller, AuditAction.COMPLIANCE_READ) as note:
        report = report_in_reach(caller, request.match_info["code"], note)
        query = parse_query(request.query.items(), _PAGE_PARAMETERS, year_required=True, cursor_parts=2)
        after = None if query.cursor is None else Member(InstitutionCode(query.cursor[0]), PersonId(query.cursor[1]))
        note.details.update(year=query.training_year, part="short")
        page = await request.app[HUB].supervision.reports.shortfalls(report, query.training_year, after, query.limit)
        note.details["people"] = len(page.items)
    document = {
        "unit": _unit_document(report.unit),
        "year": query.training_year,
        "items": [_shortfall_document(shortfall) for shortfall in page.items],
        "next_cursor": None
        if page.next_after is None
        else encode_cursor(page.next_after.unit_code, page.next_after.person_id),
    }
    return web.json_response(document, headers=NO_STORE)


@routes.get("/api/v1/units/{code}/vendor-share")
async def vendor_share(request: web.Request) -> web.Response:
    caller = await authenticate_caller(request)
    async with audited(request, caller, AuditAction.VENDOR_SHARE_READ) as note:
        report = report_in_reach(caller, request.match_info["code"], note)
        query = parse_query(request.query.items(), _PAGE_PARAMETERS, year_required=True)
        after = None if query.cursor is None else query.cursor[0]
        note.details["year"] = query.training_year
        page = await request.app[HUB].supervision.reports.vendor_shares(report, query.training_year, after, query.limit)
        note.details["flagged"] = sum(hours.flagged for _institution, hours in page.items)
    numerator, denominator = VENDOR_SHARE_LINE
    document = {
        "unit": _unit_document(report.unit),
        "year": query.training_year,
        "rule": {"staff_min": VENDOR_SHARE_STAFF_MIN, "share_over": share_text(numerator, denominator)},
        "items": [
            {
                "code": institution.code,
                "name": institution.name,
                "region": institution.region,
                **_online_document(hours),
            }
            for institution, hours in page.items
        ],
        "next_cursor": None if page.next_after is None else encode_cursor(page.next_after),
    }
    return web.json_response(document, headers=NO_STORE)


def report_in_reach(caller: Caller, code: str, note: AuditNote) -> Report:
    """The report on the unit ``code``, if the caller is a supervisor whose scope reaches it. Raises
    ``OutOfReach`` (answered 404) otherwise, for an unknown unit alike."""
    caller.require(Role.SUPERVISOR)
    scope, organisation = caller.scope, caller.organisation
    report = None
    if scope is not None and organisation is not None:
        report = report_for(organisation, scope, code)
    if report is None:
        note.details["reason"] = "unknown_or_outside_scope"
        raise OutOfReach
    # Only now: before, the path could hold any text, personal data too.
    note.target = Target(TargetKind.UNIT, report.unit.code)
    return report


def _format(request: web.Request, given: str | None) -> ReportFormat:
    """The format the query names, else CSV when the Accept header asks for it, else JSON."""
    if given is not None:
        return ReportFormat(given)
    return ReportFormat.CSV if CSV_MEDIA_TYPE in request.headers.get(hdrs.ACCEPT, "") else ReportFormat.JSON


# ---------------------------------------------------------------- JSON


def _unit_document(unit: ReportUnit) -> dict[str, object]:
    return {"code": unit.code, "name": unit.name, "kind": unit.kind.value}


def _tally_document(tally: Tally) -> dict[str, object]:
    return {
        "people": tally.people,
        "met": tally.met,
        "not_met": tally.not_met,
        "hours": _hours_document(tally.total, tally.public, tally.professional),
    }


def _hours_document(total: int, public: int, professional: int) -> dict[str, str]:
    return {"total": format_hours(total), "public": format_hours(public), "professional": format_hours(professional)}


def _required_document(rules: YearRules) -> dict[str, object]:
    return {**_hours_document(rules.total, rules.public, rules.professional), "mandatory": sorted(rules.mandatory)}


def _summary_document(summary: ComplianceSummary, year: int) -> dict[str, object]:
    return {
        "unit": _unit_document(summary.report.unit),
        "year": year,
        "required": _required_document(summary.rules),
        "total": _tally_document(summary.total),
        "regions": [
            {"code": region.code, "name": region.name, "parent": region.parent, **_tally_document(tally)}
            for region, tally in summary.regions
        ],
        "institutions": [
            {"code": institution.code, "name": institution.name, "region": institution.region, **_tally_document(tally)}
            for institution, tally in summary.institutions
        ],
    }


def _shortfall_document(shortfall: Shortfall) -> dict[str, object]:
    evaluation = shortfall.evaluation
    earned = evaluation.earned
    return {
        "person_id": shortfall.member.person_id,
        "institution": {"code": shortfall.institution.code, "name": shortfall.institution.name},
        "id_number_masked": shortfall.identity.id_number_masked,
        "name_masked": shortfall.identity.name_masked,
        "earned": _hours_document(earned.total, earned.public, earned.professional),
        "missing": _missing_document(evaluation),
    }


def _missing_document(evaluation: Evaluation) -> dict[str, object]:
    return {
        **_hours_document(evaluation.missing_total, evaluation.missing_public, evaluation.missing_professional),
        "mandatory": list(evaluation.missing_topics),
    }


def _online_document(hours: OnlineHours) -> dict[str, object]:
    dominant = hours.dominant_vendor
    return {
        "staff_with_online_hours": hours.staff,
        "online_hours": format_hours(hours.total),
        "vendors": [
            {
                "vendor": vendor.value,
                "hours": format_hours(hours.by_vendor.get(vendor, 0)),
                "share": hours.share(vendor),
            }
            for vendor in ONLINE_VENDORS
        ],
        "dominant_vendor": None if dominant is None else dominant.value,
        "flagged": hours.flagged,
    }


# ---------------------------------------------------------------- CSV


async def _stream_csv(
    request: web.Request, lines: AsyncGenerator[list[ComplianceLine]], note: AuditNote, filename: str
) -> web.StreamResponse:
    """Stream the lines as CSV, a page at a time; a refusal (no rules for the year) comes before anything is sent."""
    async with aclosing(lines):
        batch = await anext(lines)
        response = web.StreamResponse(
            headers={**NO_STORE, hdrs.CONTENT_DISPOSITION: f'attachment; filename="{filename}"'}
        )
        response.content_type = CSV_MEDIA_TYPE
        response.charset = "utf-8"
        await response.prepare(request)
        await response.write((BYTE_ORDER_MARK + _csv_text([CSV_COLUMNS])).encode("utf-8"))
        await response.write(_csv_text(_csv_row(line) for line in batch).encode("utf-8"))
        rows = len(batch)
        async for batch in lines:
            await response.write(_csv_text(_csv_row(line) for line in batch).encode("utf-8"))
            rows += len(batch)
    await response.write_eof()
    note.details["rows"] = rows
    return response


def _csv_text(rows: Iterable[Sequence[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def _csv_row(line: ComplianceLine) -> tuple[str, ...]:
    """One line of the report in the order of ``CSV_COLUMNS``; what is not the line's is empty."""
    if isinstance(line, Shortfall):
        evaluation, earned, institution = line.evaluation, line.evaluation.earned, line.institution
        return (
            "person",
            *_texts(institution.code, institution.name, institution.region),
            *_texts(line.identity.id_number_masked, line.identity.name_masked),
            "",
            "",
            "",
            *(format_hours(hours) for hours in (earned.total, earned.public, earned.professional)),
            *(
                format_hours(hours)
                for hours in (evaluation.missing_total, evaluation.missing_public, evaluation.missing_professional)
            ),
            _text(TOPICS_SEPARATOR.join(evaluation.missing_topics)),
        )
    if isinstance(line, InstitutionLine):
        institution = line.institution
        return (
            "institution",
            *_texts(institution.code, institution.name, institution.region),
            *_tally_cells(line.tally),
        )
    if isinstance(line, RegionLine):
        region = line.region
        return ("region", *_texts(region.code, region.name, region.parent or ""), *_tally_cells(line.tally))
    return ("unit", *_texts(line.unit.code, line.unit.name, ""), *_tally_cells(line.tally))


def _tally_cells(tally: Tally) -> tuple[str, ...]:
    counts = (str(tally.people), str(tally.met), str(tally.not_met))
    hours = (format_hours(tally.total), format_hours(tally.public), format_hours(tally.professional))
    return ("", "", *counts, *hours, "", "", "", "")


def _texts(*texts: str) -> tuple[str, ...]:
    return tuple(_text(text) for text in texts)


def _text(text: str) -> str:
    """A text cell that a spreadsheet will not run: one that starts like a formula gets a leading quote."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


# ---------------------------------------------------------------- the OpenAPI description

_DESCRIPTION: Final = (
    "Supervisors only, with `Authorization: Bearer <token>` (`hub tokens create --role supervisor "
    "--department CODE | --institution CODE`). The unit is a region, a department or an institution: the "
    "supervisor's own unit; with a department's token also the regions of its region's subtree and the "
    "institutions it oversees; with a personnel department's, also the departments of its subtree. The report "
    "covers the institutions under the unit that the token's scope reaches. A unit outside the scope and one "
    "that does not exist get the same 404. Audited."
)
_UNAUTHENTICATED: Final = problem_answer("No valid bearer token: WWW-Authenticate names the Bearer challenge")
_NOT_FOUND: Final = problem_answer("No such unit for this caller: outside their role or scope, or unknown")
_INVALID: Final = problem_answer(
    "Invalid parameters (errors lists every one at fault), or a year without rules (no_rules_for_year)"
)
_HOURS: Final = {"type": "string", "pattern": "^[0-9]+\\.[0-9]{2}$", "examples": ["90.00"]}
_HOURS_PROPERTIES: Final = {"total": _HOURS, "public": _HOURS, "professional": _HOURS}
_HOURS_BY_SUBJECT: Final = {"type": "object", "properties": _HOURS_PROPERTIES}
_WITH_TOPICS: Final = {
    "type": "object",
    "properties": {**_HOURS_PROPERTIES, "mandatory": {"type": "array", "items": {"type": "string"}}},
}
_UNIT: Final = {
    "type": "object",
    "properties": {
        "code": {"type": "string"},
        "name": {"type": "string"},
        "kind": {"type": "string", "enum": ["region", "department", "institution"]},
    },
}
_TALLY_PROPERTIES: Final = {
    "people": {"type": "integer", "description": "Active accounts of staff"},
    "met": {"type": "integer"},
    "not_met": {"type": "integer"},
    "hours": {**_HOURS_BY_SUBJECT, "description": "Hours the people earned in the year, all counted"},
}
_CODE_PARAMETER: Final = {
    "name": "code",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "A region, department or institution code",
}
_YEAR_PARAMETER: Final = {
    "name": "year",
    "in": "query",
    "required": True,
    "schema": {"type": "integer"},
    "description": "A training year the hub has rules for",
}
_PAGE_PARAMETERS_DOCUMENTED: Final = page_parameters(PAGE_SIZE_MAX, PAGE_SIZE_DEFAULT)
_NEXT_CURSOR: Final = {"type": ["string", "null"], "description": "Continues the list; null on the last page"}


def _json(description: str, properties: dict[str, object]) -> dict[str, object]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"type": "object", "properties": properties}}},
    }


openapi_paths: dict[str, object] = {
    "/api/v1/units/{code}/compliance": {
        "get": {
            "summary": "Compliance with the year's rules per institution and per region under a unit",
            "description": (
                f"{_DESCRIPTION} Counts each active person of the institutions against the year's rules "
                "(total, public and professional hours, and the mandatory topics). With `format=csv`, or "
                "`Accept: text/csv`, a streamed download in UTF-8 with a byte-order mark: one row per "
                "person short of the rules (masked ID number and name, what they miss), each institution's "
                "row after its people, then one row per region and the unit's total; columns "
                f"{', '.join(CSV_COLUMNS)}. The people short of the rules are also listed, a page at a time, "
                "at `/compliance/short`."
            ),
            "operationId": "readCompliance",
            "parameters": [
                _CODE_PARAMETER,
                _YEAR_PARAMETER,
                {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["json", "csv"]}},
            ],
            "responses": {
                "200": {
                    "description": "The tallies of the unit, of each region and of each institution",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "unit": _UNIT,
                                    "year": {"type": "integer"},
                                    "required": _WITH_TOPICS,
                                    "total": {"type": "object", "properties": _TALLY_PROPERTIES},
                                    "regions": {
                                        "type": "array",
                                        "items": {"type": "object", "properties": _TALLY_PROPERTIES},
                                    },
                                    "institutions": {
                                        "type": "array",
                                        "items": {"type": "object", "properties": _TALLY_PROPERTIES},
                                    },
                                },
                            }
                        },
                        "text/csv": {"schema": {"type": "string"}},
                    },
                },
                "401": _UNAUTHENTICATED,
                "404": _NOT_FOUND,
                "422": _INVALID,
            },
        }
    },
    "/api/v1/units/{code}/compliance/short": {
        "get": {
            "summary": "The people under a unit short of the year's rules, and by how much, a page at a time",
            "description": f"{_DESCRIPTION} In the order of institution codes, then of people.",
            "operationId": "listShortfalls",
            "parameters": [_CODE_PARAMETER, _YEAR_PARAMETER, *_PAGE_PARAMETERS_DOCUMENTED],
            "responses": {
                "200": _json(
                    "A page of people short of the rules",
                    {
                        "unit": _UNIT,
                        "year": {"type": "integer"},
                        "items": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "person_id": {"type": "string"},
                                    "institution": {"type": "object"},
                                    "id_number_masked": {"type": "string", "examples": ["430102********123X"]},
                                    "name_masked": {"type": "string", "examples": ["张*", "欧**"]},
                                    "earned": _HOURS_BY_SUBJECT,
                                    "missing": _WITH_TOPICS,
                                },
                            },
                        },
                        "next_cursor": _NEXT_CURSOR,
                    },
                ),
                "401": _UNAUTHENTICATED,
                "404": _NOT_FOUND,
                "422": _INVALID,
            },
        }
    },
    "/api/v1/units/{code}/vendor-share": {
        "get": {
            "summary": "Each vendor's share of the online hours of each institution under a unit",
            "description": (
                f"{_DESCRIPTION} Online hours are those of ischinese, webtrn and hnou, counted in the year by "
                "the institution's active staff. An institution is flagged when at least "
                f"{VENDOR_SHARE_STAFF_MIN} of its staff earned online hours and one vendor provided over 90 % "
                "of them (compared exactly); no unit may mandate a vendor. Shares are decimal strings of four "
                "places, null without online hours. Institutions by code, a page at a time."
            ),
            "operationId": "readVendorShare",
            "parameters": [_CODE_PARAMETER, _YEAR_PARAMETER, *_PAGE_PARAMETERS_DOCUMENTED],
            "responses": {
                "200": _json(
                    "A page of institutions with their online hours by vendor",
                    {
                        "unit": _UNIT,
                        "year": {"type": "integer"},
                        "rule": {"type": "object"},
                        "items": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "code": {"type": "string"},
                                    "name": {"type": "string"},
                                    "region": {"type": "string"},
                                    "staff_with_online_hours": {"type": "integer"},
                                    "online_hours": _HOURS,
                                    "vendors": {"type": "array", "items": {"type": "object"}},
                                    "dominant_vendor": {"type": ["string", "null"]},
                                    "flagged": {"type": "boolean"},
                                },
                            },
                        },
                        "next_cursor": _NEXT_CURSOR,
                    },
                ),
                "401": _UNAUTHENTICATED,
                "404": _NOT_FOUND,
                "422": _INVALID,
            },
        }
    },
}
