"""The year's training and its certificates, for the signed-in person: the year's records, paged, each
counted one tickable; applying for the year's certificate with the ticked records; and the history
of their certificates, with the PDF and the public verification page of each.

Ticks live in the training page's own form, which is sent by GET: the pager's buttons carry the ticks
of the page shown (``tick``) and of the pages left (``kept``, one field of ids) from page to page, so
records of every page can be ticked without script and without a form token in an address. Without
``kept`` (the first visit) every counted record is ticked. "申请证书" opens the application: the
ticked records against the year's rules, and the form (with its token) that applies for the
certificate through the certificates' service, as ``POST /api/v1/me/certificates`` does. The service
counts the ticked records alone, so the page shows what they still miss when it refuses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Final

import structlog
from aiohttp import web
from multidict import MultiMapping

from gateway.keys import HUB
from gateway.openapi import PAGE_FORM_REFUSED, PAGE_SIGN_IN_FIRST, html_page_operation
from gateway.pages.forms import FORM_LEVEL, read_form
from gateway.pages.paging import page_number, paged
from gateway.pages.rendering import Audience, local_time, redirect, render_page, signed_in_or_sent_to_login
from ledger.errors import FieldError, NoRulesForYear
from ledger.model import (
    BEIJING,
    Entry,
    EntryKind,
    Evaluation,
    Source,
    Subject,
    counted_credits,
    evaluate_credits,
    format_hours,
)
from sso.certificates.errors import InvalidCertificateRequest, RequirementNotMet
from sso.certificates.model import ENTRY_IDS_MAX, CertificateBasis, CertificateStatus
from sso.people.model import PersonId

__all__ = ["default_year", "openapi_paths", "routes", "summary"]

ENTRIES_PER_PAGE: Final = 20
CERTIFICATES_PER_PAGE: Final = 10
YEAR_MIN: Final = 2000
YEAR_MAX: Final = 2100
ENTRY_ID_DIGITS_MAX: Final = 19
TICK: Final = "tick"
KEPT: Final = "kept"
SOURCE_NAMES: Final[Mapping[Source, str]] = {Source.OFFLINE: "线下培训", Source.CONTINUING_ED: "继续教育"}
SUBJECT_NAMES: Final[Mapping[Subject, str]] = {Subject.PUBLIC: "公共科目", Subject.PROFESSIONAL: "专业科目"}
STATUS_NAMES: Final[Mapping[CertificateStatus, str]] = {
    CertificateStatus.VALID: "有效",
    CertificateStatus.REVOKED: "已撤销",
}
BASIS_NAMES: Final[Mapping[CertificateBasis, str]] = {
    CertificateBasis.AUTOMATIC: "学时达标后自动签发",
    CertificateBasis.APPLIED: "本人申请签发",
}
DONE: Final[Mapping[str, str]] = {
    "applied": "证书已签发，可在下方下载。",
    "held": "该年度已有有效证书，无需重复申请；证书见下方。",
}
"""The notices of the certificates' page after an application (``?done=…``): fixed texts."""

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()


# ---------------------------------------------------------------- the year's training


@routes.get("/me/training")
async def training(request: web.Request) -> web.Response:
    person_id = await signed_in_or_sent_to_login(request)
    year = _year(request.query.get("year", ""), request)
    entries = await request.app[HUB].ledger.entries_of(person_id, year)
    rows = _rows(request, entries)
    shown = paged(rows, page_number(request.query), size=ENTRIES_PER_PAGE, path=request.path, query=request.query)
    ticked = _ticked(request.query, entries)
    on_page = {row["id"] for row in shown.rows}
    context = {
        "year": year,
        "years": sorted({*request.app[HUB].settings.rules, year}, reverse=True),
        "summary": await summary(request, person_id, year),
        "entries": shown,
        "ticked": ticked,
        "kept": _joined(seq for seq in ticked if seq not in on_page),
        "tickable": any(row["counted"] for row in rows),
        "certificate": await _valid_certificate(request, person_id, year),
    }
    return render_page(request, "staff/training.html", context, audience=Audience.STAFF)


async def _valid_certificate(request: web.Request, person_id: PersonId, year: int) -> str | None:
    """The number of the year's valid certificate, if it has one."""
    history = await request.app[HUB].certificates.history(person_id)
    valid = (
        item.certificate.number
        for item in history
        if item.certificate.year == year and item.certificate.status is CertificateStatus.VALID
    )
    return next(valid, None)


