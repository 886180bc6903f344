"""The staff's pages, following the user manual's journey: register (the unit picked region by region),
log in by ID number, the personal centre (account, profile, password, the vendors' entries, the
year's hours, the unread messages), log out, and a forgotten password (a one-time link from the
unit's operator). The year's training and certificates are in ``training``, messages and feedback
in ``messages``.

Each handler reads and checks its form (``gateway.pages.forms``), calls the same services as the API,
and answers a page (``gateway.pages.rendering``) or a 303 to the next one. A form with faults comes
back with every field at fault marked and explained beside it, with what was typed (never a password)
kept. Nothing here logs an ID number, a phone number, an e-mail address, a password or a token.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Final

import structlog
from aiohttp import hdrs, web
from multidict import MultiDictProxy

from gateway.keys import HUB
from gateway.openapi import PAGE_FORM_REFUSED, PAGE_SIGN_IN_FIRST, html_page_operation
from gateway.pages.forms import FORM_LEVEL, LABELS, field_messages, read_form
from gateway.pages.paging import page_number, paged
from gateway.pages.rendering import (
    Audience,
    PageRefused,
    local_time,
    redirect,
    render_page,
    signed_in_or_sent_to_login,
    staff_member,
)
from gateway.pages.training import default_year, summary
from gateway.sessions import SESSION_CHALLENGE, clear_session_cookie, session_token_of, set_session_cookie
from ledger.errors import FieldError
from sso.access.errors import ResetLinkInvalid
from sso.errors import UnknownOrganisationCode
from sso.id_numbers import BEIJING
from sso.messages.model import MessageQuery
from sso.people.errors import AuthenticationFailed, IdNumberTaken, InvalidPersonData, LoginLocked
from sso.people.model import (
    ETHNICITY_CHOICES,
    PROFILE_FIELDS,
    REGISTRATION_FIELDS,
    Education,
    Gender,
    Person,
    check_new_password,
    parse_registration,
)
from sso.units.model import UnitKind

__all__ = ["openapi_paths", "routes"]

CODE_CHARACTERS_MAX: Final = 40
NEXT_CHARACTERS_MAX: Final = 200
INSTITUTIONS_PER_PAGE: Final = 30
PASSWORDS: Final = frozenset({"password", "password_confirm", "old_password", "new_password", "new_password_confirm"})
DONE: Final[Mapping[str, str]] = {
    "registered": "注册成功，请使用身份证号和密码登录。",
    "logout": "您已安全退出。",
    "reset": "新密码已设置，请使用新密码登录。",
    "profile": "个人信息已保存。",
    "password": "密码已修改；您在其他设备上的登录已失效。",
}
"""The notices a page shows after a step succeeded (``?done=…``): fixed texts, never the query's own."""
PROFILE_ORDER: Final = (
    *("name", "gender", "ethnicity", "phone", "email", "native_place", "education", "major", "school"),
    *("graduated_on", "title", "title_since"),
)
REGISTRATION_ORDER: Final = ("id_number", "password", "password_confirm", *PROFILE_ORDER)

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()


@routes.get("/")
async def home(request: web.Request) -> web.StreamResponse:
    raise redirect("/me" if await staff_member(request) is not None else "/login")


# ---------------------------------------------------------------- logging in and out


@routes.get("/login")
async def login_page(request: web.Request) -> web.Response:
    next_path = _local_path(request.query.get("next"))
    if await staff_member(request) is not None:
        raise redirect(next_path or "/me")
    return _login_page(request, values={}, errors={}, next_path=next_path)


@routes.post("/login")
async def log_in(request: web.Request) -> web.Response:
    form = await read_form(request)
    id_number, password = form.get("id_number", "").strip(), form.get("password", "")
    next_path = _local_path(form.get("next"))
    values = {"id_number": id_number}
    errors = {
        name: f"请填写{LABELS[name]}" for name, value in (("id_number", id_number), ("password", password)) if not value
    }
    if errors:
        return _login_page(request, values=values, errors=errors, next_path=next_path, status=422)
    people = request.app[HUB].people
    try:
        person_id = await people.authenticate(id_number, password)
    except AuthenticationFailed:
        log.info("login_failed")
        refused = {FORM_LEVEL: "身份证号或密码不正确。"}
        headers = {str(hdrs.WWW_AUTHENTICATE): SESSION_CHALLENGE}
        return _login_page(request, values=values, errors=refused, next_path=next_path, status=401, headers=headers)
    except LoginLocked as exc:
        log.info("login_locked", retry_after_seconds=exc.retry_after_seconds)
        minutes = math.ceil(exc.retry_after_seconds / 60)
        locked = {
            FORM_LEVEL: f"登录失败次数过多，为保护您的账号，请在{minutes}分钟后再试。忘记密码请联系本单位管理员。"
        }
        headers = {str(hdrs.RETRY_AFTER): str(exc.retry_after_seconds)}
        return _login_page(request, values=values, errors=locked, next_path=next_path, status=429, headers=headers)
    previous = session_token_of(request)
    if previous is not None:
        await people.close_session(previous)
    signed_in = redirect(next_path or "/me")
    set_session_cookie(signed_in, await people.open_session(person_id), request.app[HUB].settings)
    log.info("login_succeeded", person_id=person_id)
    raise signed_in


