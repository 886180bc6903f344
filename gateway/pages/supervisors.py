"""The supervisors' pages: compliance of the units they oversee, the vendors' shares of online hours, and
the feedback of staff with the form to answer it.

Supervisors sign in on the console's sign-in page with their bearer token (``gateway.pages.console``);
every page here asks ``signed_in_supervisor``, so anyone else gets 404 (or the sign-in page, without a
console session). The pages read through the services the API's routes use and are audited as those
routes audit them (the same action codes, targets and details). A unit outside the supervisor's scope
and a unit that does not exist get the same 404, as on the API; so does feedback about an institution
outside it. ID numbers and names of people short of the rules are masked, as in the API's answers.

The reports' pages take ``?unit=CODE`` (the supervisor's own unit when absent: each table links to the
regions and institutions below) and ``?year=YYYY`` (a year with rules; this year's, or the latest
year's, when absent). Charts are inline SVG (``gateway.pages.charts``), each beside a table of the
same figures.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from urllib.parse import urlencode

from aiohttp import web

from gateway.bearer import AuditNote, Caller, audited
from gateway.keys import HUB
from gateway.openapi import CONSOLE_SIGN_IN_FIRST, PAGE_FORM_REFUSED, html_page_operation
from gateway.pages.console import signed_in_supervisor
from gateway.pages.forms import FORM_LEVEL, read_form
from gateway.pages.paging import page_number, paged
from gateway.pages.rendering import Audience, PageRefused, redirect, render_page
from gateway.pages.share_charts import BarChart, Part, percent_text, share_bars
from gateway.problems import STATUS_BY_ERROR
from gateway.routes.feedback import feedback_in_reach, reach_of_caller
from gateway.routes.supervision import report_in_reach
from ledger.model import BEIJING, Source, format_hours
from sso.access.errors import OutOfReach
from sso.access.model import AuditAction
from sso.errors import UnknownOrganisationCode
from sso.organisation import InstitutionCode
from sso.people.model import Member, PersonId
from supervision.errors import FeedbackAlreadyAnswered, FieldError, InvalidSupervisionRequest, SupervisionError
from supervision.feedback.model import ANSWER_CHARACTERS_MAX, FeedbackId, FeedbackStatus
from supervision.model import decode_cursor, encode_cursor
from supervision.reports.model import ONLINE_VENDORS, VENDOR_SHARE_LINE, VENDOR_SHARE_STAFF_MIN, Report, Tally

__all__ = ["openapi_paths", "routes"]

UNITS_PER_PAGE: Final = 20
SHORTFALLS_PER_PAGE: Final = 50
INSTITUTIONS_PER_PAGE: Final = 20
FEEDBACK_PER_PAGE: Final = 20
UNIT_CODE_CHARACTERS_MAX: Final = 64
MET: Final = Part("已达标", "#1a7f37")
NOT_MET: Final = Part("未达标", "#b42318")
VENDOR_PARTS: Final[Mapping[Source, Part]] = {
    Source.ISCHINESE: Part("思想天下", "#0b5cad"),
    Source.WEBTRN: Part("网梯", "#8250df"),
    Source.HNOU: Part("湖南开放大学", "#9a6700"),
}
UNIT_KINDS: Final[Mapping[str, str]] = {"region": "地区", "institution": "单位"}
STATUS_NAMES: Final[Mapping[FeedbackStatus, str]] = {FeedbackStatus.OPEN: "待答复", FeedbackStatus.ANSWERED: "已答复"}
DONE: Final[Mapping[str, str]] = {"signed_in": "已登录监管控制台。", "answered": "答复已发送，反馈人会收到站内消息。"}
_NO_PAGE: Final = "该页不存在，请从第一页重新浏览。"
_ANSWER_FAULT: Final = f"请填写答复（1至{ANSWER_CHARACTERS_MAX}个字符）"
_YEAR_FAULT: Final = "请选择有学时规则的培训年度"

routes = web.RouteTableDef()


@dataclass(frozen=True, slots=True)
class ReportChoice:
    """The unit and year a report's page shows; ``year`` is ``None`` when the query's year has no rules."""

    unit_code: str
    year: int | None
    years: tuple[int, ...]
    errors: Mapping[str, str]


# ---------------------------------------------------------------- compliance


@routes.get("/console/compliance")
async def compliance_page(request: web.Request) -> web.Response:
    return await _report_page(request, AuditAction.COMPLIANCE_READ, "supervisors/compliance.html", _compliance)


async def _compliance(
    request: web.Request, report: Report, year: int, note: AuditNote, _unpaged: Cursor
) -> dict[str, object]:
    note.details.update(year=year, format="html")
    summary = await request.app[HUB].supervision.reports.compliance(report, year)
    note.details["people"] = summary.total.people
    units = [
        *((region.code, region.name, "region", tally) for region, tally in summary.regions),
        *((unit.code, unit.name, "institution", tally) for unit, tally in summary.institutions),
    ]
    page = paged(units, page_number(request.query), size=UNITS_PER_PAGE, path=request.path, query=request.query)
    return {
        "required": {
            "total": format_hours(summary.rules.total),
            "public": format_hours(summary.rules.public),
            "professional": format_hours(summary.rules.professional),
            "mandatory": sorted(summary.rules.mandatory),
        },
        "total": _tally_row(summary.total),
        "units": page,
        "rows": [_unit_row(code, name, kind, tally) for code, name, kind, tally in page.rows],
        "chart": _compliance_chart(report, summary.total, [(name, tally) for _c, name, _k, tally in page.rows]),
        "short_url": f"/console/compliance/short?{urlencode({'unit': report.unit.code, 'year': year})}",
    }


def _unit_row(code: str, name: str, kind: str, tally: Tally) -> dict[str, object]:
    return {"code": code, "name": name, "kind": UNIT_KINDS[kind], **_tally_row(tally)}


def _tally_row(tally: Tally) -> dict[str, object]:
    return {
        "people": tally.people,
        "met": tally.met,
        "not_met": tally.not_met,
        "met_percent": "—" if tally.people == 0 else percent_text(tally.met, tally.people),
        "total": format_hours(tally.total),
        "public": format_hours(tally.public),
        "professional": format_hours(tally.professional),
    }


def _compliance_chart(report: Report, total: Tally, units: Sequence[tuple[str, Tally]]) -> BarChart:
    bars: list[tuple[str, Sequence[int]]] = [(f"{report.unit.name}（合计）", (total.met, total.not_met))]
    bars += [(f"{name}（{tally.met}/{tally.people}）", (tally.met, tally.not_met)) for name, tally in units]
    description = (
        f"{report.unit.name}共{total.people}人，其中{total.met}人达标、{total.not_met}人未达标；"
        "下方每条为一个地区或单位中达标与未达标人数的比例，灰色表示没有人员。下表列出相同的数字。"
    )
    return share_bars("达标与未达标人数", description, (MET, NOT_MET), bars, unit="人")


@routes.get("/console/compliance/short")
async def shortfalls_page(request: web.Request) -> web.Response:
    return await _report_page(
        request, AuditAction.COMPLIANCE_READ, "supervisors/shortfalls.html", _shortfalls, cursor_parts=2
    )


async def _shortfalls(
    request: web.Request, report: Report, year: int, note: AuditNote, cursor: Cursor
) -> dict[str, object]:
    after = None if cursor is None else Member(InstitutionCode(cursor[0]), PersonId(cursor[1]))
    note.details.update(year=year, part="short")
    page = await request.app[HUB].supervision.reports.shortfalls(report, year, after, SHORTFALLS_PER_PAGE)
    note.details["people"] = len(page.items)
    kept = {"unit": report.unit.code, "year": str(year)}
    following = page.next_after
    return {
        "items": page.items,
        "hours": format_hours,
        "next_url": None
        if following is None
        else _url(request, {**kept, "cursor": encode_cursor(following.unit_code, following.person_id)}),
        "first_url": _url(request, kept) if cursor else None,
        "summary_url": _url(request, kept, path="/console/compliance"),
    }


# ---------------------------------------------------------------- vendors' shares


@routes.get("/console/vendor-share")
async def vendor_share_page(request: web.Request) -> web.Response:
    return await _report_page(
        request, AuditAction.VENDOR_SHARE_READ, "supervisors/vendor_share.html", _vendor_share, cursor_parts=1
    )


async def _vendor_share(
    request: web.Request, report: Report, year: int, note: AuditNote, cursor: Cursor
) -> dict[str, object]:
    note.details["year"] = year
    reports = request.app[HUB].supervision.reports
    page = await reports.vendor_shares(report, year, None if cursor is None else cursor[0], INSTITUTIONS_PER_PAGE)
    note.details["flagged"] = sum(hours.flagged for _institution, hours in page.items)
    rows = [
        {
            "code": institution.code,
            "name": institution.name,
            "staff": hours.staff,
            "online": format_hours(hours.total),
            "vendors": [
                (
                    VENDOR_PARTS[vendor].name,
                    format_hours(hours.by_vendor.get(vendor, 0)),
                    "—" if hours.total <= 0 else percent_text(hours.by_vendor.get(vendor, 0), hours.total),
                )
                for vendor in ONLINE_VENDORS
            ],
            "dominant": None if hours.dominant_vendor is None else VENDOR_PARTS[hours.dominant_vendor].name,
            "flagged": hours.flagged,
        }
        for institution, hours in page.items
    ]
    bars = [
        (institution.name, [hours.by_vendor.get(vendor, 0) for vendor in ONLINE_VENDORS])
        for institution, hours in page.items
    ]
    numerator, denominator = VENDOR_SHARE_LINE
    kept = {"unit": report.unit.code, "year": str(year)}
    return {
        "rows": rows,
        "vendor_names": [VENDOR_PARTS[vendor].name for vendor in ONLINE_VENDORS],
        "staff_min": VENDOR_SHARE_STAFF_MIN,
        "line_percent": percent_text(numerator, denominator),
        "chart": share_bars(
            "各单位在线学时的供应商占比",
            f"每条为一个单位的在线学时中各供应商所占比例，虚线为{percent_text(numerator, denominator)}%；"
            "灰色表示该单位没有在线学时。下表列出相同的数字。",
            tuple(VENDOR_PARTS[vendor] for vendor in ONLINE_VENDORS),
            bars,
            unit="学时",
            amount_text=format_hours,
            line=VENDOR_SHARE_LINE,
            line_label=f"{percent_text(numerator, denominator).removesuffix('.00')}%",
        ),
        "next_url": None
        if page.next_after is None
        else _url(request, {**kept, "cursor": encode_cursor(page.next_after)}),
        "first_url": _url(request, kept) if cursor else None,
    }


Cursor = tuple[str, ...] | None
ReportPart = Callable[[web.Request, Report, int, AuditNote, Cursor], Awaitable[dict[str, object]]]


async def _report_page(
    request: web.Request, action: AuditAction, template: str, part: ReportPart, *, cursor_parts: int = 0
) -> web.Response:
    """A report's page on the unit and year the query asks for, audited as the API audits the report: a unit
    outside the supervisor's scope is the not-found page, a year without rules the page with its error. A
    paged part's ``?cursor=`` (of ``cursor_parts`` parts) is read before the read is audited: a cursor no
    page gave is the not-found page, as on the console's other lists, not a failed read."""
    caller = await signed_in_supervisor(request)
    choice = _choice(request, caller)
    cursor = _cursor(request, parts=cursor_parts) if cursor_parts else None
    report = None
    context: dict[str, object] = {}
    try:
        async with audited(request, caller, action) as note:
            report = report_in_reach(caller, choice.unit_code, note)
            context = await part(request, report, _year_of(choice), note, cursor)
    except OutOfReach:
        raise PageRefused(404, "找不到该单位", "没有这个单位，或它不在您的监管范围内。") from None
    except InvalidSupervisionRequest:
        return _page(request, template, {"report": report, "choice": choice, "errors": choice.errors}, status=422)
    return _page(request, template, {"report": report, "choice": choice, "errors": {}, **context})