def _rows(request: web.Request, entries: Sequence[Entry]) -> list[dict[str, object]]:
    """The credits of the year, newest first, each counted or reversed (by a reversal among ``entries``)."""
    reversed_seqs = {entry.reverses_seq for entry in entries if entry.kind is EntryKind.REVERSAL}
    credits = sorted(
        (entry for entry in entries if entry.kind is EntryKind.CREDIT), key=lambda entry: entry.completed_at
    )
    vendors = {vendor.value: link.name for vendor, link in request.app[HUB].handoff.config.vendors.items()}
    return [
        {
            "id": entry.seq,
            "completed_at": local_time(request, entry.completed_at),
            "course": entry.course_title or entry.course_code,
            "source": SOURCE_NAMES.get(entry.source) or vendors.get(entry.source.value, entry.source.value),
            "subject": SUBJECT_NAMES[entry.subject],
            "hours": format_hours(entry.hours),
            "counted": entry.seq not in reversed_seqs,
            "status": "已撤销" if entry.seq in reversed_seqs else "已计入",
        }
        for entry in reversed(credits)
    ]


def _ticked(query: MultiMapping[str], entries: Sequence[Entry]) -> set[int]:
    """The counted records the training form ticks: every one on a first visit (no ``kept``), else
    those of ``kept`` and ``tick``; ids of anything else are dropped."""
    counted: set[int] = {entry.seq for entry in counted_credits(entries)}
    if KEPT not in query:
        return counted
    return counted & {*_ids(query.get(KEPT, "").split(",")), *_ids(query.getall(TICK, []))}


def _ids(texts: Iterable[str]) -> list[int]:
    """The entry ids among ``texts`` (at most ``ENTRY_IDS_MAX``), in their order; anything else is dropped."""
    found = [int(text) for text in texts if text.isascii() and text.isdigit() and 0 < len(text) <= ENTRY_ID_DIGITS_MAX]
    return found[:ENTRY_IDS_MAX]


def _joined(ids: Iterable[int]) -> str:
    return ",".join(str(seq) for seq in sorted(ids))


# ---------------------------------------------------------------- applying for the certificate


@routes.get("/me/certificates/apply")
async def application(request: web.Request) -> web.Response:
    person_id = await signed_in_or_sent_to_login(request)
    year = _year(request.query.get("year", ""), request)
    entries = await request.app[HUB].ledger.entries_of(person_id, year)
    ticked = _ticked(request.query, entries)
    return _application_page(request, year, entries, ticked, errors={})


@routes.post("/me/certificates")
async def apply(request: web.Request) -> web.Response:
    person_id = await signed_in_or_sent_to_login(request)
    form = await read_form(request)
    year = _year(form.get("year", ""), request)
    ticked = _ids(form.get("entry_ids", "").split(","))
    hub = request.app[HUB]
    errors: dict[str, str]
    try:
        issued = await hub.certificates.apply(person_id, {"year": year, "entry_ids": ticked})
    except RequirementNotMet as refused:
        log.info("certificate_application_refused", person_id=person_id, year=year)
        errors = _refusal_messages(refused.errors, refused.evaluation, request.app[HUB].settings.topics)
    except InvalidCertificateRequest:
        errors = {FORM_LEVEL: "请至少勾选一条学时记录后再申请。"}
    except NoRulesForYear:
        errors = {FORM_LEVEL: f"{year}年度暂无学时要求，无需申请证书。"}
    else:
        log.info("certificate_applied", person_id=person_id, created=issued.created)
        raise redirect(f"/me/certificates?done={'applied' if issued.created else 'held'}")
    entries = await hub.ledger.entries_of(person_id, year)
    return _application_page(request, year, entries, ticked, errors=errors, status=422)


def _application_page(
    request: web.Request,
    year: int,
    entries: Sequence[Entry],
    ticked: Iterable[int],
    *,
    errors: Mapping[str, str],
    status: int = 200,
) -> web.Response:
    """The ticked records of the year against its rules, and the form that applies with them."""
    ledger = request.app[HUB].ledger
    chosen = set(ticked)
    credits = [entry for entry in counted_credits(entries) if entry.seq in chosen]
    rows = [row for row in _rows(request, entries) if row["id"] in chosen]
    try:
        evaluation: Evaluation | None = evaluate_credits(ledger.rules_for(year), credits)
    except NoRulesForYear:
        evaluation = None
    context = {
        "year": year,
        "rows": rows,
        "entry_ids": _joined(chosen),
        "summary": None if evaluation is None else summary_of(evaluation),
        "errors": errors,
        "back": f"/me/training?year={year}&{KEPT}={_joined(chosen)}",
    }
    return render_page(request, "staff/application.html", context, audience=Audience.STAFF, status=status)


def _refusal_messages(
    faults: Iterable[FieldError], evaluation: Evaluation, topic_names: Mapping[str, str]
) -> dict[str, str]:
    """What the page says of each part of the rules the ticked records miss (topics by their names), and of
    records that cannot count."""
    rules = evaluation.rules
    missing = {
        "total": ("总学时", evaluation.missing_total, rules.total),
        "public": ("公共科目", evaluation.missing_public, rules.public),
        "professional": ("专业科目", evaluation.missing_professional, rules.professional),
    }
    messages: dict[str, str] = {}
    for fault in faults:
        if fault.field in missing:
            what, short, required = missing[fault.field]
            messages[fault.field] = f"{what}还差{format_hours(short)}学时（要求{format_hours(required)}学时）"
        elif fault.field == "mandatory":
            topics = (topic_names.get(topic, topic) for topic in evaluation.missing_topics)
            messages["mandatory"] = f"尚未完成必修内容：{'、'.join(topics)}"
        else:
            messages.setdefault("entries", "有勾选的记录已被撤销或不属于您本年度，不能计入，请返回重新勾选。")
    return messages


