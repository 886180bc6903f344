"""The operators' console: sign in with a bearer token, the vendors' health, reconciliation and the
held records, as pages.

Operators, supervisors and auditors sign in here by pasting their bearer token once; the token's role
decides where they land (``CONSOLE_LANDING``) and which pages they see: this module's are the operators'
(``signed_in_operator``), ``gateway.pages.supervisors`` the supervisors' (``signed_in_supervisor``) and
``gateway.pages.auditors`` the auditors' (``signed_in_auditor``). The hub checks the token as the API
does and gives the browser the console cookie (``hub_console``: the token and the moment of signing
in, sealed with AES-GCM under the hub's data key, HttpOnly, SameSite=Strict, Path=/console). Every
console request opens the cookie and checks the token again, so a revoked or expired token ends the
console session at once; the session also ends ``CONSOLE_SESSION_SECONDS_MAX`` after signing in.
Without a console session a page sends the browser to the sign-in page; a signed-in member of staff,
or a console session of another role, gets 404, as on the API.

Forms carry the pages' form token (``gateway.pages.forms``), which is bound to the console cookie too.
Every action is audited exactly as the API audits it (same action codes, targets, details and actors),
and signing in and out are audited as well. A refusal (409, 422) comes back as the page with the
error at the top, with the API's status.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final
from urllib.parse import urlencode

import structlog
from aiohttp import web

from adapters.errors import AdapterError
from adapters.quarantine.model import parse_decision, parse_quarantine_query
from gateway.bearer import Caller, audited
from gateway.keys import HUB
from gateway.openapi import CONSOLE_SIGN_IN_FIRST, PAGE_FORM_REFUSED, html_page_operation
from gateway.pages.forms import FORM_LEVEL, read_form
from gateway.pages.ingestion_charts import SPAN_NAMES, span_of, vendor_charts
from gateway.pages.rendering import Audience, PageRefused, redirect, render_page, staff_member
from gateway.parameters import row_id
from gateway.problems import STATUS_BY_ERROR
from gateway.sessions import CONSOLE_COOKIE, console_cookie_of
from ledger.errors import FieldError, LedgerError
from ledger.model import HeldId, HoldReason, Source
from ledger.reconciliation.model import (
    FITTING_ACTIONS,
    RECENT_RUNS_MAX,
    VENDORS,
    DiscrepancyKind,
    DiscrepancyStatus,
    RunStatus,
    parse_discrepancy_query,
    parse_resolution,
    parse_run_request,
)
from sso.access.errors import InvalidToken, OutOfReach
from sso.access.model import AuditAction, Role, Target, TargetKind
from sso.errors import DecryptionFailed, UnknownDataKey
from sso.id_numbers import mask_id_numbers_in

__all__ = ["openapi_paths", "routes"]

CONSOLE_SESSION_SECONDS_MAX: Final = 8 * 3600
CONSOLE_SEAL_CONTEXT: Final = "console.session"
TOKEN_CHARACTERS_MAX: Final = 256
LOGIN_PATH: Final = "/console/login"
CONSOLE_LANDING: Final[Mapping[Role, str]] = {
    Role.OPERATOR: "/console",
    Role.SUPERVISOR: "/console/compliance",
    Role.AUDITOR: "/console/exports",
}
"""Who may sign in to the console, and the page each role lands on (unless sent on from one of its pages)."""
CONSOLE_AUDIENCES: Final[Mapping[Role, Audience]] = {
    Role.OPERATOR: Audience.OPERATOR,
    Role.SUPERVISOR: Audience.SUPERVISOR,
    Role.AUDITOR: Audience.AUDITOR,
}
VENDOR_NAMES: Final[Mapping[Source, str]] = {
    Source.ISCHINESE: "思想天下（ischinese）",
    Source.WEBTRN: "网梯（webtrn）",
    Source.HNOU: "湖南开放大学（hnou）",
}
KIND_NAMES: Final[Mapping[DiscrepancyKind, str]] = {
    DiscrepancyKind.MISSING_IN_LEDGER: "台账缺少",
    DiscrepancyKind.MISSING_AT_VENDOR: "供应商缺少",
    DiscrepancyKind.DIFFERENT: "内容不一致",
    DiscrepancyKind.UNKNOWN_PERSON: "学员未知",
}
ACTION_NAMES: Final[Mapping[str, str]] = {
    "ingest": "以供应商记录为准（入账）",
    "reverse": "冲销台账记录",
    "accept": "保留差异（说明理由）",
    "no_longer_holds": "差异已消失",
}
RUN_STATUS_NAMES: Final[Mapping[RunStatus, str]] = {
    RunStatus.RUNNING: "进行中",
    RunStatus.SUCCEEDED: "已完成",
    RunStatus.FAILED: "失败",
}
HOLD_REASON_NAMES: Final[Mapping[str, str]] = {
    HoldReason.CONFLICT.value: "与已入账版本冲突",
    HoldReason.UNKNOWN_PERSON.value: "学员未知",
    HoldReason.MALFORMED.value: "记录无法读取",
}
REFUSALS: Final[Mapping[str, str]] = {
    "reconciliation_running": "该供应商的对账正在进行，请等它结束后再发起。",
    "discrepancy_resolved": "该差异已经处理过，无需再次处理。",
    "ledger_moved_on": "差异记录之后台账已有变化，请重新对账后再处理。",
    "discrepancy_not_found": "找不到该差异。",
    "hold_already_decided": "该记录已经处理过。",
    "hold_not_found": "找不到该记录。",
    "person_still_unknown": "该记录的学员仍未在平台注册，暂不能放行。",
    "record_still_invalid": "该记录仍无法读取，暂不能放行；可以驳回并说明理由。",
    "vendor_not_configured": "该供应商未在本平台配置。",
}
FIELD_FAULTS: Final[Mapping[str, str]] = {
    "vendor": "请选择本平台已配置的供应商",
    "year": "请填写有学时规则的培训年度（四位数字）",
    "from": "请填写有学时规则的日期范围",
    "to": "请填写有学时规则的日期范围",
    "action": "请选择适用于该差异的处理方式",
    "reason": "请填写理由（不超过500个字符）",
    "body": "表单无法读取，请重新填写后提交",
}
_SIGN_IN_REFUSED: Final = "令牌无效、已过期或已撤销。"
FRONT_DOOR: Final = "/console"
DONE: Final[Mapping[str, str]] = {
    "signed_in": "已登录运维控制台。",
    "started": "对账已开始，刷新本页查看进度。",
    "resolved": "差异已处理。",
    "released": "记录已放行入账。",
    "rejected": "记录已驳回。",
}

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()


# ---------------------------------------------------------------- the console session


async def _console_caller(request: web.Request) -> Caller | None:
    """Whom the console cookie's token admits now (a supervisor with the organisation their scope is read
    against), or ``None`` for no cookie, an old or forged one, or a token the hub no longer accepts."""
    sealed = console_cookie_of(request)
    if sealed is None:
        return None
    hub = request.app[HUB]
    try:
        session = json.loads(hub.keyring.decrypt(sealed, context=CONSOLE_SEAL_CONTEXT))
        secret, signed_in_at = str(session["token"]), float(session["signed_in_at"])
    except (DecryptionFailed, UnknownDataKey, ValueError, KeyError, TypeError):
        return None
    if not 0 <= time.time() - signed_in_at < CONSOLE_SESSION_SECONDS_MAX:
        return None
    try:
        token = await hub.access.tokens.authenticate(secret)
    except InvalidToken:
        return None
    organisation = None if token.scope is None else await hub.organisation.organisation()
    return Caller(token_id=token.id, role=token.role, scope=token.scope, organisation=organisation)


async def signed_in_console(request: web.Request, *roles: Role) -> Caller:
    """The caller of the console session in one of ``roles``; without a session a 303 to sign in, and
    404 for anyone else."""
    caller = await _console_caller(request)
    if caller is None and await staff_member(request) is None:
        raise redirect(f"{LOGIN_PATH}?{urlencode({'next': request.path_qs})}")
    if caller is None or caller.role not in roles:
        raise PageRefused(404, "找不到该页面", "您要找的页面不存在。")
    return caller


async def signed_in_supervisor(request: web.Request) -> Caller:
    """The supervisor of the console session; without one a 303 to sign in, and 404 for anyone else."""
    return await signed_in_console(request, Role.SUPERVISOR)


async def signed_in_auditor(request: web.Request) -> Caller:
    """The auditor of the console session; without one a 303 to sign in, and 404 for anyone else."""
    return await signed_in_console(request, Role.AUDITOR)


async def signed_in_operator(request: web.Request) -> Caller:
    """The operator of the console session; without one a 303 to sign in, and 404 for anyone else."""
    return await signed_in_console(request, Role.OPERATOR)


def _page(request: web.Request, template: str, context: Mapping[str, object], status: int = 200) -> web.Response:
    done = DONE.get(request.query.get("done", ""))
    full = {"done": done, "vendor_names": VENDOR_NAMES, **context}
    return render_page(request, template, full, audience=Audience.OPERATOR, status=status)


@routes.get("/console/login")
async def sign_in_page(request: web.Request) -> web.Response:
    return _sign_in_page(request, error=None)


@routes.post("/console/login")
async def sign_in(request: web.Request) -> web.Response:
    form = await read_form(request)
    secret = form.get("token", "").strip()
    if not secret or len(secret) > TOKEN_CHARACTERS_MAX:
        return _sign_in_page(request, error="请粘贴您的访问令牌。", status=422)
    hub = request.app[HUB]
    try:
        token = await hub.access.tokens.authenticate(secret)
    except InvalidToken as exc:
        log.info("console_sign_in_refused", reason=exc.reason.value)
        return _sign_in_page(request, error=_SIGN_IN_REFUSED, status=401)
    caller = Caller(token_id=token.id, role=token.role, scope=token.scope)
    try:
        async with audited(request, caller, AuditAction.CONSOLE_SIGNED_IN):
            caller.require(*CONSOLE_LANDING)
    except OutOfReach:
        # Another role's token is refused in the same words as an unknown one: the page tells nothing.
        return _sign_in_page(request, error=_SIGN_IN_REFUSED, status=401)
    sealed = hub.keyring.encrypt(
        json.dumps({"token": secret, "signed_in_at": time.time()}), context=CONSOLE_SEAL_CONTEXT
    )
    next_path = _next_path(form.get("next"))
    if next_path == FRONT_DOOR:  # where the console's front door leads depends on the role
        next_path = CONSOLE_LANDING[token.role]
    signed_in = redirect(next_path or f"{CONSOLE_LANDING[token.role]}?done=signed_in")
    signed_in.set_cookie(
        CONSOLE_COOKIE,
        sealed,
        max_age=CONSOLE_SESSION_SECONDS_MAX,
        path="/console",
        httponly=True,
        samesite="Strict",
        secure=hub.settings.hub.base_url.startswith("https://"),
    )
    log.info("console_signed_in", token_id=token.id, role=token.role.value)
    raise signed_in


def _sign_in_page(request: web.Request, *, error: str | None, status: int = 200) -> web.Response:
    next_path = _next_path(request.query.get("next"))
    context = {"errors": {FORM_LEVEL: error} if error else {}, "next": next_path}
    return render_page(request, "console/login.html", context, audience=Audience.VISITOR, status=status)


def _next_path(text: str | None) -> str | None:
    """A console path to go on to after signing in; anything else is dropped."""
    if not text or len(text) > 200 or not text.startswith("/console") or "\\" in text:
        return None
    return text if all(character.isprintable() for character in text) else None


@routes.get("/console/logout")
async def sign_out_page(request: web.Request) -> web.Response:
    caller = await signed_in_console(request, *CONSOLE_LANDING)
    context = {"landing": CONSOLE_LANDING[caller.role]}
    return render_page(request, "console/logout.html", context, audience=CONSOLE_AUDIENCES[caller.role])


@routes.post("/console/logout")
async def sign_out(request: web.Request) -> web.Response:
    await read_form(request)
    caller = await _console_caller(request)
    if caller is not None:
        async with audited(request, caller, AuditAction.CONSOLE_SIGNED_OUT):
            pass
    signed_out = redirect(LOGIN_PATH)
    signed_out.del_cookie(CONSOLE_COOKIE, path="/console", httponly=True, samesite="Strict")
    raise signed_out


# ---------------------------------------------------------------- the vendors' health


@routes.get("/console")
async def dashboard(request: web.Request) -> web.Response:
    await signed_in_operator(request)
    hub = request.app[HUB]
    health = await hub.ingestion.health(hub.vendors.translators.keys(), hub.runs, hub.discrepancies)
    now = datetime.now(UTC)
    rows = [
        {
            "vendor": vendor.vendor,
            "configured": vendor.configured,
            "last_delivery_at": moment_text(request, vendor.deliveries.last_delivery_at),
            "last_pull_at": moment_text(request, vendor.last_pull_at),
            "lag": _lag(vendor.lag_seconds(now)),
            "stored": vendor.deliveries.stored,
            "refused": vendor.deliveries.refused,
            "held": vendor.deliveries.quarantined,
            "open_discrepancies": vendor.open_discrepancies,
        }
        for vendor in health
    ]
    span = span_of(request.query.get("span"))
    zone = hub.settings.hub.timezone
    charts = [
        vendor_charts(activity, span, zone, VENDOR_NAMES[activity.vendor], f"activity-{activity.vendor.value}")
        for activity in await hub.ingestion.activity(span, zone)
        if activity.vendor in hub.vendors.translators or not activity.idle
    ]
    context = {
        "rows": rows,
        "checked_at": moment_text(request, now),
        "span": span,
        "span_names": SPAN_NAMES,
        "charts": charts,
    }
    return _page(request, "console/dashboard.html", context)


def _lag(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes = int(seconds // 60)
    return f"{minutes // 60}小时{minutes % 60}分钟" if minutes >= 60 else f"{minutes}分钟"


# ---------------------------------------------------------------- reconciliation


@routes.get("/console/reconciliations")
async def reconciliations_page(request: web.Request) -> web.Response:
    await signed_in_operator(request)
    return await _reconciliations_page(request, values={}, errors={})


@routes.post("/console/reconciliations")
async def start_reconciliation(request: web.Request) -> web.Response:
    caller = await signed_in_operator(request)
    form = await read_form(request)
    values = {"vendor": form.get("vendor", ""), "year": form.get("year", "").strip()}
    document: dict[str, object] = {"vendor": values["vendor"], "year": _number(values["year"])}
    try:
        async with audited(request, caller, AuditAction.RECONCILIATION_STARTED) as note:
            run_request = parse_run_request(document)
            scope = run_request.scope
            note.details.update(
                vendor=run_request.vendor.value,
                first_day=scope.first_day.isoformat(),
                last_day=scope.last_day.isoformat(),
            )
            run = await request.app[HUB].reconciliations.start(run_request, f"operator:{caller.token_id}")
            note.target = Target(TargetKind.RECONCILIATION, str(run.id))
    except (LedgerError, AdapterError) as refusal:
        status, errors = _refusal(refusal)
        return await _reconciliations_page(request, values=values, errors=errors, status=status)
    raise redirect("/console/reconciliations?done=started")


async def _reconciliations_page(
    request: web.Request, *, values: Mapping[str, str], errors: Mapping[str, str], status: int = 200
) -> web.Response:
    hub = request.app[HUB]
    runs = await hub.reconciliations.recent_runs(RECENT_RUNS_MAX)
    context = {
        "runs": runs,
        "run_status_names": RUN_STATUS_NAMES,
        "kinds": KIND_NAMES,
        "moment": lambda moment: moment_text(request, moment),
        "vendors": [vendor for vendor in VENDORS if vendor in hub.vendors.translators],
        "values": {"year": str(datetime.now(hub.settings.hub.timezone).year), **values},
        "errors": errors,
    }
    return _page(request, "console/reconciliations.html", context, status)


@routes.get("/console/discrepancies")
async def discrepancies_page(request: web.Request) -> web.Response:
    await signed_in_operator(request)
    return await _discrepancies_page(request, errors={})


async def _discrepancies_page(request: web.Request, *, errors: Mapping[str, str], status: int = 200) -> web.Response:
    shown = DiscrepancyStatus.RESOLVED if request.query.get("status") == "resolved" else DiscrepancyStatus.OPEN
    parameters = [("status", shown.value)]
    cursor = request.query.get("cursor")
    if cursor:
        parameters.append(("cursor", cursor))
    try:
        query = parse_discrepancy_query(parameters)
    except LedgerError:
        raise PageRefused(404, "找不到该页面", "该页不存在，请从第一页重新浏览。") from None
    page = await request.app[HUB].reconciliations.discrepancies(query)
    next_url = (
        None
        if page.next_cursor is None
        else f"/console/discrepancies?{urlencode({'status': shown.value, 'cursor': page.next_cursor})}"
    )
    context = {
        "shown": shown.value,
        "items": page.items,
        "next_url": next_url,
        "first_url": f"/console/discrepancies?status={shown.value}" if cursor else None,
        "kinds": KIND_NAMES,
        "fitting": {kind: [action.value for action in actions] for kind, actions in FITTING_ACTIONS.items()},
        "action_names": ACTION_NAMES,
        "moment": lambda moment: moment_text(request, moment),
        "errors": errors,
    }
    return _page(request, "console/discrepancies.html", context, status)


@routes.post("/console/discrepancies/{discrepancy_id}/resolve")
async def resolve_discrepancy(request: web.Request) -> web.Response:
    caller = await signed_in_operator(request)
    form = await read_form(request)
    try:
        async with audited(request, caller, AuditAction.DISCREPANCY_RESOLVED) as note:
            discrepancy_id = _id(request.match_info["discrepancy_id"])
            note.target = Target(TargetKind.DISCREPANCY, str(discrepancy_id))
            reconciliations = request.app[HUB].reconciliations
            found = await reconciliations.discrepancy(discrepancy_id)
            action, reason = parse_resolution({"action": form.get("action", ""), "reason": form.get("reason", "")})
            note.details.update(vendor=found.vendor.value, kind=found.kind.value, action=action.value)
            resolved = await reconciliations.resolve(discrepancy_id, action, reason, f"operator:{caller.token_id}")
            note.details["entries"] = 0 if resolved.resolution is None else len(resolved.resolution.entry_seqs)
    except OutOfReach:
        raise PageRefused(404, "找不到该差异", "没有这个差异。") from None
    except (LedgerError, AdapterError) as refusal:
        status, errors = _refusal(refusal)
        return await _discrepancies_page(request, errors=errors, status=status)
    raise redirect("/console/discrepancies?status=resolved&done=resolved")


# ---------------------------------------------------------------- the held records


@routes.get("/console/quarantine")
async def quarantine_page(request: web.Request) -> web.Response:
    caller = await signed_in_operator(request)
    return await _quarantine_page(request, caller, errors={})


async def _quarantine_page(
    request: web.Request, caller: Caller, *, errors: Mapping[str, str], status: int = 200
) -> web.Response:
    cursor = request.query.get("cursor")
    parameters = [("cursor", cursor)] if cursor else []
    try:
        async with audited(request, caller, AuditAction.QUARANTINE_READ) as note:
            query = parse_quarantine_query(parameters)
            note.details.update(status=query.status.value, vendor=query.source, reason=query.reason)
            page = await request.app[HUB].quarantine.page(query)
    except AdapterError:
        raise PageRefused(404, "找不到该页面", "该页不存在，请从第一页重新浏览。") from None
    items = [
        {
            "id": item.held.id,
            "vendor": item.held.record.source,
            "reason": HOLD_REASON_NAMES.get(item.held.record.reason, item.held.record.reason),
            "record_id": mask_id_numbers_in(item.held.record.record_id),
            "detail": mask_id_numbers_in(item.held.record.detail),
            "received_at": moment_text(request, item.held.record.received_at),
            "view": dict(item.view),
        }
        for item in page.items
    ]
    context = {
        "items": items,
        "next_url": None
        if page.next_cursor is None
        else f"/console/quarantine?{urlencode({'cursor': page.next_cursor})}",
        "first_url": "/console/quarantine" if cursor else None,
        "errors": errors,
    }
    return _page(request, "console/quarantine.html", context, status)


@routes.post("/console/quarantine/{held_id}/release")
async def release_held_record(request: web.Request) -> web.Response:
    return await _decide(request, AuditAction.HELD_RECORD_RELEASED)


@routes.post("/console/quarantine/{held_id}/reject")
async def reject_held_record(request: web.Request) -> web.Response:
    return await _decide(request, AuditAction.HELD_RECORD_REJECTED)


async def _decide(request: web.Request, action: AuditAction) -> web.Response:
    caller = await signed_in_operator(request)
    form = await read_form(request)
    actor = f"{caller.role.value}:token:{caller.token_id}"
    quarantine = request.app[HUB].quarantine
    reason_text = form.get("reason", "").strip()
    try:
        async with audited(request, caller, action) as note:
            held_id = HeldId(_id(request.match_info["held_id"]))
            note.target = Target(TargetKind.HELD_RECORD, str(held_id))
            if action is AuditAction.HELD_RECORD_RELEASED:
                reason = parse_decision({"reason": reason_text} if reason_text else {}, reason_required=False)
                item, outcome = await quarantine.release(held_id, actor=actor, reason=reason)
                note.details.update(vendor=item.held.record.source.value, outcome=outcome.kind.value)
                done = "released"
            else:
                reason = parse_decision({"reason": reason_text}, reason_required=True)
                item = await quarantine.reject(held_id, actor=actor, reason=str(reason))
                note.details["vendor"] = item.held.record.source.value
                done = "rejected"
    except OutOfReach:
        raise PageRefused(404, "找不到该记录", "没有这条暂存记录。") from None
    except (LedgerError, AdapterError) as refusal:
        status, errors = _refusal(refusal)
        return await _quarantine_page(request, caller, errors=errors, status=status)
    raise redirect(f"/console/quarantine?done={done}")


# ---------------------------------------------------------------- shared


def _refusal(error: Exception) -> tuple[int, dict[str, str]]:
    """The API's status for an expected error, and what the page says of it, by field."""
    status = next((status for kind, status in STATUS_BY_ERROR if isinstance(error, kind)), 400)
    faults: tuple[FieldError, ...] = tuple(getattr(error, "errors", ()))
    if faults:
        return status, {fault.field: FIELD_FAULTS.get(fault.field, FIELD_FAULTS["body"]) for fault in faults}
    code = str(getattr(error, "code", "error"))
    return status, {FORM_LEVEL: REFUSALS.get(code, f"操作未能完成（{code}），请稍后重试。")}


