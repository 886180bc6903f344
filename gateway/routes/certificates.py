"""Certificates: a person's hours of a year, applying for the year's certificate with ticked records,
the history of their certificates, the download of a certificate's PDF (by its owner, or by a
supervisor in scope, audited), and the public verification page and its JSON, throttled per client.

The public verification shows the masked name only; nothing here logs a name.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Final

import structlog
from aiohttp import hdrs, web

from gateway.bearer import audited, authenticate_caller
from gateway.bodies import json_object
from gateway.keys import HUB, VERIFY_THROTTLE
from gateway.openapi import SecurityScheme, json_answer, problem_answer, unauthenticated
from gateway.pages.rendering import Audience, render_page
from gateway.problems import problem
from gateway.sessions import signed_in_person
from ledger.errors import FieldError
from ledger.model import BEIJING, EntryKind, Evaluation, format_hours
from ledger.service import Ledger
from sso.access.model import AuditAction, Role, Target, TargetKind
from sso.certificates.errors import CertificateNotFound, InvalidCertificateRequest, RequirementNotMet
from sso.certificates.model import Certificate, DownloaderKind, is_certificate_number
from sso.certificates.service import Certificates, HistoryItem
from sso.people.model import PersonId

JSON_BODY_BYTES_MAX: Final = 64 * 1024
YEAR_MIN: Final = 2000
YEAR_MAX: Final = 2100
NO_STORE: Final = {hdrs.CACHE_CONTROL: "no-store"}
VERIFY_PATH: Final = "/verify/{certificate_no}"
VERIFY_TEMPLATE: Final = "certificates/verify.html"

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()


# ---------------------------------------------------------------- staff: hours and certificates


@routes.get("/api/v1/me/hours")
async def my_hours(request: web.Request) -> web.Response:
    person_id = await signed_in_person(request)
    year = _year(request.query.get("year"))
    if isinstance(year, web.Response):
        return year
    ledger = request.app[HUB].ledger
    evaluation = await ledger.evaluate(person_id, year)
    return web.json_response(await _hours_document(ledger, person_id, year, evaluation), headers=NO_STORE)


@routes.get("/api/v1/me/certificates")
async def my_certificates(request: web.Request) -> web.Response:
    person_id = await signed_in_person(request)
    certificates = request.app[HUB].certificates
    history = await certificates.history(person_id)
    document = {"items": [_history_document(certificates, item) for item in history]}
    return web.json_response(document, headers=NO_STORE)


@routes.post("/api/v1/me/certificates")
async def apply_for_certificate(request: web.Request) -> web.Response:
    person_id = await signed_in_person(request)
    form = await json_object(request, JSON_BODY_BYTES_MAX, InvalidCertificateRequest)
    certificates = request.app[HUB].certificates
    try:
        issued = await certificates.apply(person_id, form)
    except RequirementNotMet as refused:
        return _requirement_problem(refused)
    log.info("certificate_applied", person_id=person_id, created=issued.created)
    status = 201 if issued.created else 200
    headers = {**NO_STORE, hdrs.LOCATION: certificates.pdf_path(issued.certificate.number)}
    return web.json_response(_certificate_document(certificates, issued.certificate), status=status, headers=headers)


@routes.get("/api/v1/certificates/{certificate_no}.pdf")
async def certificate_pdf(request: web.Request) -> web.Response:
    number = request.match_info["certificate_no"]
    certificates = request.app[HUB].certificates
    if hdrs.AUTHORIZATION in request.headers:
        pdf, certificate = await _supervisor_download(request, number)
    else:
        person_id = await signed_in_person(request)
        certificate = await certificates.find(number)
        if certificate.person_id != person_id:
            raise CertificateNotFound
        pdf = await certificates.download(certificate, DownloaderKind.OWNER)
        log.info("certificate_downloaded", person_id=person_id, by=DownloaderKind.OWNER.value)
    disposition = f'attachment; filename="certificate-{certificate.number}.pdf"'
    headers = {**NO_STORE, hdrs.CONTENT_DISPOSITION: disposition}
    return web.Response(body=pdf, content_type="application/pdf", headers=headers)


async def _supervisor_download(request: web.Request, number: str) -> tuple[bytes, Certificate]:
    """A supervisor's download of a certificate of staff they oversee; 404 for anything else, audited."""
    hub = request.app[HUB]
    caller = await authenticate_caller(request)
    async with audited(request, caller, AuditAction.CERTIFICATE_DOWNLOADED) as note:
        caller.require(Role.SUPERVISOR)
        certificate = await hub.certificates.find(number)
        # Only once it proved to be a certificate's number: before, it could be any text, personal data too.
        note.target = Target(TargetKind.CERTIFICATE, certificate.number)
        person = await hub.people.get(certificate.person_id)
        caller.require_oversight(person.unit_code)
        pdf = await hub.certificates.download(certificate, DownloaderKind.SUPERVISOR, caller.token_id)
    return pdf, certificate


