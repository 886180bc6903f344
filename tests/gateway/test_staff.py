"""Staff over HTTP, through a real aiohttp server on SQLite and PostgreSQL: the units picker,
registration, login with its lock-out, logout, and the person's own profile and password."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import text

from config import load_settings
from gateway.app import create_app
from gateway.keys import HUB
from gateway.sessions import SESSION_COOKIE
from sso.id_numbers import make_id_number
from sso.organisation import load_organisation

from ..sso.people.forms import ID_NUMBER, PASSWORD
from ..sso.people.forms import registration_form as registration

HUNAN = load_organisation(Path(__file__).parents[2] / "config" / "organisation" / "hunan.json")
OTHER_ID_NUMBER = make_id_number("430102", date(1990, 3, 7), 126)
PROBLEM = "application/problem+json"

Client = TestClient  # type: ignore[type-arg]
ClientMaker = Callable[..., Awaitable[Client]]


@pytest.fixture
async def client(aiohttp_client: ClientMaker, settings_file: Path) -> Client:
    client = await aiohttp_client(create_app(load_settings(settings_file)))
    await client.server.app[HUB].organisation.replace(HUNAN)
    return client


@pytest.fixture
async def registered(client: Client) -> str:
    response = await client.post("/api/v1/register", json=registration())
    assert response.status == 201
    return str((await response.json())["id"])


async def _login(client: Client, id_number: str = ID_NUMBER, password: str = PASSWORD) -> int:
    response = await client.post("/api/v1/login", json={"id_number": id_number, "password": password})
    return response.status


async def _fields_at_fault(response: object) -> set[str]:
    assert response.status == 422  # type: ignore[attr-defined]
    assert response.content_type == PROBLEM  # type: ignore[attr-defined]
    body = await response.json()  # type: ignore[attr-defined]
    return {error["field"] for error in body["errors"]}


# ---------------------------------------------------------------- the units picker


async def test_the_picker_starts_at_the_province(client: Client) -> None:
    response = await client.get("/api/v1/units")

    assert response.status == 200
    assert await response.json() == [{"code": "430000", "name": "湖南省", "kind": "region", "has_children": True}]


async def test_the_picker_opens_a_city_into_counties_and_institutions(client: Client) -> None:
    response = await client.get("/api/v1/units", params={"parent": "430100"})

    units = await response.json()
    assert [unit["code"] for unit in units if unit["kind"] == "region"] == ["430102", "430121", "430181"]
    assert {"code": "430100-0001", "name": "长沙市中心医院", "kind": "institution", "has_children": False} in units


async def test_the_picker_refuses_an_unknown_parent_with_404(client: Client) -> None:
    response = await client.get("/api/v1/units", params={"parent": "439999"})

    assert response.status == 404
    assert response.content_type == PROBLEM
    assert (await response.json())["status"] == 404


async def test_the_picker_refuses_an_overlong_parent(client: Client) -> None:
    response = await client.get("/api/v1/units", params={"parent": "4" * 41})

    assert await _fields_at_fault(response) == {"parent"}


@pytest.mark.parametrize("parent", ["4301\x0000", "4301\n00"])
async def test_the_picker_refuses_a_parent_with_control_characters(client: Client, parent: str) -> None:
    response = await client.get("/api/v1/units", params={"parent": parent})

    assert await _fields_at_fault(response) == {"parent"}


# ---------------------------------------------------------------- registration


async def test_registration_answers_201_with_the_id(client: Client) -> None:
    response = await client.post("/api/v1/register", json=registration())

    assert response.status == 201
    assert len((await response.json())["id"]) == 32


async def test_the_password_is_hashed_with_the_configured_argon2id_costs(client: Client, registered: str) -> None:
    async with client.server.app[HUB].engine.connect() as connection:
        stored = await connection.scalar(text("SELECT password_hash FROM person WHERE id = :id"), {"id": registered})

    assert str(stored).startswith("$argon2id$v=19$m=1024,t=1,p=1$")  # tests/conftest.py's [passwords]


async def test_registration_lists_every_field_at_fault_at_once(client: Client) -> None:
    bad = {
        "name": "王",
        "password": "short",
        "id_number": ID_NUMBER[:17] + ("1" if ID_NUMBER[17] != "1" else "2"),
        "gender": "F",
        "ethnicity": "火星族",
        "phone": "12345",
        "email": "nobody",
        "native_place": "",
        "education": "本科",
        "major": "",
        "school": "",
        "graduated_on": "2999-01-01",
        "unit_code": "439999-0001",
        "title": "",
        "title_since": "someday",
    }

    response = await client.post("/api/v1/register", json=bad)

    assert await _fields_at_fault(response) == set(bad)
    body = await response.json()
    assert body["type"].endswith("invalid_person_data")
    assert body["title"]
    assert body["detail"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "王" * 31),
        ("password", "onlyletters"),
        ("id_number", "430102199003071235"),
        ("gender", "male"),
        ("ethnicity", "Han"),
        ("phone", "23812345678"),
        ("email", "a@b"),
        ("education", "大学"),
        ("graduated_on", "2012-02-30"),
        ("unit_code", "430100-health"),
        ("title_since", "2099-01-01"),
    ],
)
async def test_registration_refuses_each_bad_field(client: Client, field: str, value: object) -> None:
    response = await client.post("/api/v1/register", json=registration(**{field: value}))

    assert await _fields_at_fault(response) == {field}


async def test_registration_refuses_a_body_that_is_no_json_object(client: Client) -> None:
    for body in (b"[1, 2]", b"{not json", b"\xff\xfe"):
        response = await client.post("/api/v1/register", data=body, headers={"Content-Type": "application/json"})
        assert await _fields_at_fault(response) == {"body"}


async def test_registration_refuses_an_oversized_body(client: Client) -> None:
    response = await client.post("/api/v1/register", json=registration(name="王" * 20_000))

    assert response.status == 413
    assert response.content_type == PROBLEM


async def test_a_second_account_for_one_id_number_is_409(client: Client, registered: str) -> None:
    response = await client.post(
        "/api/v1/register", json=registration(id_number=ID_NUMBER.lower(), phone="13900000000")
    )

    assert response.status == 409
    assert response.content_type == PROBLEM
    assert ID_NUMBER not in await response.text()


async def test_an_invalid_form_with_a_taken_id_number_is_422_not_409(client: Client, registered: str) -> None:
    response = await client.post("/api/v1/register", json=registration(phone="1"))

    assert await _fields_at_fault(response) == {"phone"}


# ---------------------------------------------------------------- login and logout


async def test_login_sets_a_session_cookie_that_is_httponly_and_lax(client: Client, registered: str) -> None:
    response = await client.post("/api/v1/login", json={"id_number": ID_NUMBER, "password": PASSWORD})

    assert response.status == 200
    assert (await response.json())["id"] == registered
    cookie = response.cookies[SESSION_COOKIE]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/"
    assert not cookie["secure"]  # the test hub's base_url is http
    assert len(cookie.value) >= 43


async def test_the_session_cookie_is_secure_behind_https(
    aiohttp_client: ClientMaker, settings_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB__HUB__BASE_URL", "https://hub.example.cn")
    client = await aiohttp_client(create_app(load_settings(settings_file)))
    await client.server.app[HUB].organisation.replace(HUNAN)
    assert (await client.post("/api/v1/register", json=registration())).status == 201

    response = await client.post("/api/v1/login", json={"id_number": ID_NUMBER, "password": PASSWORD})

    assert response.status == 200
    assert response.cookies[SESSION_COOKIE]["secure"]
    assert response.cookies[SESSION_COOKIE]["httponly"]


async def test_a_wrong_password_and_an_unknown_id_number_get_the_same_401(client: Client, registered: str) -> None:
    wrong = await client.post("/api/v1/login", json={"id_number": ID_NUMBER, "password": "wrong4password"})
    unknown = await client.post("/api/v1/login", json={"id_number": OTHER_ID_NUMBER, "password": PASSWORD})

    assert wrong.status == unknown.status == 401
    assert wrong.headers["WWW-Authenticate"] == unknown.headers["WWW-Authenticate"]
    assert await wrong.json() == await unknown.json()
    assert SESSION_COOKIE not in wrong.cookies


async def test_login_without_the_fields_is_422(client: Client) -> None:
    response = await client.post("/api/v1/login", json={"id_number": 1})

    assert await _fields_at_fault(response) == {"id_number", "password"}


async def test_five_failures_answer_429_with_retry_after(client: Client, registered: str) -> None:
    for _ in range(5):
        assert await _login(client, password="wrong4password") == 401

    response = await client.post("/api/v1/login", json={"id_number": ID_NUMBER, "password": PASSWORD})

    assert response.status == 429
    assert response.content_type == PROBLEM
    assert 0 < int(response.headers["Retry-After"]) <= 15 * 60
    assert await _login(client, id_number=ID_NUMBER.lower()) == 429


async def test_me_needs_a_session(client: Client) -> None:
    response = await client.get("/api/v1/me")

    assert response.status == 401
    assert response.content_type == PROBLEM
    assert response.headers["WWW-Authenticate"].startswith("Session")


async def test_a_forged_session_cookie_is_401(client: Client, registered: str) -> None:
    client.session.cookie_jar.update_cookies({SESSION_COOKIE: "forged-token"})

    assert (await client.get("/api/v1/me")).status == 401


async def test_logout_ends_the_session(client: Client, registered: str) -> None:
    await _login(client)
    token = client.session.cookie_jar.filter_cookies(client.make_url("/"))[SESSION_COOKIE].value
    assert (await client.get("/api/v1/me")).status == 200

    response = await client.post("/api/v1/logout")

    assert response.status == 204
    assert (await client.get("/api/v1/me")).status == 401
    client.session.cookie_jar.update_cookies({SESSION_COOKIE: token})
    assert (await client.get("/api/v1/me")).status == 401


async def test_an_authorization_header_outranks_the_session_cookie(client: Client, registered: str) -> None:
    await _login(client)

    response = await client.get("/api/v1/me", headers={"Authorization": "Bearer not-a-token"})

    assert response.status == 401


# ---------------------------------------------------------------- the person's own data


async def test_me_shows_the_person_their_own_data_unmasked(client: Client, registered: str) -> None:
    await _login(client, id_number=ID_NUMBER.lower())

    response = await client.get("/api/v1/me")

    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    me = await response.json()
    assert me["id"] == registered
    assert me["id_number"] == ID_NUMBER
    assert me["unit_code"] == "430100-0001"
    assert me["unit_name"] == "长沙市中心医院"
    expected = registration()
    del expected["password"]
    assert {name: me[name] for name in expected} == expected


async def test_a_profile_edit_is_stored(client: Client, registered: str) -> None:
    await _login(client)

    response = await client.patch(
        "/api/v1/me", json={"phone": "13900001111", "title": "副主任医师", "ethnicity": None, "title_since": None}
    )

    assert response.status == 200
    changed = await (await client.get("/api/v1/me")).json()
    assert (changed["phone"], changed["title"], changed["ethnicity"], changed["title_since"]) == (
        "13900001111",
        "副主任医师",
        None,
        None,
    )
    assert changed["name"] == "王芳"


async def test_a_profile_edit_cannot_touch_the_id_number_password_or_unit(client: Client, registered: str) -> None:
    await _login(client)

    response = await client.patch(
        "/api/v1/me",
        json={"id_number": OTHER_ID_NUMBER, "password": "battery5staple", "unit_code": "430000-0001", "phone": "1"},
    )

    assert await _fields_at_fault(response) == {"id_number", "password", "unit_code", "phone"}
    me = await (await client.get("/api/v1/me")).json()
    assert (me["id_number"], me["unit_code"], me["phone"]) == (ID_NUMBER, "430100-0001", "13812345678")
    assert await _login(client) == 200


async def test_a_profile_edit_needs_a_session(client: Client) -> None:
    assert (await client.patch("/api/v1/me", json={"title": "其他"})).status == 401


async def test_a_password_change_takes_effect_and_keeps_this_session(client: Client, registered: str) -> None:
    await _login(client)
    new = "battery5staple"

    response = await client.post(
        "/api/v1/me/password", json={"old_password": PASSWORD, "new_password": new, "new_password_confirm": new}
    )

    assert response.status == 204
    assert (await client.get("/api/v1/me")).status == 200
    assert await _login(client, password=PASSWORD) == 401
    assert await _login(client, password=new) == 200


async def test_a_password_change_lists_every_fault(client: Client, registered: str) -> None:
    await _login(client)

    response = await client.post(
        "/api/v1/me/password",
        json={"old_password": "wrong4password", "new_password": "short", "new_password_confirm": "different"},
    )

    assert await _fields_at_fault(response) == {"old_password", "new_password", "new_password_confirm"}
    assert await _login(client) == 200


async def test_a_password_change_needs_a_session(client: Client) -> None:
    response = await client.post(
        "/api/v1/me/password",
        json={"old_password": PASSWORD, "new_password": "battery5staple", "new_password_confirm": "battery5staple"},
    )

    assert response.status == 401


async def test_every_staff_route_is_in_the_openapi_document(client: Client) -> None:
    document = await (await client.get("/openapi.json")).json()

    paths = document["paths"]
    assert set(paths["/api/v1/me"]) == {"get", "patch"}
    for path in ("/api/v1/units", "/api/v1/register", "/api/v1/login", "/api/v1/logout", "/api/v1/me/password"):
        assert path in paths
    registration_schema = paths["/api/v1/register"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(registration_schema["properties"]) == set(registration())