def _id(text: str) -> int:
    """A path's numeric id. Raises ``OutOfReach`` (answered 404) for anything else."""
    found = row_id(text)
    if found is None:
        raise OutOfReach
    return found


def _number(text: str) -> object:
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 4 else text


def moment_text(request: web.Request, moment: datetime | None) -> str:
    """An instant as the console shows it: to the minute, in the hub's time zone; "—" for none."""
    if moment is None:
        return "—"
    return moment.astimezone(request.app[HUB].settings.hub.timezone).strftime("%Y-%m-%d %H:%M")


# ---------------------------------------------------------------- the OpenAPI description

_NOT_OPERATOR: Final = "A member of staff, or a console session of another role: the not-found page"


openapi_paths: dict[str, object] = {
    "/console/login": {
        "get": html_page_operation("The console's sign-in page", "consoleSignInPage", _200="The form"),
        "post": html_page_operation(
            "Sign in with an operator's, a supervisor's or an auditor's bearer token (a form); sets the console cookie",
            "consoleSignInForm",
            _303="Signed in: on to next, or to the role's first page (/console, /console/compliance, /console/exports)",
            _401="A token the hub does not accept (unknown, expired or revoked): the form again",
            _403=PAGE_FORM_REFUSED,
            _422="No token: the form again",
        ),
    },
    "/console/logout": {
        "get": html_page_operation(
            "Ask before signing out", "consoleSignOutPage", _200="The form", _303=CONSOLE_SIGN_IN_FIRST
        ),
        "post": html_page_operation(
            "Sign out (a form)", "consoleSignOutForm", _303="To the sign-in page", _403=PAGE_FORM_REFUSED
        ),
    },
    "/console": {
        "get": html_page_operation(
            "The vendors' health, and their deliveries, refusals and lag over ?span=day|week|month",
            "consoleDashboard",
            _200="The page",
            _303=CONSOLE_SIGN_IN_FIRST,
            _404=_NOT_OPERATOR,
        )
    },
    "/console/reconciliations": {
        "get": html_page_operation(
            "The latest runs and the form to start one",
            "consoleReconciliations",
            _200="The page",
            _303=CONSOLE_SIGN_IN_FIRST,
            _404=_NOT_OPERATOR,
        ),
        "post": html_page_operation(
            "Start a run (a form)",
            "consoleStartReconciliation",
            _303="Started: to the list of runs",
            _403=PAGE_FORM_REFUSED,
            _409="A run of the vendor is under way: the page with the error",
            _422="Fields at fault: the page with the errors",
        ),
    },
    "/console/discrepancies": {
        "get": html_page_operation(
            "The open (or ?status=resolved) discrepancies, paged (?cursor=…)",
            "consoleDiscrepancies",
            _200="The page",
            _303=CONSOLE_SIGN_IN_FIRST,
            _404=_NOT_OPERATOR,
        )
    },
    "/console/discrepancies/{discrepancy_id}/resolve": {
        "post": html_page_operation(
            "Resolve a discrepancy (a form: action and reason)",
            "consoleResolveDiscrepancy",
            _303="Resolved: to the resolved discrepancies",
            _403=PAGE_FORM_REFUSED,
            _404="No such discrepancy",
            _409="Resolved already, or the ledger moved on: the page with the error",
            _422="An action that does not fit, or no reason: the page with the errors",
        )
    },
    "/console/quarantine": {
        "get": html_page_operation(
            "The held records, paged (?cursor=…)",
            "consoleQuarantine",
            _200="The page",
            _303=CONSOLE_SIGN_IN_FIRST,
            _404=_NOT_OPERATOR,
        )
    },
    "/console/quarantine/{held_id}/release": {
        "post": html_page_operation(
            "Release a held record into the ledger (a form, reason optional)",
            "consoleReleaseHeldRecord",
            _303="Released: to the held records",
            _403=PAGE_FORM_REFUSED,
            _404="No such record",
            _409="Decided already: the page with the error",
            _422="The learner is still unknown or the record unreadable: the page with the error",
        )
    },
    "/console/quarantine/{held_id}/reject": {
        "post": html_page_operation(
            "Reject a held record (a form, reason required)",
            "consoleRejectHeldRecord",
            _303="Rejected: to the held records",
            _403=PAGE_FORM_REFUSED,
            _404="No such record",
            _409="Decided already: the page with the error",
            _422="No reason: the page with the error",
        )
    },
}
