"""The console's offline trainings waiting for a decision, and the department's approval or rejection.

The rules are the API's (``gateway.routes.trainings``): operators see every filing and decide none;
a supervisor of a department sees those filed with it and approves or rejects them (a rejection with
its reason); a supervisor of an institution sees its own filings. A decision by anyone else, or on a
filing that does not exist, is the not-found page. Reading and deciding are audited as the API
audits them (same actions, targets and details); the contact's phone and e-mail stay masked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final
from urllib.parse import urlencode

from aiohttp import web

from gateway.bearer import Caller, audited
from gateway.keys import HUB
from gateway.openapi import HTML_CONTENT, PAGE_FORM_REFUSED
from gateway.pages.console import CONSOLE_AUDIENCES, CONSOLE_LANDING, moment_text, signed_in_console
from gateway.pages.forms import FORM_LEVEL, read_form
from gateway.pages.rendering import PageRefused, redirect, render_page
from gateway.routes.trainings import actor_of, decides, filing_in_reach, within_reach
from ledger.model import REASON_CHARACTERS_MAX, format_hours
from sso.access.errors import OutOfReach
from sso.access.model import AuditAction, Target, TargetKind, mask_email, mask_phone
from sso.organisation import Organisation
from trainings.errors import FilingAlreadyDecided, FilingInvalid
from trainings.model import CURSOR_MAX, Listing
from trainings.offline import Filing, FilingQuery, FilingStatus

__all__ = ["openapi_paths", "routes"]

FILINGS_PER_PAGE: Final = 20
SUBJECT_NAMES: Final[Mapping[str, str]] = {"public": "公共科目", "professional": "专业科目"}
DONE: Final[Mapping[str, str]] = {
    "signed_in": "已登录控制台。",
    "approved": "已批准该线下培训备案。",
    "rejected": "已驳回该线下培训备案。",
}
REASON_FAULT: Final = f"请填写驳回理由（1至{REASON_CHARACTERS_MAX}个字符）"
ALREADY_DECIDED: Final = "该备案已经审批过，无需再次审批。"

routes = web.RouteTableDef()


@routes.get("/console/filings")
async def filings_page(request: web.Request) -> web.Response:
    caller = await signed_in_console(request, *CONSOLE_LANDING)
    return await _filings_page(request, caller, errors={}, failed=None)


@routes.post("/console/filings/{number}/approval")
async def approve_filing(request: web.Request) -> web.Response:
    caller = await signed_in_console(request, *CONSOLE_LANDING)
    await read_form(request)
    try:
        async with audited(request, caller, AuditAction.OFFLINE_TRAINING_APPROVED) as note:
            filing = await filing_in_reach(request, caller, note, decides)
            await request.app[HUB].offline_trainings.approve(filing, actor_of(caller))
    except OutOfReach:
        raise PageRefused(404, "找不到该备案", "没有这个待您审批的线下培训备案。") from None
    except FilingAlreadyDecided:
        errors = {FORM_LEVEL: ALREADY_DECIDED}
        return await _filings_page(request, caller, errors=errors, failed=request.match_info["number"], status=409)
    raise redirect(_back(request, "approved"))


@routes.post("/console/filings/{number}/rejection")
async def reject_filing(request: web.Request) -> web.Response:
    caller = await signed_in_console(request, *CONSOLE_LANDING)
    form = await read_form(request)
    number = request.match_info["number"]
    try:
        async with audited(request, caller, AuditAction.OFFLINE_TRAINING_REJECTED) as note:
            filing = await filing_in_reach(request, caller, note, decides)
            await request.app[HUB].offline_trainings.reject(filing, actor_of(caller), form.get("reason", ""))
    except OutOfReach:
        raise PageRefused(404, "找不到该备案", "没有这个待您审批的线下培训备案。") from None
    except FilingInvalid:
        return await _filings_page(request, caller, errors={"reason": REASON_FAULT}, failed=number, status=422)
    except FilingAlreadyDecided:
        return await _filings_page(request, caller, errors={FORM_LEVEL: ALREADY_DECIDED}, failed=number, status=409)
    raise redirect(_back(request, "rejected"))


def _back(request: web.Request, done: str) -> str:
    """The page of filings a decision was made on (its form carries the page's cursor), saying what was done."""
    query = {"done": done}
    cursor = request.query.get("cursor")
    if cursor is not None and _cursor_fits(cursor):
        query["cursor"] = cursor
    return f"/console/filings?{urlencode(query)}"


async def _filings_page(
    request: web.Request, caller: Caller, *, errors: Mapping[str, str], failed: str | None, status: int = 200
) -> web.Response:
    """The filings waiting for a decision that the caller sees, newest first, a page at a time."""
    cursor = request.query.get("cursor")
    hub = request.app[HUB]
    target = Target(TargetKind.OFFLINE_TRAINING, "all")
    if not _cursor_fits(cursor):
        raise PageRefused(404, "找不到该页面", "该页不存在，请从第一页重新浏览。")
    listing = Listing(before_id=None if cursor is None else int(cursor), limit=FILINGS_PER_PAGE)
    async with audited(request, caller, AuditAction.OFFLINE_TRAINING_READ, target) as note:
        query = within_reach(FilingQuery(listing=listing, status=FilingStatus.FILED), caller)
        page = await hub.offline_trainings.filings(query)
        note.details.update(status=FilingStatus.FILED.value, filings=len(page.filings))
    organisation = await hub.organisation.organisation()
    context = {
        "done": DONE.get(request.query.get("done", "")),
        "errors": errors,
        "failed": failed,
        "filings": [_filing_view(request, filing, organisation, decides(caller, filing)) for filing in page.filings],
        "next_url": None if page.next_cursor is None else f"/console/filings?{urlencode({'cursor': page.next_cursor})}",
        "first_url": "/console/filings" if cursor else None,
        # A decision's form comes back to this page, whether it is refused or done.
        "this_page": f"?{urlencode({'cursor': cursor})}" if cursor else "",
        "reason_max": REASON_CHARACTERS_MAX,
    }
    audience = CONSOLE_AUDIENCES[caller.role]
    return render_page(request, "console/filings.html", context, audience=audience, status=status)


def _cursor_fits(cursor: str | None) -> bool:
    """No cursor, or one the listing could have given: a row id."""
    if cursor is None:
        return True
    digits = len(str(CURSOR_MAX))
    return cursor.isascii() and cursor.isdigit() and len(cursor) <= digits and 1 <= int(cursor) <= CURSOR_MAX


def _filing_view(
    request: web.Request, filing: Filing, organisation: Organisation, decidable: bool
) -> dict[str, object]:
    form = filing.form
    unit = organisation.institutions.get(form.unit_code)
    department = organisation.departments.get(filing.department_code)
    rules = request.app[HUB].ledger.rules_for(form.year)
    return {
        "number": filing.number,
        "decidable": decidable,
        "details": (
            ("申请单位", form.unit_code if unit is None else unit.name),
            ("审批部门", filing.department_code if department is None else department.name),
            ("科目", SUBJECT_NAMES.get(form.subject.value, form.subject.value)),
            ("培训机构", form.organiser),
            ("机构地址", form.organiser_address),
            ("邮政编码", form.postcode),
            ("电子邮箱", mask_email(form.email)),
            ("负责人", form.responsible_person),
            ("联系人", f"{form.contact_name}（{form.contact_title}）"),
            ("联系电话", mask_phone(form.contact_phone)),
            ("培训时间", f"{form.starts_on.isoformat()} 至 {form.ends_on.isoformat()}（{form.days}天）"),
            ("每人最多学时", format_hours(filing.hours_max(rules))),
            ("培训地点", form.place),
            ("培训对象", form.scope),
            ("计划人数", str(form.head_count)),
            ("培训计划", form.plan),
            ("备案时间", moment_text(request, filing.filed_at)),
        ),
        "training_name": form.training_name,
    }


# ---------------------------------------------------------------- the OpenAPI description


def _answer(text: str) -> dict[str, object]:
    return {"description": text, "content": HTML_CONTENT}


_DECISION_ANSWERS: Final = {
    "303": {"description": "Decided: to the filings waiting"},
    "403": _answer(PAGE_FORM_REFUSED),
    "404": _answer("No such filing, or the session is not its department's supervisor"),
    "409": _answer("Decided already: the page with the error"),
}

openapi_paths: dict[str, object] = {
    "/console/filings": {
        "get": {
            "summary": "Offline trainings waiting for a decision (operators all, a supervisor those in reach), paged",
            "operationId": "consoleFilings",
            "responses": {
                "200": _answer("The page"),
                "303": {"description": "No console session: to the sign-in page"},
                "404": _answer("Staff, or a session of another role, or a cursor this page never gave"),
            },
        }
    },
    "/console/filings/{number}/approval": {
        "post": {
            "summary": "Approve a filing (a form; its department's supervisor only)",
            "operationId": "consoleApproveFiling",
            "responses": _DECISION_ANSWERS,
        }
    },
    "/console/filings/{number}/rejection": {
        "post": {
            "summary": "Reject a filing (a form with its reason; its department's supervisor only)",
            "operationId": "consoleRejectFiling",
            "responses": {**_DECISION_ANSWERS, "422": _answer("No reason: the page with the error beside it")},
        }
    },
}
