"""People on SQLite and PostgreSQL: registration, sign-in and its lock-out, sessions, account changes."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from sso.id_numbers import normalise_id_number
from sso.people.errors import (
    AuthenticationFailed,
    IdNumberTaken,
    InvalidPersonData,
    LoginLocked,
    PersonNotFound,
)
from sso.people.model import (
    LOGIN_FAILURE_WINDOW_SECONDS,
    LOGIN_FAILURES_MAX,
    SESSION_IDLE_SECONDS_MAX,
    SESSION_LIFETIME_SECONDS_MAX,
    SessionSummary,
)
from sso.people.service import PeopleService
from sso.people.tables import PersonRow, PersonSessionRow
from sso.personal_data import DataKeyring
from sso.units.service import OrganisationService

from .conftest import FAST_HASHER, FormMaker, id_number_of
from .forms import PASSWORD


async def _faults(people: PeopleService, form: dict[str, object]) -> set[str]:
    with pytest.raises(InvalidPersonData) as caught:
        await people.register(form)
    return {error.field for error in caught.value.errors}


# ---------------------------------------------------------------- registration


async def test_a_registered_person_reads_back_decrypted(people: PeopleService, form: FormMaker) -> None:
    person_id = await people.register(form())

    person = await people.get(person_id)

    assert person.id == person_id
    assert person.id_number == id_number_of(124)
    assert (person.phone, person.email) == ("13812345678", "wangfang@example.cn")
    assert (person.name, person.unit_code, person.title) == ("王芳", "430100-0001", "主治医师")
    assert person.active


async def test_the_database_holds_no_plain_id_number_phone_or_email(
    people: PeopleService, form: FormMaker, engine: AsyncEngine
) -> None:
    person_id = await people.register(form())

    async with engine.connect() as connection:
        row = (await connection.execute(select(PersonRow.__table__).where(PersonRow.__table__.c.id == person_id))).one()

    stored = " ".join(str(value) for value in row)
    assert id_number_of(124)[:17] not in stored
    assert "13812345678" not in stored
    assert "wangfang@example.cn" not in stored


async def test_an_unknown_institution_is_reported_with_the_other_faults(people: PeopleService, form: FormMaker) -> None:
    assert await _faults(people, form(unit_code="439999-0001")) == {"unit_code"}
    assert await _faults(people, form(unit_code="430100-health", phone="1")) == {"unit_code", "phone"}
    assert await _faults(people, form(unit_code="430100")) == {"unit_code"}


async def test_one_account_per_id_number_whatever_the_case_of_x(people: PeopleService, form: FormMaker) -> None:
    await people.register(form(id_number="43010219900307112X"))

    with pytest.raises(IdNumberTaken):
        await people.register(form(id_number="43010219900307112x", phone="13900000000"))


async def test_an_invalid_form_is_refused_before_a_taken_id_number(people: PeopleService, form: FormMaker) -> None:
    await people.register(form())

    assert await _faults(people, form(name="王")) == {"name"}


async def test_the_database_itself_refuses_a_second_account_for_one_id_number(
    people: PeopleService, form: FormMaker, engine: AsyncEngine
) -> None:
    person_id = await people.register(form())
    async with engine.connect() as connection:
        row = dict((await connection.execute(select(PersonRow.__table__))).one()._mapping)

    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(insert(PersonRow.__table__).values({**row, "id": person_id + "-copy"}))


async def test_concurrent_registrations_of_one_id_number_make_one_account(
    people: PeopleService, form: FormMaker
) -> None:
    outcomes = await asyncio.gather(*(people.register(form()) for _ in range(4)), return_exceptions=True)

    assert sum(isinstance(outcome, str) for outcome in outcomes) == 1
    assert sum(isinstance(outcome, IdNumberTaken) for outcome in outcomes) == 3


async def test_a_person_is_found_by_id_number_in_either_case(people: PeopleService, form: FormMaker) -> None:
    person_id = await people.register(form(id_number="43010219900307112X"))

    assert await people.find_by_id_number(" 43010219900307112x ") == person_id
    assert await people.find_by_id_number(id_number_of(124)) is None
    assert await people.find_by_id_number("not a number") is None


async def test_many_people_are_found_by_their_id_numbers_at_once(people: PeopleService, form: FormMaker) -> None:
    wang = await people.register(form())
    li = await people.register(form(id_number=id_number_of(13), name="李强", phone="13900000013"))
    wang_number, li_number, nobody = (normalise_id_number(id_number_of(n)) for n in (124, 13, 126))

    found = await people.find_by_id_numbers([wang_number, li_number, nobody])

    assert {id_number: (person.id, person.name) for id_number, person in found.items()} == {
        wang_number: (wang, "王芳"),
        li_number: (li, "李强"),
    }
    assert await people.find_by_id_numbers([]) == {}


async def test_an_unknown_person_is_not_found(people: PeopleService) -> None:
    with pytest.raises(PersonNotFound):
        await people.get("nobody")


# ---------------------------------------------------------------- signing in


async def test_the_right_password_signs_in_with_either_case_of_x(people: PeopleService, form: FormMaker) -> None:
    person_id = await people.register(form(id_number="43010219900307112X"))

    assert await people.authenticate("43010219900307112x", PASSWORD) == person_id


async def test_a_wrong_password_and_an_unknown_id_number_fail_alike(people: PeopleService, form: FormMaker) -> None:
    await people.register(form())

    with pytest.raises(AuthenticationFailed) as wrong:
        await people.authenticate(id_number_of(124), "wrong4password")
    with pytest.raises(AuthenticationFailed) as unknown:
        await people.authenticate(id_number_of(126), PASSWORD)
    with pytest.raises(AuthenticationFailed) as invalid:
        await people.authenticate("123", PASSWORD)

    assert str(wrong.value) == str(unknown.value) == str(invalid.value)


async def test_five_failures_lock_the_id_number_until_the_window_passes(
    people: PeopleService, form: FormMaker, clock
) -> None:
    await people.register(form())
    for _ in range(LOGIN_FAILURES_MAX):
        with pytest.raises(AuthenticationFailed):
            await people.authenticate(id_number_of(124), "wrong4password")
        clock.advance(10)

    with pytest.raises(LoginLocked) as locked:
        await people.authenticate(id_number_of(124), PASSWORD)
    assert locked.value.retry_after_seconds == LOGIN_FAILURE_WINDOW_SECONDS - LOGIN_FAILURES_MAX * 10

    clock.advance(locked.value.retry_after_seconds - 1)
    with pytest.raises(LoginLocked) as still_locked:
        await people.authenticate(id_number_of(124), PASSWORD)
    assert still_locked.value.retry_after_seconds == 1

    clock.advance(1)
    assert await people.authenticate(id_number_of(124), PASSWORD)


async def test_an_unknown_id_number_locks_too(people: PeopleService) -> None:
    for _ in range(LOGIN_FAILURES_MAX):
        with pytest.raises(AuthenticationFailed):
            await people.authenticate(id_number_of(130), PASSWORD)

    with pytest.raises(LoginLocked):
        await people.authenticate(id_number_of(130), PASSWORD)


async def test_a_lock_on_one_id_number_leaves_the_others_alone(people: PeopleService, form: FormMaker) -> None:
    other = await people.register(form(id_number=id_number_of(126), phone="13900000000"))
    for _ in range(LOGIN_FAILURES_MAX):
        with pytest.raises(AuthenticationFailed):
            await people.authenticate(id_number_of(124), PASSWORD)

    assert await people.authenticate(id_number_of(126), PASSWORD) == other


async def test_a_success_forgives_the_earlier_failures(people: PeopleService, form: FormMaker) -> None:
    await people.register(form())
    for _ in range(LOGIN_FAILURES_MAX - 1):
        with pytest.raises(AuthenticationFailed):
            await people.authenticate(id_number_of(124), "wrong4password")
    await people.authenticate(id_number_of(124), PASSWORD)

    for _ in range(LOGIN_FAILURES_MAX - 1):
        with pytest.raises(AuthenticationFailed):
            await people.authenticate(id_number_of(124), "wrong4password")
    assert await people.authenticate(id_number_of(124), PASSWORD)


async def test_failures_older_than_the_window_do_not_count(people: PeopleService, form: FormMaker, clock) -> None:
    await people.register(form())
    for _ in range(LOGIN_FAILURES_MAX - 1):
        with pytest.raises(AuthenticationFailed):
            await people.authenticate(id_number_of(124), "wrong4password")
    clock.advance(LOGIN_FAILURE_WINDOW_SECONDS)

    with pytest.raises(AuthenticationFailed):
        await people.authenticate(id_number_of(124), "wrong4password")
    assert await people.authenticate(id_number_of(124), PASSWORD)


async def test_the_lock_out_holds_across_service_instances(  # noqa: PLR0917  (fixtures)
    people: PeopleService,
    form: FormMaker,
    engine: AsyncEngine,
    keyring: DataKeyring,
    organisation: OrganisationService,
    clock,
) -> None:
    await people.register(form())
    other_process = PeopleService(engine, keyring, organisation, clock=clock, password_hasher=FAST_HASHER)
    for service in (people, other_process) * 2 + (people,):
        with pytest.raises(AuthenticationFailed):
            await service.authenticate(id_number_of(124), "wrong4password")

    with pytest.raises(LoginLocked):
        await other_process.authenticate(id_number_of(124), PASSWORD)


async def test_concurrent_guesses_cannot_slip_past_the_count(people: PeopleService, form: FormMaker) -> None:
    await people.register(form())

    outcomes = await asyncio.gather(
        *(people.authenticate(id_number_of(124), f"guess{attempt}") for attempt in range(12)), return_exceptions=True
    )

    assert sum(isinstance(outcome, AuthenticationFailed) for outcome in outcomes) == LOGIN_FAILURES_MAX
    assert sum(isinstance(outcome, LoginLocked) for outcome in outcomes) == 12 - LOGIN_FAILURES_MAX


async def test_a_deactivated_account_cannot_sign_in(people: PeopleService, form: FormMaker) -> None:
    person_id = await people.register(form())

    deactivated = await people.deactivate(person_id)

    assert not deactivated.active
    with pytest.raises(AuthenticationFailed):
        await people.authenticate(id_number_of(124), PASSWORD)


async def test_a_hash_with_old_parameters_is_remade_at_login(
    engine: AsyncEngine, keyring: DataKeyring, organisation: OrganisationService, clock, form: FormMaker
) -> None:
    old = PeopleService(engine, keyring, organisation, clock=clock, password_hasher=FAST_HASHER)
    person_id = await old.register(form())
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    new = PeopleService(engine, keyring, organisation, clock=clock, password_hasher=stronger)

    await new.authenticate(id_number_of(124), PASSWORD)

    async with engine.connect() as connection:
        stored = (await connection.execute(text("SELECT password_hash FROM person"))).scalar_one()
    assert not stronger.check_needs_rehash(stored)
    assert stronger.verify(stored, PASSWORD)
    assert await new.authenticate(id_number_of(124), PASSWORD) == person_id


# ---------------------------------------------------------------- sessions


async def test_a_session_token_finds_its_person_and_is_stored_only_as_a_hash(
    people: PeopleService, form: FormMaker, engine: AsyncEngine
) -> None:
    person_id = await people.register(form())

    token = await people.open_session(person_id)

    assert await people.person_for_session(token) == person_id
    assert len(token) >= 43  # 256 bits in URL-safe base64
    async with engine.connect() as connection:
        stored = (await connection.execute(select(PersonSessionRow.__table__.c.token_hash))).scalars().all()
    assert token not in stored
    assert len(stored) == 1


async def test_an_unknown_or_malformed_token_finds_nobody(people: PeopleService) -> None:
    assert await people.person_for_session("not-a-session") is None
    assert await people.person_for_session("") is None
    assert await people.person_for_session("x" * 10_000) is None


async def test_a_session_ends_after_being_idle(people: PeopleService, form: FormMaker, clock) -> None:
    token = await people.open_session(await people.register(form()))

    clock.advance(SESSION_IDLE_SECONDS_MAX - 1)
    assert await people.person_for_session(token) is not None
    clock.advance(SESSION_IDLE_SECONDS_MAX - 1)
    assert await people.person_for_session(token) is not None
    clock.advance(SESSION_IDLE_SECONDS_MAX)
    assert await people.person_for_session(token) is None


async def test_a_busy_session_still_ends_at_its_lifetime(people: PeopleService, form: FormMaker, clock) -> None:
    token = await people.open_session(await people.register(form()))
    step = SESSION_IDLE_SECONDS_MAX // 2

    for _ in range(SESSION_LIFETIME_SECONDS_MAX // step - 1):
        clock.advance(step)
        assert await people.person_for_session(token) is not None
    clock.advance(step)

    assert await people.person_for_session(token) is None


async def test_a_closed_session_is_over_and_others_stay(people: PeopleService, form: FormMaker) -> None:
    person_id = await people.register(form())
    first, second = await people.open_session(person_id), await people.open_session(person_id)

    await people.close_session(first)

    assert await people.person_for_session(first) is None
    assert await people.person_for_session(second) == person_id


async def test_deactivation_ends_every_session(people: PeopleService, form: FormMaker) -> None:
    person_id = await people.register(form())
    token = await people.open_session(person_id)

    await people.deactivate(person_id)

    assert await people.person_for_session(token) is None


async def test_a_person_sees_their_live_sessions_and_no_one_elses(
    people: PeopleService, form: FormMaker, clock
) -> None:
    person_id = await people.register(form())
    other_id = await people.register(form(id_number=id_number_of(126)))
    first = await people.open_session(person_id)
    opened_first = clock.now
    clock.advance(600)
    second = await people.open_session(person_id)
    await people.open_session(other_id)
    closed = await people.open_session(person_id)
    await people.close_session(closed)
    clock.advance(120)
    assert await people.person_for_session(first) == person_id  # used again: its last use moves

    sessions = await people.sessions_of(person_id)

    idle = timedelta(seconds=SESSION_IDLE_SECONDS_MAX)
    assert [(session.opened_at, session.last_seen_at) for session in sessions] == [
        (opened_first, clock.now),
        (opened_first + timedelta(seconds=600), opened_first + timedelta(seconds=600)),
    ]
    assert [session.expires_at for session in sessions] == [clock.now + idle, sessions[1].last_seen_at + idle]
    assert len(await people.sessions_of(other_id)) == 1
    assert await people.sessions_of("0" * 32) == []
    # Only times: nothing that could open a session.
    assert {field.name for field in dataclasses.fields(SessionSummary)} == {"opened_at", "last_seen_at"}
    assert second not in repr(sessions)


async def test_ended_sessions_are_not_listed_and_the_lifetime_bounds_the_expiry(
    people: PeopleService, form: FormMaker, clock
) -> None:
    person_id = await people.register(form())
    busy = await people.open_session(person_id)
    opened_at = clock.now
    step = SESSION_IDLE_SECONDS_MAX // 2
    clock.advance(step)
    assert await people.person_for_session(busy) == person_id
    await people.open_session(person_id)  # left idle from now on
    while clock.now + timedelta(seconds=step) < opened_at + timedelta(seconds=SESSION_LIFETIME_SECONDS_MAX):
        clock.advance(step)
        assert await people.person_for_session(busy) == person_id

    sessions = await people.sessions_of(person_id)

    assert [session.opened_at for session in sessions] == [opened_at]
    assert sessions[0].expires_at == opened_at + timedelta(seconds=SESSION_LIFETIME_SECONDS_MAX)
    clock.advance(step)
    assert await people.sessions_of(person_id) == []


# ---------------------------------------------------------------- changes


async def test_a_profile_change_is_stored_and_encrypted_again(
    people: PeopleService, form: FormMaker, engine: AsyncEngine
) -> None:
    person_id = await people.register(form())

    changed = await people.update_profile(person_id, {"phone": "13900001111", "ethnicity": None, "title": "副主任医师"})

    assert (changed.phone, changed.ethnicity, changed.title) == ("13900001111", None, "副主任医师")
    assert await people.get(person_id) == changed
    async with engine.connect() as connection:
        row = (await connection.execute(select(PersonRow.__table__))).one()
    assert "13900001111" not in " ".join(str(value) for value in row)


async def test_a_profile_change_cannot_change_the_id_number_or_unit(people: PeopleService, form: FormMaker) -> None:
    person_id = await people.register(form())

    with pytest.raises(InvalidPersonData) as caught:
        await people.update_profile(person_id, {"id_number": id_number_of(126), "unit_code": "430000-0001"})

    assert {error.field for error in caught.value.errors} == {"id_number", "unit_code"}
    person = await people.get(person_id)
    assert (person.id_number, person.unit_code) == (id_number_of(124), "430100-0001")


async def test_a_password_change_needs_the_old_password(people: PeopleService, form: FormMaker) -> None:
    person_id = await people.register(form())

    with pytest.raises(InvalidPersonData) as caught:
        await people.change_password(
            person_id,
            {"old_password": "wrong4password", "new_password": "short", "new_password_confirm": "other"},
        )

    assert [error.field for error in caught.value.errors] == ["old_password", "new_password", "new_password_confirm"]
    assert await people.authenticate(id_number_of(124), PASSWORD) == person_id


async def test_a_password_change_needs_a_matching_confirmation(people: PeopleService, form: FormMaker) -> None:
    person_id = await people.register(form())

    for confirmation in ({}, {"new_password_confirm": None}, {"new_password_confirm": "battery5stapler"}):
        with pytest.raises(InvalidPersonData) as caught:
            await people.change_password(
                person_id, {"old_password": PASSWORD, "new_password": "battery5staple", **confirmation}
            )
        assert [error.field for error in caught.value.errors] == ["new_password_confirm"]
    assert await people.authenticate(id_number_of(124), PASSWORD) == person_id


async def test_a_password_change_ends_the_other_sessions(people: PeopleService, form: FormMaker) -> None:
    person_id = await people.register(form())
    kept, other = await people.open_session(person_id), await people.open_session(person_id)

    await people.change_password(
        person_id,
        {"old_password": PASSWORD, "new_password": "battery5staple", "new_password_confirm": "battery5staple"},
        keep_session=kept,
    )

    assert await people.person_for_session(kept) == person_id
    assert await people.person_for_session(other) is None
    assert await people.authenticate(id_number_of(124), "battery5staple") == person_id
    with pytest.raises(AuthenticationFailed):
        await people.authenticate(id_number_of(124), PASSWORD)


async def test_an_operator_reset_sets_the_password_ends_sessions_and_lifts_the_lock(
    people: PeopleService, form: FormMaker
) -> None:
    person_id = await people.register(form())
    token = await people.open_session(person_id)
    for _ in range(LOGIN_FAILURES_MAX):
        with pytest.raises(AuthenticationFailed):
            await people.authenticate(id_number_of(124), "wrong4password")

    await people.set_password(person_id, "battery5staple")

    assert await people.person_for_session(token) is None
    assert await people.authenticate(id_number_of(124), "battery5staple") == person_id
    with pytest.raises(InvalidPersonData):
        await people.set_password(person_id, "weak")


async def test_a_transfer_needs_an_institution(people: PeopleService, form: FormMaker) -> None:
    person_id = await people.register(form())

    moved = await people.change_unit(person_id, "430000-0001")

    assert moved.unit_code == "430000-0001"
    assert (await people.get(person_id)).unit_code == "430000-0001"
    with pytest.raises(InvalidPersonData):
        await people.change_unit(person_id, "430000-health")


async def test_a_mistyped_id_number_is_corrected_and_found_by_the_new_one(
    people: PeopleService, form: FormMaker
) -> None:
    person_id = await people.register(form())

    corrected = await people.correct_id_number(person_id, "43010219900307112x")

    assert corrected.id_number == "43010219900307112X"
    assert await people.find_by_id_number("43010219900307112X") == person_id
    assert await people.find_by_id_number(id_number_of(124)) is None
    assert await people.authenticate("43010219900307112X", PASSWORD) == person_id


async def test_a_correction_to_a_taken_or_invalid_number_is_refused(people: PeopleService, form: FormMaker) -> None:
    person_id = await people.register(form())
    await people.register(form(id_number=id_number_of(126), phone="13900000000"))

    with pytest.raises(IdNumberTaken):
        await people.correct_id_number(person_id, id_number_of(126))
    with pytest.raises(InvalidPersonData):
        await people.correct_id_number(person_id, "430102199003071235")
    assert (await people.correct_id_number(person_id, id_number_of(124))).id_number == id_number_of(124)


async def test_changes_to_an_unknown_person_are_refused(people: PeopleService) -> None:
    for change in (
        people.update_profile("nobody", {"title": "其他"}),
        people.change_unit("nobody", "430000-0001"),
        people.correct_id_number("nobody", id_number_of(124)),
        people.deactivate("nobody"),
        people.open_session("nobody"),
        people.set_password("nobody", "battery5staple"),
    ):
        with pytest.raises(PersonNotFound):
            await change