def _year_of(choice: ReportChoice) -> int:
    """The year of the report. Raises ``InvalidSupervisionRequest`` for a year without rules."""
    if choice.year is None:
        raise InvalidSupervisionRequest([FieldError("year", "has no rules")])
    return choice.year


# ---------------------------------------------------------------- feedback


@routes.get("/console/feedback")
async def feedback_page(request: web.Request) -> web.Response:
    caller = await signed_in_supervisor(request)
    return await _feedback_page(request, caller, errors={}, typed={})


@routes.post("/console/feedback/{feedback_id}/answer")
async def answer_feedback(request: web.Request) -> web.Response:
    caller = await signed_in_supervisor(request)
    form = await read_form(request)
    text = form.get("text", "")
    field = f"answer-{request.match_info['feedback_id']}"
    try:
        async with audited(request, caller, AuditAction.FEEDBACK_ANSWERED) as note:
            feedback = await feedback_in_reach(request, caller, note)
            await request.app[HUB].supervision.feedback.answer(feedback.id, {"text": text}, by=caller.token_id)
    except OutOfReach:
        raise PageRefused(404, "找不到该反馈", "没有这条反馈，或它不属于您监管的单位。") from None
    except FeedbackAlreadyAnswered as refused:
        return await _feedback_page(
            request, caller, errors={FORM_LEVEL: "该反馈已经答复过。"}, typed={}, status=_status(refused)
        )
    except SupervisionError as refused:
        errors = {field: _ANSWER_FAULT}
        return await _feedback_page(request, caller, errors=errors, typed={field: text}, status=_status(refused))
    raise redirect("/console/feedback?status=answered&done=answered")