# ---------------------------------------------------------------- the certificates' history


@routes.get("/me/certificates")
async def certificates_page(request: web.Request) -> web.Response:
    person_id = await signed_in_or_sent_to_login(request)
    certificates = request.app[HUB].certificates
    rows = [
        {
            "number": item.certificate.number,
            "year": item.certificate.year,
            "hours": item.certificate.facts.hours(),
            "status": STATUS_NAMES[item.certificate.status],
            "valid": item.certificate.status is CertificateStatus.VALID,
            "revoked_at": None if item.certificate.revoked_at is None else _date(item.certificate.revoked_at),
            "revoked_reason": item.certificate.revoked_reason,
            "issued_on": _date(item.certificate.facts.issued_at),
            "basis": BASIS_NAMES[item.certificate.basis],
            "downloads": item.download_count,
            "pdf_url": certificates.pdf_path(item.certificate.number),
            "verify_url": certificates.verify_url(item.certificate.number),
        }
        for item in await certificates.history(person_id)
    ]
    context = {
        "certificates": paged(
            rows, page_number(request.query), size=CERTIFICATES_PER_PAGE, path=request.path, query=request.query
        ),
        "done": DONE.get(request.query.get("done", "")),
        "year": default_year(request),
    }
    return render_page(request, "staff/certificates.html", context, audience=Audience.STAFF)


def _date(moment: datetime) -> str:
    local = moment.astimezone(BEIJING)
    return f"{local.year}年{local.month:02d}月{local.day:02d}日"


# ---------------------------------------------------------------- the year against its rules


async def summary(request: web.Request, person_id: PersonId, year: int) -> dict[str, object] | None:
    """The person's year against its rules, as ``staff/summary.html`` shows it; ``None`` without rules."""
    if year not in request.app[HUB].settings.rules:
        return None
    return summary_of(await request.app[HUB].ledger.evaluate(person_id, year))


def summary_of(evaluation: Evaluation) -> dict[str, object]:
    rules, earned = evaluation.rules, evaluation.earned
    return {
        "met": evaluation.met,
        "rows": [
            (name, format_hours(required), format_hours(got), format_hours(missing))
            for name, required, got, missing in (
                ("合计", rules.total, earned.total, evaluation.missing_total),
                ("公共科目", rules.public, earned.public, evaluation.missing_public),
                ("专业科目", rules.professional, earned.professional, evaluation.missing_professional),
            )
        ],
        "missing_topics": evaluation.missing_topics,
    }


def default_year(request: web.Request) -> int:
    """This year in Beijing when it has rules; otherwise the latest year that has."""
    rules = request.app[HUB].settings.rules
    this_year = datetime.now(BEIJING).year
    return this_year if this_year in rules or not rules else max(rules)


def _year(text: str, request: web.Request) -> int:
    if len(text) == 4 and text.isascii() and text.isdigit() and YEAR_MIN <= int(text) <= YEAR_MAX:
        return int(text)
    return default_year(request)


# ---------------------------------------------------------------- the OpenAPI description

openapi_paths: dict[str, object] = {
    "/me/training": {
        "get": html_page_operation(
            "The year's hours and its records, each counted one tickable "
            "(?year=YYYY, ?page=N; the ticks: ?tick=ID… and ?kept=ID,ID…)",
            "trainingPage",
            _200="The page",
            _303=PAGE_SIGN_IN_FIRST,
        )
    },
    "/me/certificates/apply": {
        "get": html_page_operation(
            "The ticked records of a year against its rules, and the form that applies with them "
            "(?year=YYYY, ?tick=ID…, ?kept=ID,ID…; without kept, every counted record)",
            "certificateApplicationPage",
            _200="The page",
            _303=PAGE_SIGN_IN_FIRST,
        )
    },
    "/me/certificates": {
        "get": html_page_operation(
            "The person's certificates, newest first, each with its PDF and verification page (?page=N)",
            "certificatesPage",
            _200="The page",
            _303=PAGE_SIGN_IN_FIRST,
        ),
        "post": html_page_operation(
            "Apply for a year's certificate with ticked records (a form: year, entry_ids as ID,ID…)",
            "certificateApplicationForm",
            _303="Issued, or the year's valid certificate found: to the certificates' page; or not signed in",
            _403=PAGE_FORM_REFUSED,
            _422="The ticked records do not meet the rules, or none: the application with what is missing",
        ),
    },
}
