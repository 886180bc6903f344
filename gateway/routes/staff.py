"""Staff: the units picker, registration, login and logout, and the person's own profile.

The routes read and limit the request, hand it to the people service, and shape the answer. The
ID number is shown unmasked only in ``/api/v1/me``, to the person themselves; nothing here logs
an ID number, a phone number, an e-mail address, a password or a session token.
"""

from __future__ import annotations

from typing import Final

import structlog
from aiohttp import hdrs, web

from gateway.bodies import json_object
from gateway.keys import HUB
from gateway.openapi import SecurityScheme, problem_answer, unauthenticated
from gateway.problems import problem
from gateway.sessions import (
    SESSION_CHALLENGE,
    clear_session_cookie,
    session_token_of,
    set_session_cookie,
    signed_in_person,
)
from ledger.errors import FieldError
from sso.errors import UnknownOrganisationCode
from sso.people.errors import AuthenticationFailed, InvalidPersonData, LoginLocked
from sso.people.model import (
    ETHNICITIES,
    NAME_CHARACTERS_MAX,
    NAME_CHARACTERS_MIN,
    PASSWORD_CHARACTERS_MAX,
    PASSWORD_CHARACTERS_MIN,
    Education,
    Gender,
    Person,
)

FORM_BODY_BYTES_MAX: Final = 16 * 1024
UNIT_CODE_CHARACTERS_MAX: Final = 40
NO_STORE: Final = {hdrs.CACHE_CONTROL: "no-store"}

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()


@routes.get("/api/v1/units")
async def units(request: web.Request) -> web.Response:
    parent = request.query.get("parent")
    # Control characters are no code's, and PostgreSQL refuses a NUL in any text it is sent.
    if parent is not None and not (0 < len(parent) <= UNIT_CODE_CHARACTERS_MAX and parent.isprintable()):
        message = f"must be a code of 1 to {UNIT_CODE_CHARACTERS_MAX} printable characters"
        return problem(
            422,
            code="invalid_query",
            title="Invalid query",
            detail=f"parent: {message}",
            errors=[FieldError("parent", message)],
        )
    try:
        found = await request.app[HUB].organisation.units(parent)
    except UnknownOrganisationCode as exc:
        return problem(404, code=exc.code, title="Unknown region", detail="there is no region with this code")
    return web.json_response(
        [
            {"code": unit.code, "name": unit.name, "kind": unit.kind.value, "has_children": unit.has_children}
            for unit in found
        ]
    )


@routes.post("/api/v1/register")
async def register(request: web.Request) -> web.Response:
    form = await json_object(request, FORM_BODY_BYTES_MAX, InvalidPersonData)
    person_id = await request.app[HUB].people.register(form)
    log.info("person_registered", person_id=person_id)
    return web.json_response({"id": person_id}, status=201)


@routes.post("/api/v1/login")
async def login(request: web.Request) -> web.Response:
    form = await json_object(request, FORM_BODY_BYTES_MAX, InvalidPersonData)
    id_number, password = form.get("id_number"), form.get("password")
    errors = [
        FieldError(name, "is required text")
        for name in ("id_number", "password")
        if not isinstance(form.get(name), str)
    ]
    if errors or not isinstance(id_number, str) or not isinstance(password, str):
        raise InvalidPersonData(errors)
    people = request.app[HUB].people
    try:
        person_id = await people.authenticate(id_number, password)
    except AuthenticationFailed as exc:
        log.info("login_failed")
        return problem(
            401, code=exc.code, title=exc.title, detail=exc.detail, headers={hdrs.WWW_AUTHENTICATE: SESSION_CHALLENGE}
        )
    except LoginLocked as exc:
        log.info("login_locked", retry_after_seconds=exc.retry_after_seconds)
        return problem(
            429,
            code=exc.code,
            title=exc.title,
            detail=exc.detail,
            headers={hdrs.RETRY_AFTER: str(exc.retry_after_seconds)},
        )
    previous = session_token_of(request)
    if previous is not None:
        await people.close_session(previous)
    response = web.json_response({"id": person_id}, headers=NO_STORE)
    set_session_cookie(response, await people.open_session(person_id), request.app[HUB].settings)
    log.info("login_succeeded", person_id=person_id)
    return response