async def _feedback_page(
    request: web.Request, caller: Caller, *, errors: Mapping[str, str], typed: Mapping[str, str], status: int = 200
) -> web.Response:
    shown = _feedback_status(request.query.get("status"))
    cursor = _cursor(request, parts=1)
    if cursor is not None and not (cursor[0].isascii() and cursor[0].isdigit()):
        raise PageRefused(404, "找不到该页面", _NO_PAGE)
    before = None if cursor is None else FeedbackId(int(cursor[0]))
    try:
        async with audited(request, caller, AuditAction.FEEDBACK_LISTED) as note:
            reach = reach_of_caller(caller, note)
            note.details["status"] = None if shown is None else shown.value
            page = await request.app[HUB].supervision.feedback.within(reach, shown, before, FEEDBACK_PER_PAGE)
            note.details["items"] = len(page.items)
    except OutOfReach:  # the scope's unit left the organisation at an import
        raise PageRefused(404, "找不到该页面", "您的监管范围已不在本平台的组织机构中。") from None
    kept = {} if shown is None else {"status": shown.value}
    context = {
        "shown": "all" if shown is None else shown.value,
        "status_names": STATUS_NAMES,
        "items": [
            {
                "feedback": item,
                "institution": _institution_name(caller, item.institution),
                "submitted_at": _moment(item.submitted_at),
                "answered_at": None if item.answer is None else _moment(item.answer.answered_at),
            }
            for item in page.items
        ],
        "next_url": None
        if page.next_before is None
        else _url(request, {**kept, "cursor": encode_cursor(str(page.next_before))}),
        "first_url": _url(request, kept) if cursor else None,
        "errors": errors,
        "labels": {name: f"反馈 {name.removeprefix('answer-')} 的答复" for name in errors if name},
        "typed": typed,
        "answer_characters_max": ANSWER_CHARACTERS_MAX,
    }
    return _page(request, "supervisors/feedback.html", context, status=status)