async def _hours_document(ledger: Ledger, person_id: PersonId, year: int, evaluation: Evaluation) -> dict[str, object]:
    rules, earned = evaluation.rules, evaluation.earned
    entries = await ledger.entries_of(person_id, year)
    reversed_seqs = {entry.reverses_seq for entry in entries if entry.kind is EntryKind.REVERSAL}
    return {
        "year": year,
        "required": _hours(rules.total, rules.public, rules.professional),
        "earned": _hours(earned.total, earned.public, earned.professional),
        "missing": _missing_document(evaluation),
        "met": evaluation.met,
        "entries": [
            {
                "id": entry.seq,
                "source": entry.source.value,
                "course": {"id": entry.course_code, "title": entry.course_title},
                "subject": entry.subject.value,
                "hours": format_hours(entry.hours),
                "completed_at": entry.completed_at.isoformat(),
                "status": "reversed" if entry.seq in reversed_seqs else "counted",
            }
            for entry in entries
            if entry.kind is EntryKind.CREDIT
        ],
    }


def _missing_document(evaluation: Evaluation) -> dict[str, object]:
    return {
        **_hours(evaluation.missing_total, evaluation.missing_public, evaluation.missing_professional),
        "mandatory": list(evaluation.missing_topics),
    }


def _hours(total: int, public: int, professional: int) -> dict[str, str]:
    return {"total": format_hours(total), "public": format_hours(public), "professional": format_hours(professional)}


def _certificate_document(certificates: Certificates, certificate: Certificate) -> dict[str, object]:
    return {
        "certificate_no": certificate.number,
        "year": certificate.year,
        "hours": certificate.facts.hours(),
        "status": certificate.status.value,
        "issued_at": certificate.facts.issued_at.isoformat(),
        "pdf_url": certificates.pdf_path(certificate.number),
        "verify_url": certificates.verify_url(certificate.number),
    }


def _history_document(certificates: Certificates, item: HistoryItem) -> dict[str, object]:
    certificate = item.certificate
    return {
        **_certificate_document(certificates, certificate),
        "basis": certificate.basis.value,
        "revoked_at": None if certificate.revoked_at is None else certificate.revoked_at.isoformat(),
        "revoked_reason": certificate.revoked_reason,
        "download_count": item.download_count,
        "downloads": [
            {"downloaded_at": download.downloaded_at.isoformat(), "by": download.by.value}
            for download in item.downloads
        ],
    }


def _requirement_problem(refused: RequirementNotMet) -> web.Response:
    response = problem(422, code=refused.code, title=refused.title, detail=str(refused), errors=refused.errors)
    # An extension member of the problem (RFC 9457 §3.2): what the ticked records still miss, as /me/hours says it.
    document = json.loads(response.text or "{}")
    document["missing"] = _missing_document(refused.evaluation)
    response.text = json.dumps(document, ensure_ascii=False)
    return response


# ---------------------------------------------------------------- public verification


@routes.get("/verify/{certificate_no}.json")
async def verify_json(request: web.Request) -> web.Response:
    retry_after = request.app[VERIFY_THROTTLE].retry_after(_client(request))
    if retry_after is not None:
        return problem(
            429,
            code="too_many_requests",
            title="Too many requests",
            detail=f"this client may verify again in {retry_after} s",
            headers={hdrs.RETRY_AFTER: str(retry_after)},
        )
    certificate = await _found(request)
    if certificate is None:
        return problem(
            404, code=CertificateNotFound.code, title=CertificateNotFound.title, detail="no such certificate"
        )
    facts = certificate.facts
    document = {
        "certificate_no": facts.certificate_no,
        "name_masked": facts.name_masked,
        "year": facts.year,
        "hours": facts.hours(),
        "status": certificate.status.value,
        "issued_at": facts.issued_at.isoformat(),
        "signature": certificate.signature,
    }
    return web.json_response(document, dumps=_json_text)


@routes.get(VERIFY_PATH)
async def verify_page(request: web.Request) -> web.Response:
    context: dict[str, object]
    retry_after = request.app[VERIFY_THROTTLE].retry_after(_client(request))
    if retry_after is not None:
        context = {"state": "throttled", "retry_after": retry_after}
        headers = {str(hdrs.RETRY_AFTER): str(retry_after)}
        return render_page(request, VERIFY_TEMPLATE, context, audience=Audience.VISITOR, status=429, headers=headers)
    certificate = await _found(request)
    number = request.match_info["certificate_no"]
    if certificate is None:
        context = {"state": "unknown", "number": number}
        return render_page(request, VERIFY_TEMPLATE, context, audience=Audience.VISITOR, status=404)
    context = {
        "state": "found",
        "certificate": certificate,
        "hours": certificate.facts.hours(),
        "issued_on": _date(certificate.facts.issued_at),
        "revoked_on": None if certificate.revoked_at is None else _date(certificate.revoked_at),
        "issuer_name": request.app[HUB].settings.certificates.issuer_name,
        "json_path": f"/verify/{certificate.number}.json",
    }
    return render_page(request, VERIFY_TEMPLATE, context, audience=Audience.VISITOR)