@routes.post("/api/v1/logout")
async def logout(request: web.Request) -> web.Response:
    token = session_token_of(request)
    if token is not None:
        await request.app[HUB].people.close_session(token)
    response = web.Response(status=204)
    clear_session_cookie(response, request.app[HUB].settings)
    return response


@routes.get("/api/v1/me")
async def me(request: web.Request) -> web.Response:
    person_id = await signed_in_person(request)
    person = await request.app[HUB].people.get(person_id)
    return web.json_response(await _own_document(request, person), headers=NO_STORE)


@routes.patch("/api/v1/me")
async def change_me(request: web.Request) -> web.Response:
    person_id = await signed_in_person(request)
    form = await json_object(request, FORM_BODY_BYTES_MAX, InvalidPersonData)
    person = await request.app[HUB].people.update_profile(person_id, form)
    log.info("profile_changed", person_id=person_id, fields=sorted(form))
    return web.json_response(await _own_document(request, person), headers=NO_STORE)


@routes.post("/api/v1/me/password")
async def change_password(request: web.Request) -> web.Response:
    person_id = await signed_in_person(request)
    form = await json_object(request, FORM_BODY_BYTES_MAX, InvalidPersonData)
    await request.app[HUB].people.change_password(person_id, form, keep_session=session_token_of(request))
    log.info("password_changed", person_id=person_id)
    return web.Response(status=204)


async def _own_document(request: web.Request, person: Person) -> dict[str, object]:
    unit = await request.app[HUB].organisation.institution(person.unit_code)
    return {
        "id": person.id,
        "name": person.name,
        "id_number": person.id_number,
        "gender": person.gender.value,
        "ethnicity": person.ethnicity,
        "phone": person.phone,
        "email": person.email,
        "native_place": person.native_place,
        "education": person.education.value,
        "major": person.major,
        "school": person.school,
        "graduated_on": person.graduated_on.isoformat(),
        "unit_code": person.unit_code,
        "unit_name": unit.name,
        "title": person.title,
        "title_since": None if person.title_since is None else person.title_since.isoformat(),
        "created_at": person.created_at.isoformat(),
    }


# ---------------------------------------------------------------- the OpenAPI description

_DATE: Final = {"type": "string", "format": "date"}
_PROFILE_PROPERTIES: Final[dict[str, object]] = {
    "name": {"type": "string", "minLength": NAME_CHARACTERS_MIN, "maxLength": NAME_CHARACTERS_MAX},
    "gender": {"type": "string", "enum": [member.value for member in Gender]},
    "ethnicity": {"type": ["string", "null"], "enum": [*sorted(ETHNICITIES), None]},
    "phone": {"type": "string", "pattern": "^1[3-9][0-9]{9}$"},
    "email": {"type": "string", "format": "email", "maxLength": 254},
    "native_place": {"type": "string", "minLength": 1, "maxLength": 50},
    "education": {"type": "string", "enum": [member.value for member in Education]},
    "major": {"type": "string", "minLength": 1, "maxLength": 50},
    "school": {"type": "string", "minLength": 1, "maxLength": 100},
    "graduated_on": {**_DATE, "description": "Not in the future"},
    "title": {"type": "string", "minLength": 1, "maxLength": 50, "description": "其他 when none"},
    "title_since": {"type": ["string", "null"], "format": "date"},
}
_PASSWORD: Final = {
    "type": "string",
    "minLength": PASSWORD_CHARACTERS_MIN,
    "maxLength": PASSWORD_CHARACTERS_MAX,
    "description": "Letters and digits",
}
_ID_NUMBER: Final = {
    "type": "string",
    "description": "GB 11643 citizen ID number, 18 characters; a lower-case x is read as X",
}
_REGISTRATION: Final = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        *("name", "password", "id_number", "gender", "phone", "email", "native_place", "education"),
        *("major", "school", "graduated_on", "unit_code", "title"),
    ],
    "properties": {
        **_PROFILE_PROPERTIES,
        "password": _PASSWORD,
        "id_number": _ID_NUMBER,
        "unit_code": {"type": "string", "description": "The code of an institution (GET /api/v1/units)"},
    },
}
_ME: Final = {
    "type": "object",
    "properties": {
        **_PROFILE_PROPERTIES,
        "id": {"type": "string"},
        "id_number": {**_ID_NUMBER, "description": "Unmasked: only the person sees it"},
        "unit_code": {"type": "string"},
        "unit_name": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
    },
}
_NOT_SIGNED_IN: Final = unauthenticated(
    SecurityScheme.SESSION, "No live session: WWW-Authenticate names the session challenge"
)
_INVALID: Final = problem_answer("Invalid input: errors lists every field at fault")