def _feedback_status(text: str | None) -> FeedbackStatus | None:
    """The status the list shows: open unless the query asks for answered feedback, or ``all``."""
    if text == "all":
        return None
    return FeedbackStatus.ANSWERED if text == FeedbackStatus.ANSWERED.value else FeedbackStatus.OPEN


# ---------------------------------------------------------------- shared


def _page(request: web.Request, template: str, context: Mapping[str, object], *, status: int = 200) -> web.Response:
    done = DONE.get(request.query.get("done", ""))
    full = {"done": done, "errors": {}, "labels": {"year": "培训年度"}, **context}
    return render_page(request, template, full, audience=Audience.SUPERVISOR, status=status)


def _choice(request: web.Request, caller: Caller) -> ReportChoice:
    """The unit (the supervisor's own when the query names none) and the year the query asks for."""
    own = "" if caller.scope is None else caller.scope.code  # a supervisor's token always has a scope
    unit_code = request.query.get("unit", own)[:UNIT_CODE_CHARACTERS_MAX]
    rules = request.app[HUB].settings.rules
    years = tuple(sorted(rules, reverse=True))
    text = request.query.get("year")
    if text is None:
        this_year = datetime.now(BEIJING).year
        year = this_year if this_year in rules else max(rules, default=None)
        if year is not None:
            return ReportChoice(unit_code, year, years, {})
    elif text.isascii() and text.isdigit() and len(text) == 4 and int(text) in rules:
        return ReportChoice(unit_code, int(text), years, {})
    return ReportChoice(unit_code, None, years, {"year": _YEAR_FAULT})