async def _found(request: web.Request) -> Certificate | None:
    number = request.match_info["certificate_no"]
    if not is_certificate_number(number):
        return None
    try:
        return await request.app[HUB].certificates.find(number)
    except CertificateNotFound:
        return None


def _client(request: web.Request) -> str:
    # The peer's address: behind a reverse proxy, every client is the proxy (see README).
    return request.remote or "unknown"


def _date(moment: datetime) -> str:
    local = moment.astimezone(BEIJING)
    return f"{local.year}年{local.month:02d}月{local.day:02d}日"


def _json_text(document: object) -> str:
    return json.dumps(document, ensure_ascii=False)


# ---------------------------------------------------------------- input


def _year(text: str | None) -> int | web.Response:
    if text is not None and len(text) == 4 and text.isascii() and text.isdigit() and YEAR_MIN <= int(text) <= YEAR_MAX:
        return int(text)
    message = f"is required: a year from {YEAR_MIN} to {YEAR_MAX}"
    return problem(
        422,
        code="invalid_query",
        title="Invalid query",
        detail=f"year: {message}",
        errors=[FieldError("year", message)],
    )


# ---------------------------------------------------------------- the OpenAPI description

_HOURS: Final = {"type": "string", "pattern": "^[0-9]+\\.[0-9]{2}$", "description": "Hours, two decimals: 3.50"}
_HOURS_BY_SUBJECT: Final = {
    "type": "object",
    "required": ["total", "public", "professional"],
    "properties": {"total": _HOURS, "public": _HOURS, "professional": _HOURS},
}
_INSTANT: Final = {"type": "string", "format": "date-time"}
_NUMBER: Final = {
    "name": "certificate_no",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[0-9]{4}(-[0-9A-Z]{4}){4}$"},
    "description": "The year and 15 random characters, the last one a check character (ISO/IEC 7064 MOD 37,36)",
}
_CERTIFICATE: Final = {
    "type": "object",
    "required": ["certificate_no", "year", "hours", "status", "issued_at", "pdf_url", "verify_url"],
    "properties": {
        "certificate_no": {"type": "string"},
        "year": {"type": "integer"},
        "hours": _HOURS_BY_SUBJECT,
        "status": {"type": "string", "enum": ["valid", "revoked"]},
        "issued_at": _INSTANT,
        "pdf_url": {"type": "string", "description": "The PDF's path on the hub"},
        "verify_url": {"type": "string", "format": "uri", "description": "The public verification page"},
    },
}
_HISTORY_ITEM: Final = {
    "allOf": [
        _CERTIFICATE,
        {
            "type": "object",
            "properties": {
                "basis": {"type": "string", "enum": ["automatic", "applied"]},
                "revoked_at": {"type": ["string", "null"], "format": "date-time"},
                "revoked_reason": {"type": ["string", "null"]},
                "download_count": {"type": "integer"},
                "downloads": {
                    "type": "array",
                    "description": "The latest downloads, newest first",
                    "items": {
                        "type": "object",
                        "properties": {
                            "downloaded_at": _INSTANT,
                            "by": {"type": "string", "enum": ["owner", "supervisor"]},
                        },
                    },
                },
            },
        },
    ]
}
_MISSING: Final = {
    "type": "object",
    "properties": {
        "total": _HOURS,
        "public": _HOURS,
        "professional": _HOURS,
        "mandatory": {"type": "array", "items": {"type": "string"}, "description": "Topics without a completed course"},
    },
}
_NOT_SIGNED_IN: Final = unauthenticated(
    SecurityScheme.SESSION, "No live session: WWW-Authenticate names the session challenge"
)
_INVALID: Final = problem_answer("Invalid input: errors lists every field at fault")
_THROTTLED: Final = "Too many requests from this client; Retry-After gives the seconds to wait"