def _login_page(
    request: web.Request,
    *,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    next_path: str | None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    context = {"values": values, "errors": errors, "next": next_path, "done": _done(request)}
    return render_page(request, "staff/login.html", context, audience=Audience.VISITOR, status=status, headers=headers)


@routes.get("/logout")
async def logout_page(request: web.Request) -> web.Response:
    await signed_in_or_sent_to_login(request)
    return render_page(request, "staff/logout.html", {}, audience=Audience.STAFF)


@routes.post("/logout")
async def log_out(request: web.Request) -> web.Response:
    await read_form(request)
    token = session_token_of(request)
    if token is not None:
        await request.app[HUB].people.close_session(token)
    signed_out = redirect("/login?done=logout")
    clear_session_cookie(signed_out, request.app[HUB].settings)
    raise signed_out


def _local_path(text: str | None) -> str | None:
    """A path of the hub to go on to after logging in; anything that could lead elsewhere is dropped."""
    if not text or len(text) > NEXT_CHARACTERS_MAX or not text.startswith("/") or text.startswith("//"):
        return None
    if "\\" in text or any(not character.isprintable() for character in text):
        return None
    return text


def _done(request: web.Request) -> str | None:
    return DONE.get(request.query.get("done", ""))


# ---------------------------------------------------------------- registration


@routes.get("/register/unit")
async def pick_unit(request: web.Request) -> web.Response:
    region = request.query.get("region") or None
    unknown = PageRefused(404, "找不到该地区", "没有这个地区，请从上一级重新选择。")
    if region is not None and len(region) > CODE_CHARACTERS_MAX:
        raise unknown
    organisation = request.app[HUB].organisation
    try:
        units = await organisation.units(region)
        trail = () if region is None else await organisation.region_path(region)
    except UnknownOrganisationCode:
        raise unknown from None
    institutions = [unit for unit in units if unit.kind is UnitKind.INSTITUTION]
    context = {
        "trail": trail,
        "regions": [unit for unit in units if unit.kind is UnitKind.REGION],
        "institutions": paged(
            institutions, page_number(request.query), size=INSTITUTIONS_PER_PAGE, path=request.path, query=request.query
        ),
    }
    return render_page(request, "staff/register_unit.html", context, audience=Audience.VISITOR)


@routes.get("/register")
async def registration_page(request: web.Request) -> web.Response:
    code = request.query.get("unit", "")
    unit = await _institution(request, code)
    if unit is None:
        raise redirect("/register/unit")
    return _registration_page(request, unit=unit, values={"unit_code": code}, errors={})


@routes.post("/register")
async def register(request: web.Request) -> web.Response:
    form = await read_form(request)
    values = _values(form, (*REGISTRATION_ORDER, "unit_code"))
    registration: dict[str, object] = {name: values[name] for name in REGISTRATION_FIELDS}
    faults: list[FieldError] = []
    status = 422
    try:
        if values["password_confirm"] != values["password"]:
            faults.append(FieldError("password_confirm", "must equal password"))
            # Nothing is stored, but every other field at fault is named at once.
            parse_registration(registration, today=datetime.now(BEIJING).date())
        else:
            person_id = await request.app[HUB].people.register(registration)
            log.info("person_registered", person_id=person_id)
            raise redirect("/login?done=registered")
    except InvalidPersonData as exc:
        faults.extend(exc.errors)
    except IdNumberTaken:
        status = 409
    errors = field_messages(faults, values)
    if status == 409:
        errors["id_number"] = "该身份证号已注册。请直接登录；忘记密码请联系本单位管理员。"
    unit = await _institution(request, values["unit_code"])
    if unit is None:
        errors.setdefault("unit_code", "请重新选择您所在的单位")
    return _registration_page(request, unit=unit, values=values, errors=errors, status=status)


def _registration_page(
    request: web.Request,
    *,
    unit: tuple[str, str] | None,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    status: int = 200,
) -> web.Response:
    context = {**_choices(), "unit": unit, "values": _without_passwords(values), "errors": errors}
    return render_page(request, "staff/register.html", context, audience=Audience.VISITOR, status=status)


async def _institution(request: web.Request, code: str) -> tuple[str, str] | None:
    """The code and name of the institution with this code, or ``None``."""
    if not 0 < len(code) <= CODE_CHARACTERS_MAX:
        return None
    try:
        institution = await request.app[HUB].organisation.institution(code)
    except UnknownOrganisationCode:
        return None
    return institution.code, institution.name


# ---------------------------------------------------------------- a forgotten password


@routes.get("/password-forgotten")
async def password_forgotten(request: web.Request) -> web.Response:
    return render_page(request, "staff/password_forgotten.html", {}, audience=Audience.VISITOR)


@routes.get("/password-reset")
async def password_reset_page(request: web.Request) -> web.Response:
    context: dict[str, object] = {"values": {}, "errors": {}}
    return render_page(request, "staff/password_reset.html", context, audience=Audience.VISITOR)


@routes.post("/password-reset")
async def reset_password(request: web.Request) -> web.Response:
    form = await read_form(request)
    values = _values(form, ("token", "new_password", "new_password_confirm"))
    hub = request.app[HUB]
    _checked, faults = check_new_password(values["new_password"])
    if values["new_password_confirm"] != values["new_password"]:
        faults.append(FieldError("new_password_confirm", "must equal new_password"))
    if not values["token"]:
        faults.insert(0, FieldError("token", "is required"))
    if not faults:
        try:
            person_id = await hub.access.reset_links.use(values["token"])
        except ResetLinkInvalid:
            invalid = {"token": "该重置链接无效、已使用或已过期。请联系本单位管理员重新生成。"}
            context = {"values": {}, "errors": invalid}
            return render_page(request, "staff/password_reset.html", context, audience=Audience.VISITOR, status=410)
        await hub.people.set_password(person_id, values["new_password"])
        log.info("password_reset_used", person_id=person_id)
        raise redirect("/login?done=reset")
    # The token comes back with the form, since the link's address is gone: a mistyped password costs no new link.
    context = {"values": {"token": values["token"]}, "errors": field_messages(faults, values)}
    return render_page(request, "staff/password_reset.html", context, audience=Audience.VISITOR, status=422)


# ---------------------------------------------------------------- the personal centre


@routes.get("/me")
async def personal_centre(request: web.Request) -> web.Response:
    person_id = await signed_in_or_sent_to_login(request)
    hub = request.app[HUB]
    person = await hub.people.get(person_id)
    consented = {consent.vendor for consent in await hub.handoff.consents(person_id)}
    year = default_year(request)
    unread = (await hub.messages.page(person_id, MessageQuery(limit=1))).unread
    context = {
        "person": await _account(request, person),
        "vendors": [
            {"code": vendor.value, "name": link.name, "consented": vendor in consented}
            for vendor, link in hub.handoff.config.vendors.items()
        ],
        "year": year,
        "summary": await summary(request, person_id, year),
        "unread": unread,
        "done": _done(request),
    }
    return render_page(request, "staff/me.html", context, audience=Audience.STAFF)


async def _account(request: web.Request, person: Person) -> dict[str, str]:
    try:
        unit = (await request.app[HUB].organisation.institution(person.unit_code)).name
    except UnknownOrganisationCode:
        unit = person.unit_code  # an institution since removed from the organisation keeps its code
    return {
        "name": person.name,
        "id_number": person.masked_id_number,
        "gender": person.gender.value,
        "ethnicity": person.ethnicity or "",
        "phone": person.phone,
        "email": person.email,
        "native_place": person.native_place,
        "education": person.education.value,
        "major": person.major,
        "school": person.school,
        "graduated_on": person.graduated_on.isoformat(),
        "unit": unit,
        "title": person.title,
        "title_since": "" if person.title_since is None else person.title_since.isoformat(),
        "created_at": local_time(request, person.created_at),
    }


@routes.get("/me/profile")
async def profile_page(request: web.Request) -> web.Response:
    person = await request.app[HUB].people.get(await signed_in_or_sent_to_login(request))
    values = {name: value for name, value in (await _account(request, person)).items() if name in PROFILE_FIELDS}
    return _profile_page(request, values=values, errors={})


@routes.post("/me/profile")
async def change_profile(request: web.Request) -> web.Response:
    person_id = await signed_in_or_sent_to_login(request)
    form = await read_form(request)
    values = _values(form, PROFILE_ORDER)
    try:
        await request.app[HUB].people.update_profile(person_id, dict(values))
    except InvalidPersonData as exc:
        return _profile_page(request, values=values, errors=field_messages(exc.errors, values), status=422)
    log.info("profile_changed", person_id=person_id)
    raise redirect("/me?done=profile")


def _profile_page(
    request: web.Request, *, values: Mapping[str, str], errors: Mapping[str, str], status: int = 200
) -> web.Response:
    context = {**_choices(), "values": values, "errors": errors}
    return render_page(request, "staff/profile.html", context, audience=Audience.STAFF, status=status)


@routes.get("/me/password")
async def password_page(request: web.Request) -> web.Response:
    await signed_in_or_sent_to_login(request)
    return render_page(request, "staff/password.html", {"errors": {}}, audience=Audience.STAFF)


@routes.post("/me/password")
async def change_password(request: web.Request) -> web.Response:
    person_id = await signed_in_or_sent_to_login(request)
    form = await read_form(request)
    values = _values(form, ("old_password", "new_password", "new_password_confirm"))
    try:
        await request.app[HUB].people.change_password(person_id, values, keep_session=session_token_of(request))
    except InvalidPersonData as exc:
        context = {"errors": field_messages(exc.errors, values)}
        return render_page(request, "staff/password.html", context, audience=Audience.STAFF, status=422)
    log.info("password_changed", person_id=person_id)
    raise redirect("/me?done=password")


# ---------------------------------------------------------------- shared


def _values(form: MultiDictProxy[str], names: tuple[str, ...]) -> dict[str, str]:
    """The named fields as typed (blank when absent); trimmed, but for passwords."""
    return {name: form.get(name, "") if name in PASSWORDS else form.get(name, "").strip() for name in names}


def _without_passwords(values: Mapping[str, str]) -> dict[str, str]:
    return {name: value for name, value in values.items() if name not in PASSWORDS}


def _choices() -> dict[str, object]:
    return {
        "labels": LABELS,
        "genders": [member.value for member in Gender],
        "ethnicities": ETHNICITY_CHOICES,
        "educations": [member.value for member in Education],
    }


# ---------------------------------------------------------------- the OpenAPI description

openapi_paths: dict[str, object] = {
    "/": {"get": html_page_operation("The personal centre, or the login page", "homePage", _303="To /me or /login")},
    "/login": {
        "get": html_page_operation(
            "The login page", "loginPage", _200="The form", _303="Already signed in: on to next or /me"
        ),
        "post": html_page_operation(
            "Log in by ID number and password (a form); sets the session cookie",
            "loginForm",
            _303="Signed in: on to next or /me",
            _401="A wrong ID number or password, alike: the form again",
            _403=PAGE_FORM_REFUSED,
            _422="A field left blank: the form with its errors",
            _429="Locked after five failures; Retry-After gives the seconds to wait",
        ),
    },
    "/logout": {
        "get": html_page_operation("Ask before logging out", "logoutPage", _200="The form", _303=PAGE_SIGN_IN_FIRST),
        "post": html_page_operation("Log out (a form)", "logoutForm", _303="To the login page", _403=PAGE_FORM_REFUSED),
    },
    "/register/unit": {
        "get": html_page_operation(
            "Registration, step one: pick the unit region by region (?region=CODE, ?page=N)",
            "registrationUnitPage",
            _200="The regions and institutions under the region",
            _404="No region has this code",
        )
    },
    "/register": {
        "get": html_page_operation(
            "Registration, step two: the form for the unit picked (?unit=CODE)",
            "registrationPage",
            _200="The form",
            _303="No institution picked: to step one",
        ),
        "post": html_page_operation(
            "Register (a form)",
            "registrationForm",
            _303="Registered: to the login page",
            _403=PAGE_FORM_REFUSED,
            _409="The ID number is already registered: the form with the error",
            _422="Fields at fault: the form with every error beside its field",
        ),
    },
    "/password-forgotten": {
        "get": html_page_operation("What to do about a forgotten password", "passwordForgottenPage", _200="The page")
    },
    "/password-reset": {
        "get": html_page_operation(
            "Set a new password with a reset link's token (#token=…)", "passwordResetPage", _200="The form"
        ),
        "post": html_page_operation(
            "Set a new password (a form)",
            "passwordResetForm",
            _303="Set: to the login page",
            _403=PAGE_FORM_REFUSED,
            _410="The link is unknown, used or expired",
            _422="Fields at fault: the form with every error beside its field",
        ),
    },
    "/me": {
        "get": html_page_operation(
            "The personal centre", "personalCentrePage", _200="The page", _303=PAGE_SIGN_IN_FIRST
        )
    },
    "/me/profile": {
        "get": html_page_operation("Change the profile", "profilePage", _200="The form", _303=PAGE_SIGN_IN_FIRST),
        "post": html_page_operation(
            "Change the profile (a form)",
            "profileForm",
            _303="Saved, or not signed in",
            _403=PAGE_FORM_REFUSED,
            _422="Fields at fault: the form with every error beside its field",
        ),
    },
    "/me/password": {
        "get": html_page_operation("Change the password", "passwordPage", _200="The form", _303=PAGE_SIGN_IN_FIRST),
        "post": html_page_operation(
            "Change the password (a form); the person's other sessions end",
            "passwordForm",
            _303="Changed, or not signed in",
            _403=PAGE_FORM_REFUSED,
            _422="Fields at fault: the form with every error beside its field",
        ),
    },
}