def _cursor(request: web.Request, *, parts: int) -> tuple[str, ...] | None:
    """The page a list's ``?cursor=`` starts at; a cursor no page gave is the not-found page."""
    text = request.query.get("cursor")
    if text is None:
        return None
    decoded = decode_cursor(text)
    if decoded is None or len(decoded) != parts:
        raise PageRefused(404, "找不到该页面", _NO_PAGE)
    return decoded


def _url(request: web.Request, query: Mapping[str, str], *, path: str | None = None) -> str:
    return f"{path or request.path}?{urlencode(query)}" if query else path or request.path


def _institution_name(caller: Caller, code: str) -> str:
    organisation = caller.organisation
    try:
        return code if organisation is None else organisation.institution(code).name
    except UnknownOrganisationCode:  # the institution left the organisation at an import
        return code


def _status(error: Exception) -> int:
    return next((status for kind, status in STATUS_BY_ERROR if isinstance(error, kind)), 400)


def _moment(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


# ---------------------------------------------------------------- the OpenAPI description

_NOT_HERE: Final = "A member of staff, another role's console session, or a unit outside the supervisor's scope"
_REPORT_QUERY: Final = "?unit=CODE (the supervisor's own unit when absent), ?year=YYYY (a year with rules)"


openapi_paths: dict[str, object] = {
    "/console/compliance": {
        "get": html_page_operation(
            f"Compliance of a unit in a year, with a chart and a table paged by ?page=N; {_REPORT_QUERY}",
            "consoleCompliance",
            _200="The page",
            _303=CONSOLE_SIGN_IN_FIRST,
            _404=_NOT_HERE,
            _422="A year without rules: the page with the error beside the year",
        )
    },
    "/console/compliance/short": {
        "get": html_page_operation(
            f"The people of a unit short of the year's rules, masked, paged by ?cursor=…; {_REPORT_QUERY}",
            "consoleComplianceShortfalls",
            _200="The page",
            _303=CONSOLE_SIGN_IN_FIRST,
            _404=_NOT_HERE,
            _422="A year without rules: the page with the error beside the year",
        )
    },
    "/console/vendor-share": {
        "get": html_page_operation(
            f"The vendors' shares of each institution's online hours, paged by ?cursor=…; {_REPORT_QUERY}",
            "consoleVendorShare",
            _200="The page",
            _303=CONSOLE_SIGN_IN_FIRST,
            _404=_NOT_HERE,
            _422="A year without rules: the page with the error beside the year",
        )
    },
    "/console/feedback": {
        "get": html_page_operation(
            "Feedback about the institutions in the supervisor's scope (?status=open|answered|all, ?cursor=…)",
            "consoleFeedback",
            _200="The page",
            _303=CONSOLE_SIGN_IN_FIRST,
            _404=_NOT_HERE,
        )
    },
    "/console/feedback/{feedback_id}/answer": {
        "post": html_page_operation(
            "Answer feedback (a form: text)",
            "consoleAnswerFeedback",
            _303="Answered: to the answered feedback",
            _403=PAGE_FORM_REFUSED,
            _404="No such feedback in the supervisor's scope",
            _409="Answered already: the page with the error",
            _422="No answer, or too long: the page with the error beside the answer",
        )
    },
}
