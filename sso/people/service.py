"""People's use cases: register, sign in, keep a profile, sessions; and what operators do to accounts.

The ID number, phone and e-mail are encrypted with the hub's ``DataKeyring`` under a context that
names the field and the person (a token copied to another row or field does not decrypt), and the
ID number is found by its blind index. A ``Person`` is decrypted only here, on the way out.

Passwords are argon2id hashes (argon2-cffi); a hash made with older parameters is remade at the
next successful login. Hashing runs in a thread so that the event loop keeps serving.

Failed logins are counted in the database by the ID number's blind index, so that the lock-out holds
across processes. An attempt is recorded as a failure before the password is checked and forgiven
when it proves right: concurrent guesses cannot slip past the count.
"""

from __future__ import annotations

import asyncio
import math
import secrets
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.model import PersonId
from sso.errors import InvalidIdNumber, UnknownOrganisationCode
from sso.id_numbers import BEIJING, Gender, IdNumber, mask_id_number, normalise_id_number
from sso.organisation import InstitutionCode
from sso.people.errors import AuthenticationFailed, FieldError, InvalidPersonData, LoginLocked
from sso.people.model import (
    ID_NUMBER_CHARACTERS_MAX,
    LOGIN_FAILURE_WINDOW_SECONDS,
    LOGIN_FAILURES_MAX,
    PASSWORD_CHARACTERS_MAX,
    ROSTER_UNITS_PER_QUERY_MAX,
    SESSION_IDLE_SECONDS_MAX,
    SESSION_LIFETIME_SECONDS_MAX,
    SESSION_TOKEN_BYTES,
    SESSIONS_LISTED_MAX,
    Education,
    MaskedIdentity,
    Member,
    Person,
    Registration,
    SessionSummary,
    SessionToken,
    apply_profile_changes,
    check_new_password,
    mask_name,
    parse_profile_changes,
    parse_registration,
    session_token_hash,
)
from sso.people.store import SessionsToEnd, SqlPeopleStore
from sso.people.tables import PersonRow
from sso.personal_data import DataKeyring
from sso.units.service import OrganisationService

__all__ = ["ID_NUMBER_INDEX_PURPOSE", "PeopleService"]

ID_NUMBER_INDEX_PURPOSE = "person.id_number"
SESSION_TOUCH_INTERVAL_SECONDS = 60
"""A session's last use is written at most this often, so that reading pages does not write each time."""
SESSION_TOKEN_CHARACTERS_MAX = 64


def utc_now() -> datetime:
    return datetime.now(UTC)