openapi_paths: dict[str, object] = {
    "/api/v1/me/hours": {
        "get": {
            "summary": "The signed-in person's hours of a year against its rules, and every record of it",
            "operationId": "getMyHours",
            "parameters": [{"name": "year", "in": "query", "required": True, "schema": {"type": "integer"}}],
            "responses": {
                "200": json_answer(
                    "The year: required, earned and missing hours, and its records (id: to tick when applying)",
                    {
                        "type": "object",
                        "properties": {
                            "year": {"type": "integer"},
                            "required": _HOURS_BY_SUBJECT,
                            "earned": _HOURS_BY_SUBJECT,
                            "missing": _MISSING,
                            "met": {"type": "boolean"},
                            "entries": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {
                                        "id": {"type": "integer"},
                                        "source": {"type": "string"},
                                        "course": {
                                            "type": "object",
                                            "properties": {"id": {"type": "string"}, "title": {"type": "string"}},
                                        },
                                        "subject": {"type": "string", "enum": ["public", "professional"]},
                                        "hours": _HOURS,
                                        "completed_at": _INSTANT,
                                        "status": {"type": "string", "enum": ["counted", "reversed"]},
                                    },
                                },
                            },
                        },
                    },
                ),
                "401": _NOT_SIGNED_IN,
                "422": problem_answer("No year, or a year without rules"),
            },
        }
    },
    "/api/v1/me/certificates": {
        "get": {
            "summary": "The signed-in person's certificates, newest first, with their downloads",
            "operationId": "listMyCertificates",
            "responses": {
                "200": json_answer(
                    "The history",
                    {"type": "object", "properties": {"items": {"type": "array", "items": _HISTORY_ITEM}}},
                ),
                "401": _NOT_SIGNED_IN,
            },
        },
        "post": {
            "summary": "Apply for a year's certificate with ticked records",
            "operationId": "applyForCertificate",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["year", "entry_ids"],
                            "properties": {
                                "year": {"type": "integer"},
                                "entry_ids": {
                                    "type": "array",
                                    "minItems": 1,
                                    "maxItems": 1000,
                                    "items": {"type": "integer"},
                                    "description": "Ids of the year's records, as GET /api/v1/me/hours lists them",
                                },
                            },
                        }
                    }
                },
            },
            "responses": {
                "201": json_answer("The new certificate; Location is its PDF", _CERTIFICATE),
                "200": json_answer("The year's valid certificate, which it already had", _CERTIFICATE),
                "401": _NOT_SIGNED_IN,
                "413": problem_answer("The body is too large"),
                "422": problem_answer(
                    "A malformed application, or ticked records that do not meet the rules: errors names each "
                    "record that is not the person's counted record of the year (entry_ids[i]) and each part "
                    "of the rules still missing (total, public, professional, mandatory); the extension "
                    "member missing says the same as GET /api/v1/me/hours does"
                ),
            },
        },
    },
    "/api/v1/certificates/{certificate_no}.pdf": {
        "get": {
            "summary": "A certificate's PDF: for its owner (session) or a supervisor in scope (bearer, audited)",
            "description": (
                "The download is recorded in the owner's history. Anyone else, operators and auditors "
                "included, and an unknown number get the same 404."
            ),
            "operationId": "downloadCertificate",
            "security": [{str(SecurityScheme.SESSION): []}, {str(SecurityScheme.BEARER): []}],
            "parameters": [_NUMBER],
            "responses": {
                "200": {"description": "The PDF", "content": {"application/pdf": {}}},
                "401": _NOT_SIGNED_IN,
                "404": problem_answer("No such certificate for this caller"),
                "503": problem_answer("The certificate font is missing (certificates.font_file)"),
            },
        }
    },
    "/verify/{certificate_no}": {
        "get": {
            "summary": "The public verification page of a certificate (zh-CN)",
            "operationId": "verifyCertificatePage",
            "parameters": [_NUMBER],
            "responses": {
                "200": {"description": "The certificate: valid or revoked", "content": {"text/html": {}}},
                "404": {"description": "A page saying no certificate has this number", "content": {"text/html": {}}},
                "429": {"description": _THROTTLED, "content": {"text/html": {}}},
            },
        }
    },
    "/verify/{certificate_no}.json": {
        "get": {
            "summary": "The public verification of a certificate, as JSON",
            "description": (
                "signature is a compact JWS (typ hub-document+jws, alg Ed25519) whose kid is in "
                "/.well-known/jwks.json; its payload holds the same certificate_no, name_masked, year, "
                "hours and issued_at (not the status, which a revocation changes)."
            ),
            "operationId": "verifyCertificate",
            "parameters": [_NUMBER],
            "responses": {
                "200": json_answer(
                    "The certificate",
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "required": [
                            *("certificate_no", "name_masked", "year", "hours"),
                            *("status", "issued_at", "signature"),
                        ],
                        "properties": {
                            "certificate_no": {"type": "string"},
                            "name_masked": {
                                "type": "string",
                                "description": "The first character, then * for each other",
                            },
                            "year": {"type": "integer"},
                            "hours": _HOURS_BY_SUBJECT,
                            "status": {"type": "string", "enum": ["valid", "revoked"]},
                            "issued_at": _INSTANT,
                            "signature": {"type": "string"},
                        },
                    },
                ),
                "404": problem_answer("No certificate has this number"),
                "429": problem_answer(_THROTTLED),
            },
        }
    },
}
