"""The console's one-time password-reset links: an operator finds a person by their ID number and
issues a link, shown once on the answer to the form and nowhere else.

Staff who forgot their password are told to ask their unit's operator. The operator types the
person's ID number into a form (posted, so it never stands in a URL or an access log); the hub finds
the person through the same blind index as every lookup (``People.find_by_id_number``) and shows
them masked. Issuing is the API's ``POST /api/v1/people/{id}/password-reset``: the same service,
rules and audit entry. The link is in the page alone: never logged, never audited, never kept (only
its digest is stored), and the page is not cached.
"""

from __future__ import annotations

from typing import Final

from aiohttp import web

from gateway.bearer import AuditNote, audited
from gateway.keys import HUB
from gateway.openapi import HTML_CONTENT, PAGE_FORM_REFUSED
from gateway.pages.console import moment_text, signed_in_operator
from gateway.pages.forms import read_form
from gateway.pages.rendering import Audience, PageRefused, render_page
from gateway.routes.operators import person_in_reach
from sso.access.errors import OutOfReach
from sso.access.model import AuditAction, Target
from sso.errors import InvalidIdNumber
from sso.id_numbers import normalise_id_number
from sso.people.model import Person

__all__ = ["openapi_paths", "routes"]

PAGE: Final = "console/password_reset.html"
ID_NUMBER_CHARACTERS_MAX: Final = 40
INVALID_ID_NUMBER: Final = "请填写有效的18位居民身份证号码（最后一位可以是X）"
UNKNOWN_PERSON: Final = "没有使用该身份证号注册的人员，请核对后重试。"

routes = web.RouteTableDef()


@routes.get("/console/password-reset")
async def password_reset_page(request: web.Request) -> web.Response:
    await signed_in_operator(request)
    return _page(request, {})


@routes.post("/console/password-reset")
async def find_person(request: web.Request) -> web.Response:
    caller = await signed_in_operator(request)
    form = await read_form(request)
    typed = form.get("id_number", "")[:ID_NUMBER_CHARACTERS_MAX]
    try:
        normalise_id_number(typed)
    except InvalidIdNumber:
        return _page(request, {"errors": {"id_number": INVALID_ID_NUMBER}, "values": {"id_number": typed}}, 422)
    try:
        async with audited(request, caller, AuditAction.PERSON_READ) as note:
            person = await _registered(request, typed, note)
    except OutOfReach:
        return _page(request, {"errors": {"id_number": UNKNOWN_PERSON}, "values": {"id_number": typed}}, 404)
    return _page(request, {"person": await _person_view(request, person)})


@routes.post("/console/people/{person_id}/password-reset")
async def issue_link(request: web.Request) -> web.Response:
    caller = await signed_in_operator(request)
    await read_form(request)
    hub = request.app[HUB]
    try:
        async with audited(request, caller, AuditAction.PASSWORD_RESET_ISSUED) as note:
            person = await person_in_reach(request, caller, note)
            issued = await hub.access.reset_links.issue(person.id, issued_by=caller.token_id)
    except OutOfReach:
        raise PageRefused(404, "找不到该人员", "没有这个人员。") from None
    link = {
        "url": f"{hub.settings.hub.base_url}/password-reset#token={issued.secret}",
        "expires_at": moment_text(request, issued.expires_at),
    }
    return _page(request, {"person": await _person_view(request, person), "link": link})


async def _registered(request: web.Request, id_number: str, note: AuditNote) -> Person:
    """The person registered with this ID number, found through its blind index. Raises ``OutOfReach``."""
    people = request.app[HUB].people
    person_id = await people.find_by_id_number(id_number)
    if person_id is None:
        note.details["reason"] = "unknown_person"
        raise OutOfReach
    note.target = Target.person(person_id)
    return await people.get(person_id)


def _page(request: web.Request, context: dict[str, object], status: int = 200) -> web.Response:
    full = {"errors": {}, "values": {}, "person": None, "link": None, **context}
    return render_page(request, PAGE, full, audience=Audience.OPERATOR, status=status)


async def _person_view(request: web.Request, person: Person) -> dict[str, object]:
    unit = await request.app[HUB].organisation.institution(person.unit_code)
    return {
        "id": person.id,
        "name": person.name,
        "id_number_masked": person.masked_id_number,
        "unit": unit.name,
        "active": person.active,
    }


# ---------------------------------------------------------------- the OpenAPI description


def _answer(text: str) -> dict[str, object]:
    return {"description": text, "content": HTML_CONTENT}


openapi_paths: dict[str, object] = {
    "/console/password-reset": {
        "get": {
            "summary": "The form to find a person by ID number, for a one-time password-reset link",
            "operationId": "consolePasswordResetPage",
            "responses": {
                "200": _answer("The form"),
                "303": {"description": "No console session: to the sign-in page"},
                "404": _answer("Staff, or a session of another role"),
            },
        },
        "post": {
            "summary": "Find a person by ID number (a form): the person, masked, with the form to issue a link",
            "operationId": "consolePasswordResetFind",
            "responses": {
                "200": _answer("The person found"),
                "403": _answer(PAGE_FORM_REFUSED),
                "404": _answer("Nobody registered with that ID number: the form with the error"),
                "422": _answer("No valid ID number: the form with the error"),
            },
        },
    },
    "/console/people/{person_id}/password-reset": {
        "post": {
            "summary": "Issue a one-time password-reset link (a form): the page shows it once",
            "operationId": "consolePasswordResetIssue",
            "responses": {
                "200": _answer("The link, shown this once"),
                "403": _answer(PAGE_FORM_REFUSED),
                "404": _answer("No such person"),
            },
        }
    },
}