class PeopleService:
    """People and their sessions, stored in the hub's database.

    ``clock`` gives the current aware time (tests move it); ``password_hasher`` defaults to
    argon2-cffi's recommended argon2id parameters.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        keyring: DataKeyring,
        organisation: OrganisationService,
        *,
        clock: Callable[[], datetime] = utc_now,
        password_hasher: PasswordHasher | None = None,
    ) -> None:
        self._store = SqlPeopleStore(engine)
        self._keyring = keyring
        self._organisation = organisation
        self._clock = clock
        self._hasher = PasswordHasher() if password_hasher is None else password_hasher
        self._unknown_person_hash: str | None = None

    # ------------------------------------------------------------ registration and reading

    async def register(self, form: Mapping[str, object]) -> PersonId:
        """Register a person from the registration form (hub-api.md, Staff) and return the new id.

        Raises ``InvalidPersonData`` listing every field at fault (an unknown institution too), and
        ``IdNumberTaken`` when the form is valid and the ID number already has an account.
        """
        registration = await self._parse_registration(form)
        now = self._now()
        person_id = PersonId(uuid.uuid4().hex)
        row = PersonRow(
            id=person_id,
            id_number_index=self._index(registration.id_number),
            id_number_encrypted=self._encrypt(person_id, "id_number", registration.id_number),
            phone_encrypted="",
            email_encrypted="",
            password_hash=await self._hash(registration.password),
            name=registration.name,
            gender=registration.gender.value,
            ethnicity=registration.ethnicity,
            native_place=registration.native_place,
            education=registration.education.value,
            major=registration.major,
            school=registration.school,
            graduated_on=registration.graduated_on,
            unit_code=registration.unit_code,
            title=registration.title,
            title_since=registration.title_since,
            created_at=now,
            updated_at=now,
        )
        self._write_profile(row, registration)
        await self._store.add_person(row)
        return person_id

    async def get(self, person_id: str) -> Person:
        """The person with this id, decrypted. Raises ``PersonNotFound``."""
        return self._person(await self._store.person(person_id))

    async def many(self, person_ids: Collection[str]) -> dict[PersonId, Person]:
        """Those of these people the hub knows, decrypted, by id."""
        return {PersonId(row.id): self._person(row) for row in await self._store.people(person_ids)}

    async def find_by_id_number(self, text: str) -> PersonId | None:
        """The id of the person registered with this ID number (normalised first), or ``None``.

        A text that is no valid ID number finds nobody.
        """
        id_number = self._valid_id_number(text)
        if id_number is None:
            return None
        row = await self._store.person_by_index(self._index(id_number))
        return None if row is None else PersonId(row.id)

    async def find_by_id_numbers(self, id_numbers: Collection[IdNumber]) -> dict[IdNumber, Person]:
        """The registered people among these (valid, normalised) ID numbers, by ID number; the rest are absent."""
        rows = await self._store.people_by_index([self._index(id_number) for id_number in id_numbers])
        people = (self._person(row) for row in rows)
        return {person.id_number: person for person in people}

    # ------------------------------------------------------------ rosters, for oversight

    async def roster(self, unit_codes: Sequence[str], *, after: Member | None, count: int) -> list[Member]:
        """Up to ``count`` active people of these institutions, ordered by institution code and id, after ``after``.

        Deactivated accounts are left out. Raises ``ValueError`` for more than
        ``ROSTER_UNITS_PER_QUERY_MAX`` institutions at once (a bug of the caller).
        """
        if len(unit_codes) > ROSTER_UNITS_PER_QUERY_MAX:
            raise ValueError(f"a roster covers at most {ROSTER_UNITS_PER_QUERY_MAX} institutions at once")
        position = None if after is None else (after.unit_code, after.person_id)
        rows = await self._store.roster(unit_codes, position, count)
        return [Member(InstitutionCode(unit_code), PersonId(person_id)) for unit_code, person_id in rows]

    async def masked_identities(self, person_ids: Sequence[str]) -> dict[PersonId, MaskedIdentity]:
        """The masked ID number and masked name of each of these people that exists."""
        identities: dict[PersonId, MaskedIdentity] = {}
        for start in range(0, len(person_ids), ROSTER_UNITS_PER_QUERY_MAX):
            chunk = person_ids[start : start + ROSTER_UNITS_PER_QUERY_MAX]
            for person_id, name, id_number_token in await self._store.names_and_id_numbers(chunk):
                id_number = IdNumber(self._decrypt(person_id, "id_number", id_number_token))
                identities[PersonId(person_id)] = MaskedIdentity(mask_id_number(id_number), mask_name(name))
        return identities

    # ------------------------------------------------------------ signing in

    async def authenticate(self, id_number: str, password: str) -> PersonId:
        """The id of the active person with this ID number and password.

        Raises ``AuthenticationFailed`` alike for an unknown ID number, a wrong password or a
        deactivated account, and ``LoginLocked`` (with the seconds to wait) after
        ``LOGIN_FAILURES_MAX`` failures for this ID number within ``LOGIN_FAILURE_WINDOW_SECONDS``,
        whatever the password. An attempt counts as a failure until the password proves right.
        """
        valid = self._valid_id_number(id_number)
        if valid is None or len(password) > PASSWORD_CHARACTERS_MAX:
            await self._verify(await self._unknown_hash(), password)
            raise AuthenticationFailed
        index = self._index(valid)
        now = self._now()
        attempt = await self._store.record_attempt(
            index, now=now, window=timedelta(seconds=LOGIN_FAILURE_WINDOW_SECONDS), failures_max=LOGIN_FAILURES_MAX
        )
        if attempt.locked_until is not None:
            raise LoginLocked(max(1, math.ceil((attempt.locked_until - now).total_seconds())))
        row = attempt.person
        if row is None or row.deactivated_at is not None:
            await self._verify(await self._unknown_hash(), password)
            raise AuthenticationFailed
        if not await self._verify(row.password_hash, password):
            raise AuthenticationFailed
        rehashed = await self._hash(password) if self._hasher.check_needs_rehash(row.password_hash) else None
        await self._store.forgive_attempts(index, person_id=row.id, new_password_hash=rehashed)
        return PersonId(row.id)

    async def open_session(self, person_id: str) -> SessionToken:
        """Open a session for the person and return its token (only its SHA-256 is stored).

        Raises ``PersonNotFound``.
        """
        token = SessionToken(secrets.token_urlsafe(SESSION_TOKEN_BYTES))
        now = self._now()
        idle_since = now - timedelta(seconds=SESSION_IDLE_SECONDS_MAX)
        await self._store.open_session(session_token_hash(token), person_id, now=now, idle_since=idle_since)
        return token

    async def person_for_session(self, token: str) -> PersonId | None:
        """The person a live session token belongs to, or ``None``.

        A session is over once unused for ``SESSION_IDLE_SECONDS_MAX`` or
        ``SESSION_LIFETIME_SECONDS_MAX`` after it was opened; asking counts as using it.
        """
        if not 0 < len(token) <= SESSION_TOKEN_CHARACTERS_MAX:
            return None
        now = self._now()
        person_id = await self._store.session_person(
            session_token_hash(token),
            now=now,
            idle_since=now - timedelta(seconds=SESSION_IDLE_SECONDS_MAX),
            opened_since=now - timedelta(seconds=SESSION_LIFETIME_SECONDS_MAX),
            touch_before=now - timedelta(seconds=SESSION_TOUCH_INTERVAL_SECONDS),
        )
        return None if person_id is None else PersonId(person_id)

    async def sessions_of(self, person_id: str) -> list[SessionSummary]:
        """The person's live sessions, the oldest first (at most ``SESSIONS_LISTED_MAX``): when each was
        opened, last used and ends; never a token or its hash. An unknown person has none."""
        now = self._now()
        return await self._store.live_sessions(
            person_id,
            idle_since=now - timedelta(seconds=SESSION_IDLE_SECONDS_MAX),
            opened_since=now - timedelta(seconds=SESSION_LIFETIME_SECONDS_MAX),
            count=SESSIONS_LISTED_MAX,
        )

    async def close_session(self, token: str) -> None:
        """End the session of this token; a token that opens nothing is ignored."""
        if 0 < len(token) <= SESSION_TOKEN_CHARACTERS_MAX:
            await self._store.close_session(session_token_hash(token))

    async def close_sessions(self, person_id: str, *, keep: str | None = None) -> None:
        """End every session of the person, except the one of the token ``keep``."""
        await self._store.close_sessions(person_id, keep_hash=None if keep is None else session_token_hash(keep))

    # ------------------------------------------------------------ what a person changes

    async def update_profile(self, person_id: str, form: Mapping[str, object]) -> Person:
        """Change the profile fields named in the form and return the person as now stored.

        Raises ``InvalidPersonData`` listing every field at fault (the ID number, password and unit
        code included: they are not changed here), and ``PersonNotFound``.
        """
        changes = parse_profile_changes(form, today=self._today())
        now = self._now()

        def change(row: PersonRow) -> None:
            self._write_profile(row, apply_profile_changes(self._person(row), changes))
            row.updated_at = now

        return self._person(await self._store.change_person(person_id, change))

    async def change_password(
        self, person_id: str, form: Mapping[str, object], *, keep_session: str | None = None
    ) -> None:
        """Change the password from a form of ``old_password``, ``new_password`` and ``new_password_confirm``.

        Every other session of the person ends; ``keep_session`` names the one to keep.
        Raises ``InvalidPersonData`` listing every field at fault (a wrong old password too), and
        ``PersonNotFound``.
        """
        old_password = form.get("old_password")
        new_password, errors = check_new_password(form.get("new_password"))
        if form.get("new_password_confirm") != form.get("new_password"):
            errors.append(FieldError("new_password_confirm", "must equal new_password"))
        row = await self._store.person(person_id)
        if not isinstance(old_password, str) or not await self._verify(row.password_hash, old_password):
            errors.insert(0, FieldError("old_password", "is not the current password"))
        if errors:
            raise InvalidPersonData(errors)
        keep_hash = None if keep_session is None else session_token_hash(keep_session)
        await self._replace_password(person_id, new_password, SessionsToEnd(keep_hash))

    # ------------------------------------------------------------ what an operator does

    async def set_password(self, person_id: str, new_password: str) -> None:
        """Set a new password (after a reset), end every session and forgive the failed logins.

        Raises ``InvalidPersonData`` for a password that breaks the rules, and ``PersonNotFound``.
        """
        password, errors = check_new_password(new_password, field="password")
        if errors:
            raise InvalidPersonData(errors)
        row = await self._replace_password(person_id, password, SessionsToEnd())
        await self._store.forgive_attempts(row.id_number_index, person_id=row.id, new_password_hash=None)

    async def change_unit(self, person_id: str, unit_code: str) -> Person:
        """Move the person to another institution and return the person as now stored.

        Raises ``InvalidPersonData`` (field ``unit_code``) when the code is no institution, and
        ``PersonNotFound``.
        """
        if not await self._is_institution(unit_code):
            raise InvalidPersonData([FieldError("unit_code", "is not an institution")])
        now = self._now()

        def change(row: PersonRow) -> None:
            row.unit_code = unit_code
            row.updated_at = now

        return self._person(await self._store.change_person(person_id, change))

    async def correct_id_number(self, person_id: str, id_number: str) -> Person:
        """Replace a mistyped ID number and return the person as now stored.

        Raises ``InvalidPersonData`` (field ``id_number``) for an invalid number, ``IdNumberTaken``
        when another account has it, and ``PersonNotFound``.
        """
        try:
            corrected = normalise_id_number(id_number[:ID_NUMBER_CHARACTERS_MAX], today=self._today())
        except InvalidIdNumber as exc:
            raise InvalidPersonData([FieldError("id_number", exc.detail)]) from None
        now = self._now()

        def change(row: PersonRow) -> None:
            row.id_number_encrypted = self._encrypt(row.id, "id_number", corrected)
            row.updated_at = now

        return self._person(await self._store.replace_id_number(person_id, self._index(corrected), change))

    async def deactivate(self, person_id: str) -> Person:
        """Deactivate the account (it can no longer sign in), end its sessions, and return it.

        Deactivating an inactive account changes nothing. Raises ``PersonNotFound``.
        """
        now = self._now()

        def change(row: PersonRow) -> None:
            if row.deactivated_at is None:
                row.deactivated_at = row.updated_at = now

        return self._person(await self._store.change_person(person_id, change, end_sessions=SessionsToEnd()))

    # ------------------------------------------------------------ inside

    async def _parse_registration(self, form: Mapping[str, object]) -> Registration:
        errors: list[FieldError] = []
        registration: Registration | None = None
        try:
            registration = parse_registration(form, today=self._today())
        except InvalidPersonData as exc:
            errors = list(exc.errors)
        unit_code = form.get("unit_code")
        unit_code_well_formed = not any(error.field == "unit_code" for error in errors)
        if isinstance(unit_code, str) and unit_code_well_formed and not await self._is_institution(unit_code):
            errors.append(FieldError("unit_code", "is not an institution"))
        if errors or registration is None:
            raise InvalidPersonData(errors)
        return registration

    async def _is_institution(self, code: str) -> bool:
        try:
            await self._organisation.institution(code)
        except UnknownOrganisationCode:
            return False
        return True

    async def _replace_password(self, person_id: str, password: str, end_sessions: SessionsToEnd) -> PersonRow:
        password_hash = await self._hash(password)
        now = self._now()

        def change(row: PersonRow) -> None:
            row.password_hash = password_hash
            row.updated_at = now

        return await self._store.change_person(person_id, change, end_sessions=end_sessions)

    async def _hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return await asyncio.to_thread(self._hasher.verify, password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    async def _unknown_hash(self) -> str:
        # Checking a password against a real hash takes as long for an unknown ID number as for a known one.
        if self._unknown_person_hash is None:
            self._unknown_person_hash = await self._hash(secrets.token_urlsafe(16))
        return self._unknown_person_hash

    def _write_profile(self, row: PersonRow, profile: Person | Registration) -> None:
        row.name = profile.name
        row.gender = profile.gender.value
        row.ethnicity = profile.ethnicity
        row.phone_encrypted = self._encrypt(row.id, "phone", profile.phone)
        row.email_encrypted = self._encrypt(row.id, "email", profile.email)
        row.native_place = profile.native_place
        row.education = profile.education.value
        row.major = profile.major
        row.school = profile.school
        row.graduated_on = profile.graduated_on
        row.title = profile.title
        row.title_since = profile.title_since

    def _person(self, row: PersonRow) -> Person:
        return Person(
            id=PersonId(row.id),
            name=row.name,
            gender=Gender(row.gender),
            ethnicity=row.ethnicity,
            phone=self._decrypt(row.id, "phone", row.phone_encrypted),
            email=self._decrypt(row.id, "email", row.email_encrypted),
            native_place=row.native_place,
            education=Education(row.education),
            major=row.major,
            school=row.school,
            graduated_on=row.graduated_on,
            unit_code=InstitutionCode(row.unit_code),
            title=row.title,
            title_since=row.title_since,
            id_number=IdNumber(self._decrypt(row.id, "id_number", row.id_number_encrypted)),
            created_at=row.created_at,
            deactivated_at=row.deactivated_at,
        )

    def _encrypt(self, person_id: str, field: str, plaintext: str) -> str:
        return self._keyring.encrypt(plaintext, context=f"person.{person_id}.{field}")

    def _decrypt(self, person_id: str, field: str, token: str) -> str:
        return self._keyring.decrypt(token, context=f"person.{person_id}.{field}")

    def _index(self, id_number: IdNumber) -> str:
        return self._keyring.blind_index(id_number, purpose=ID_NUMBER_INDEX_PURPOSE)

    def _valid_id_number(self, text: str) -> IdNumber | None:
        try:
            return normalise_id_number(text[:ID_NUMBER_CHARACTERS_MAX], today=self._today())
        except InvalidIdNumber:
            return None

    def _now(self) -> datetime:
        now = self._clock()
        if now.utcoffset() is None:
            raise ValueError("the clock must give aware times")
        return now

    def _today(self) -> date:
        return self._now().astimezone(BEIJING).date()
