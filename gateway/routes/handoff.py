"""The SSO handoff on the web: the JWKS, consent, the launch to each vendor, and the LTI 1.3
authorization endpoint.

A launch goes: the signed-in person → consent page (until they consent) → a page that POSTs the
signed ``id_token`` to the vendor (ischinese, webtrn), or a redirect to hnou's LTI login, whose
authorization request comes back to ``/lti/authorize`` and leaves with an ``id_token`` and its
``state``. Pages are rendered as every page is (``gateway.pages.rendering``): Chinese, autoescaped,
with a Content-Security-Policy whose script nonce is fresh for each answer and whose ``form-action``
names the origins the page's form may reach.
Nothing here logs a token, a message hint or personal data.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from typing import Final

import structlog
from aiohttp import hdrs, web

from gateway.bearer import BearerTokenInvalid, BearerTokenRequired
from gateway.bootstrap import Hub
from gateway.keys import HUB
from gateway.openapi import SecurityScheme, problem_answer, unauthenticated
from gateway.pages.rendering import PAGE_HEADERS, SELF, Audience, origin_of, render_page
from gateway.sessions import SessionRequired, session_token_of, signed_in_person
from ledger.errors import FieldError
from ledger.model import PersonId
from sso.access.errors import OutOfReach
from sso.errors import UnknownOrganisationCode
from sso.handoff import (
    AuthorizationRefused,
    Consent,
    ConsentNeeded,
    FormPost,
    InvalidConsentRequest,
    JwtPostVendor,
    OidcError,
    Redirect,
    SharedDetails,
    SharedField,
    UnknownVendor,
    UntrustedRedirect,
)
from sso.handoff.model import FIELD_LABELS
from sso.people.errors import PersonNotFound
from sso.people.model import Person

BODY_BYTES_MAX: Final = 16 * 1024
AUTHORIZATION_PARAMETERS_MAX: Final = 32
CONSENT_FORM_PURPOSE: Final = "handoff.consent_form"
JWKS_CACHE_SECONDS: Final = 60
"""Vendors may keep the JWKS this long; a new key is announced a whole activation delay before it signs."""
NO_STORE: Final = {hdrs.CACHE_CONTROL: "no-store"}

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()


# ---------------------------------------------------------------- the JWKS


@routes.get("/.well-known/jwks.json")
async def jwks(request: web.Request) -> web.Response:
    key_set = await request.app[HUB].handoff.jwks()
    return web.json_response(key_set, headers={hdrs.CACHE_CONTROL: f"public, max-age={JWKS_CACHE_SECONDS}"})


# ---------------------------------------------------------------- consent


@routes.post("/api/v1/me/consents")
async def give_consent(request: web.Request) -> web.Response:
    person_id = await signed_in_person(request)
    handoff = request.app[HUB].handoff
    if request.content_type == "application/x-www-form-urlencoded":
        vendor = await _consent_form_vendor(request)
        consent = await handoff.give_consent(person_id, vendor)
        log.info("consent_given", person_id=person_id, vendor=consent.vendor.value)
        # The consent page posted here: back to the launch it interrupted.
        raise web.HTTPSeeOther(f"/sso/launch/{consent.vendor.value}", headers=NO_STORE)
    body = await _json_object(request)
    consent = await handoff.give_consent(person_id, body.get("vendor"))
    log.info("consent_given", person_id=person_id, vendor=consent.vendor.value)
    return web.json_response(_consent_document(request.app[HUB], consent), status=201, headers=NO_STORE)


@routes.get("/api/v1/me/consents")
async def list_consents(request: web.Request) -> web.Response:
    person_id = await signed_in_person(request)
    hub = request.app[HUB]
    consents = await hub.handoff.consents(person_id)
    return web.json_response({"items": [_consent_document(hub, consent) for consent in consents]}, headers=NO_STORE)


@routes.delete("/api/v1/me/consents/{vendor}")
async def withdraw_consent(request: web.Request) -> web.Response:
    person_id = await signed_in_person(request)
    vendor = request.match_info["vendor"]
    await request.app[HUB].handoff.withdraw_consent(person_id, vendor)
    log.info("consent_withdrawn", person_id=person_id, vendor=vendor)
    return web.Response(status=204)


async def _consent_form_vendor(request: web.Request) -> str:
    if request.content_length is not None and request.content_length > BODY_BYTES_MAX:
        raise InvalidConsentRequest([FieldError("body", f"must be at most {BODY_BYTES_MAX} bytes")])
    form = await request.post()
    vendor, token = form.get("vendor"), form.get("form_token")
    errors = []
    if not isinstance(vendor, str) or not vendor:
        errors.append(FieldError("vendor", "is required: a vendor code"))
    expected = _form_token(request, vendor) if isinstance(vendor, str) else None
    # The page's token ties the form to this session: another site cannot post consent for it.
    if not isinstance(token, str) or expected is None or not secrets.compare_digest(token, expected):
        errors.append(FieldError("form_token", "is not the one of your consent page: open it again"))
    if errors or not isinstance(vendor, str):
        raise InvalidConsentRequest(errors)
    return vendor


def _form_token(request: web.Request, vendor: str) -> str | None:
    session = session_token_of(request)
    if session is None:
        return None
    return request.app[HUB].keyring.blind_index(f"{session}:{vendor}", purpose=CONSENT_FORM_PURPOSE)


def _consent_document(hub: Hub, consent: Consent) -> dict[str, object]:
    link = hub.handoff.config.vendors.get(consent.vendor)
    return {
        "vendor": consent.vendor.value,
        "vendor_name": consent.vendor.value if link is None else link.name,
        "fields": [field.value for field in consent.fields],
        "given_at": consent.given_at.isoformat(),
    }


# ---------------------------------------------------------------- the launch


@routes.get("/sso/launch/{vendor}")
async def launch(request: web.Request) -> web.StreamResponse:
    hub = request.app[HUB]
    vendor = request.match_info["vendor"]
    try:
        person_id = await signed_in_person(request)
        hub.handoff.vendor_link(vendor)
    except (SessionRequired, BearerTokenRequired, BearerTokenInvalid) as refusal:
        # The challenge names what to sign in with: the session, or the bearer token the request carried.
        message = "请先登录本平台，再进入学习平台。"
        return _error_page(request, 401, "请先登录", message, audience=Audience.VISITOR, headers=refusal.headers)
    except OutOfReach:  # an operator's, auditor's or supervisor's token: launches are for staff
        return _error_page(request, 404, "找不到该页面", "本平台没有该页面。", audience=Audience.VISITOR)
    except UnknownVendor:
        return _error_page(request, 404, "找不到该学习平台", "本平台没有与该学习平台对接。")
    details = await _shared_details(hub, await hub.people.get(person_id))
    outcome = await hub.handoff.launch(person_id, vendor, details)
    if isinstance(outcome, ConsentNeeded):
        return _consent_page(request, outcome)
    if isinstance(outcome, Redirect):
        log.info("lti_login_initiated", person_id=person_id, vendor=vendor)
        raise web.HTTPFound(outcome.location, headers=PAGE_HEADERS)
    log.info("handoff_token_issued", person_id=person_id, vendor=vendor)
    return _form_post_page(request, outcome, title="正在进入学习平台", message="正在为您登录学习平台……")


async def _shared_details(hub: Hub, person: Person) -> SharedDetails:
    try:
        unit_name = (await hub.organisation.institution(person.unit_code)).name
    except UnknownOrganisationCode:
        unit_name = person.unit_code  # an institution since removed from the organisation keeps its code
    return SharedDetails(
        name=person.name,
        gender=person.gender.value,
        phone=person.phone,
        email=person.email,
        unit_code=person.unit_code,
        unit_name=unit_name,
        title=person.title,
        education=person.education.value,
        id_number=person.id_number,
    )


def _consent_page(request: web.Request, needed: ConsentNeeded) -> web.Response:
    context = {
        "vendor": needed.vendor.value,
        "vendor_name": needed.vendor_name,
        "labels": [FIELD_LABELS[field] for field in needed.fields],
        "full_id_number": SharedField.ID_NUMBER in needed.fields,
        "form_token": _form_token(request, needed.vendor.value) or "",
    }
    # The form posts here and is sent on to the launch, which for an LTI tool redirects to its login:
    # browsers hold every redirect of a form's submission to form-action.
    link = request.app[HUB].handoff.vendor_link(needed.vendor.value)
    targets = (SELF,) if isinstance(link, JwtPostVendor) else (SELF, origin_of(link.login_url))
    return render_page(request, "handoff/consent.html", context, audience=Audience.STAFF, form_action=targets)


def _form_post_page(request: web.Request, post: FormPost, *, title: str, message: str) -> web.Response:
    context = {"title": title, "message": message, "action": post.action, "fields": list(post.fields.items())}
    return render_page(
        request, "handoff/form_post.html", context, audience=Audience.STAFF, form_action=(origin_of(post.action),)
    )


def _error_page(
    request: web.Request,
    status: int,
    title: str,
    message: str,
    *,
    audience: Audience = Audience.STAFF,
    error: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    context = {"title": title, "message": message, "error": error}
    return render_page(
        request, "pages/error.html", context, audience=audience, status=status, form_action=(), headers=headers
    )


# ---------------------------------------------------------------- LTI 1.3: the authorization endpoint


@routes.get("/lti/authorize")
@routes.post("/lti/authorize")
async def authorize(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    try:
        parameters = await _authorization_parameters(request)
        grant = await hub.handoff.authorize(parameters)
        person = await _active_person(hub, grant.person_id, grant.request.redirect_uri, grant.request.state)
        answer = await hub.handoff.lti_launch(grant, await _shared_details(hub, person))
    except UntrustedRedirect as error:
        log.info("lti_authorization_refused", error=error.error.value, redirected=False)
        message = f"学习平台的登录请求无效：{error.description}"
        return _error_page(request, 400, "无法完成登录", message, audience=Audience.VISITOR, error=error.error.value)
    except AuthorizationRefused as error:
        log.info("lti_authorization_refused", error=error.error.value, redirected=True)
        fields = {"error": error.error.value, "error_description": error.description}
        if error.state is not None:
            fields["state"] = error.state
        refusal = FormPost(action=error.redirect_uri, fields=fields)
        return _form_post_page(request, refusal, title="无法完成登录", message="正在返回学习平台……")
    log.info("lti_launch_issued", person_id=grant.person_id, launch_id=grant.launch_id)
    return _form_post_page(request, answer, title="正在进入学习平台", message="正在为您登录学习平台……")


async def _authorization_parameters(request: web.Request) -> dict[str, str]:
    """The request's parameters, from the query (GET) or the form (POST); a repeated one is refused,
    since which of its values to trust cannot be known."""
    if request.method == hdrs.METH_POST:
        if request.content_length is not None and request.content_length > BODY_BYTES_MAX:
            raise UntrustedRedirect(OidcError.INVALID_REQUEST, "the request is too large")
        received = list((await request.post()).items())
    else:
        received = list(request.query.items())
    names = [name for name, _value in received]
    if len(names) > AUTHORIZATION_PARAMETERS_MAX or len(set(names)) != len(names):
        raise UntrustedRedirect(OidcError.INVALID_REQUEST, "parameters are repeated or too many")
    return {name: value for name, value in received if isinstance(value, str)}


async def _active_person(hub: Hub, person_id: PersonId, redirect_uri: str, state: str | None) -> Person:
    try:
        person = await hub.people.get(person_id)
    except PersonNotFound:
        person = None
    if person is None or not person.active:
        raise AuthorizationRefused(
            OidcError.LOGIN_REQUIRED, "the person of this launch cannot sign in", redirect_uri=redirect_uri, state=state
        )
    return person


# ---------------------------------------------------------------- request bodies


async def _json_object(request: web.Request) -> dict[str, object]:
    if request.content_type != "application/json":
        raise InvalidConsentRequest([FieldError("body", "must be application/json")])
    if request.content_length is not None and request.content_length > BODY_BYTES_MAX:
        raise InvalidConsentRequest([FieldError("body", f"must be at most {BODY_BYTES_MAX} bytes")])
    raw = await request.content.read(BODY_BYTES_MAX + 1)
    if len(raw) > BODY_BYTES_MAX:
        raise InvalidConsentRequest([FieldError("body", f"must be at most {BODY_BYTES_MAX} bytes")])
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise InvalidConsentRequest([FieldError("body", "must be a JSON object")]) from None
    if not isinstance(body, dict):
        raise InvalidConsentRequest([FieldError("body", "must be a JSON object")])
    return body


# ---------------------------------------------------------------- the OpenAPI document

_CONSENT_SCHEMA: Final = {
    "type": "object",
    "required": ["vendor", "vendor_name", "fields", "given_at"],
    "properties": {
        "vendor": {"type": "string", "enum": ["ischinese", "webtrn", "hnou"]},
        "vendor_name": {"type": "string"},
        "fields": {"type": "array", "items": {"type": "string", "enum": [field.value for field in SharedField]}},
        "given_at": {"type": "string", "format": "date-time"},
    },
}
_HTML: Final = {"text/html": {"schema": {"type": "string"}}}
_NOT_SIGNED_IN: Final = unauthenticated(SecurityScheme.SESSION, "Not signed in")

openapi_paths: dict[str, object] = {
    "/.well-known/jwks.json": {
        "get": {
            "summary": "The public signing keys: handoff keys current, announced and recently retired; document keys",
            "operationId": "jwks",
            "responses": {"200": {"description": "A JSON Web Key Set (RFC 7517); each key has kid, kty, alg, use=sig"}},
        }
    },
    "/api/v1/me/consents": {
        "get": {
            "summary": "The signed-in person's standing consents",
            "operationId": "listConsents",
            "responses": {
                "200": {
                    "description": "The consents, by vendor code",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"items": {"type": "array", "items": _CONSENT_SCHEMA}},
                            }
                        }
                    },
                },
                "401": _NOT_SIGNED_IN,
            },
        },
        "post": {
            "summary": "Consent to share registration details with a vendor (JSON, or the consent page's form)",
            "operationId": "giveConsent",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["vendor"],
                            "properties": {"vendor": {"type": "string", "maxLength": 32}},
                        }
                    },
                    "application/x-www-form-urlencoded": {
                        "schema": {
                            "type": "object",
                            "required": ["vendor", "form_token"],
                            "properties": {"vendor": {"type": "string"}, "form_token": {"type": "string"}},
                        }
                    },
                },
            },
            "responses": {
                "201": {"description": "The consent", "content": {"application/json": {"schema": _CONSENT_SCHEMA}}},
                "303": {"description": "From the consent page's form: on to the launch"},
                "401": _NOT_SIGNED_IN,
                "422": problem_answer("Not a configured vendor, or a form without its page's token"),
            },
        },
    },
    "/api/v1/me/consents/{vendor}": {
        "delete": {
            "summary": "Withdraw a consent; the next launch asks again",
            "operationId": "withdrawConsent",
            "parameters": [{"name": "vendor", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {
                "204": {"description": "Withdrawn"},
                "401": _NOT_SIGNED_IN,
                "404": problem_answer("No such vendor, or no consent to withdraw"),
            },
        }
    },
    "/sso/launch/{vendor}": {
        "get": {
            "summary": "Hand the signed-in person over to a vendor (vendors.md)",
            "operationId": "launch",
            "parameters": [{"name": "vendor", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {
                "200": {
                    "description": "The consent page, or a page that POSTs id_token to the vendor",
                    "content": _HTML,
                },
                "302": {"description": "hnou: to the tool's LTI login (third-party initiated login)"},
                "401": unauthenticated(SecurityScheme.SESSION, "Not signed in: a page", _HTML),
                "404": {"description": "Not a configured vendor", "content": _HTML},
            },
        }
    },
    "/lti/authorize": {
        method: {
            "summary": "The LTI 1.3 platform's OIDC authorization endpoint (vendors.md, hnou)",
            "operationId": f"ltiAuthorize{method.capitalize()}",
            "responses": {
                "200": {
                    "description": "A page that POSTs id_token and state, or an OIDC error, to the redirect_uri",
                    "content": _HTML,
                },
                "400": {
                    "description": "An unknown client or an unregistered redirect_uri: an error page",
                    "content": _HTML,
                },
            },
        }
        for method in ("get", "post")
    },
}