def _json_body(schema: object) -> dict[str, object]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


openapi_paths: dict[str, object] = {
    "/api/v1/units": {
        "get": {
            "summary": "The regions and institutions under a region, for the registration picker (public)",
            "operationId": "listUnits",
            "parameters": [
                {
                    "name": "parent",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "maxLength": UNIT_CODE_CHARACTERS_MAX},
                    "description": "A region's code; without it, the top level",
                }
            ],
            "responses": {
                "200": {
                    "description": "The units, in the organisation's order",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["code", "name", "kind", "has_children"],
                                    "properties": {
                                        "code": {"type": "string"},
                                        "name": {"type": "string"},
                                        "kind": {"type": "string", "enum": ["region", "institution"]},
                                        "has_children": {"type": "boolean"},
                                    },
                                },
                            }
                        }
                    },
                },
                "404": problem_answer("No region has this code"),
                "422": _INVALID,
            },
        }
    },
    "/api/v1/register": {
        "post": {
            "summary": "Register a member of staff",
            "operationId": "register",
            "requestBody": _json_body(_REGISTRATION),
            "responses": {
                "201": {
                    "description": "Registered",
                    "content": {
                        "application/json": {"schema": {"type": "object", "properties": {"id": {"type": "string"}}}}
                    },
                },
                "409": problem_answer("The fields are valid and the ID number is already registered"),
                "413": problem_answer("The body is too large"),
                "422": _INVALID,
            },
        }
    },
    "/api/v1/login": {
        "post": {
            "summary": "Log in with the ID number and password; sets the session cookie",
            "operationId": "login",
            "security": [],  # public: its 401 refuses the credentials in its body
            "requestBody": _json_body(
                {
                    "type": "object",
                    "required": ["id_number", "password"],
                    "properties": {"id_number": _ID_NUMBER, "password": {"type": "string"}},
                }
            ),
            "responses": {
                "200": {
                    "description": "Signed in; Set-Cookie carries the session (HttpOnly, SameSite=Lax)",
                    "content": {
                        "application/json": {"schema": {"type": "object", "properties": {"id": {"type": "string"}}}}
                    },
                },
                "401": problem_answer("A wrong password or an unknown ID number, alike"),
                "422": _INVALID,
                "429": problem_answer(
                    "Five failures within 15 minutes for this ID number; Retry-After gives the seconds to wait"
                ),
            },
        }
    },
    "/api/v1/logout": {
        "post": {
            "summary": "End the session and clear its cookie",
            "operationId": "logout",
            "responses": {"204": {"description": "Signed out"}},
        }
    },
    "/api/v1/me": {
        "get": {
            "summary": "The signed-in person's own data, the ID number unmasked",
            "operationId": "getMe",
            "responses": {
                "200": {"description": "The person", "content": {"application/json": {"schema": _ME}}},
                "401": _NOT_SIGNED_IN,
            },
        },
        "patch": {
            "summary": "Change profile fields: every registration field but id_number, password and unit_code",
            "operationId": "changeMe",
            "requestBody": _json_body(
                {"type": "object", "additionalProperties": False, "properties": _PROFILE_PROPERTIES}
            ),
            "responses": {
                "200": {"description": "The person as now stored", "content": {"application/json": {"schema": _ME}}},
                "401": _NOT_SIGNED_IN,
                "422": _INVALID,
            },
        },
    },
    "/api/v1/me/password": {
        "post": {
            "summary": "Change the password with the old one; the person's other sessions end",
            "operationId": "changePassword",
            "requestBody": _json_body(
                {
                    "type": "object",
                    "required": ["old_password", "new_password", "new_password_confirm"],
                    "properties": {
                        "old_password": {"type": "string"},
                        "new_password": _PASSWORD,
                        "new_password_confirm": {"type": "string"},
                    },
                }
            ),
            "responses": {"204": {"description": "Changed"}, "401": _NOT_SIGNED_IN, "422": _INVALID},
        }
    },
}
