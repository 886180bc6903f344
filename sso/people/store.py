"""People's storage: rows of people, sessions and login attempts, each call one transaction.

The store sees only what the database holds: blind indexes, ciphertexts, hashes. Deciding,
encrypting and hashing are the service's.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import and_, delete, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ledger.store import one_of
from sso.people.errors import IdNumberTaken, PersonNotFound
from sso.people.model import SessionSummary
from sso.people.tables import LoginFailureRow, PersonRow, PersonSessionRow

__all__ = ["Attempt", "SessionsToEnd", "SqlPeopleStore"]

INDEXES_PER_QUERY_MAX: Final = 500
_ADVISORY_LOCK_HEX_DIGITS: Final = 15
"""60 bits of a blind index make a positive PostgreSQL bigint lock key."""


@dataclass(frozen=True, slots=True)
class Attempt:
    """A login attempt as recorded: the person of the ID number, or when the lock-out ends."""

    person: PersonRow | None
    locked_until: datetime | None


@dataclass(frozen=True, slots=True)
class SessionsToEnd:
    """End a person's sessions in the same transaction as a change, but the one of ``keep_hash``."""

    keep_hash: str | None = None


class SqlPeopleStore:
    """People, sessions and login attempts on SQLite or PostgreSQL."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._dialect = engine.dialect.name
        self._sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)

    # ------------------------------------------------------------ people

    async def add_person(self, row: PersonRow) -> None:
        """Insert a person. Raises ``IdNumberTaken`` when the blind index is already held."""
        try:
            async with self._sessions() as session, session.begin():
                if await _person_by_index(session, row.id_number_index) is not None:
                    raise IdNumberTaken
                session.add(row)
        except IntegrityError as exc:
            # Two registrations of one ID number at once: the unique blind index lets one through.
            raise IdNumberTaken from exc

    async def person(self, person_id: str) -> PersonRow:
        """The person's row. Raises ``PersonNotFound``."""
        async with self._sessions() as session:
            return await _existing(session, person_id)

    async def people(self, person_ids: Collection[str]) -> list[PersonRow]:
        """The rows of those of these people who exist, in no particular order."""
        if not person_ids:
            return []
        async with self._sessions() as session:
            result = await session.exec(select(PersonRow).where(col(PersonRow.id).in_(list(person_ids))))
            return list(result.all())

    async def person_by_index(self, index: str) -> PersonRow | None:
        """The row of the person whose ID number has this blind index, if any."""
        async with self._sessions() as session:
            return await _person_by_index(session, index)

    async def people_by_index(self, indexes: Collection[str]) -> list[PersonRow]:
        """The rows of the people whose ID numbers have these blind indexes, in no particular order."""
        wanted = sorted(set(indexes))
        rows: list[PersonRow] = []
        async with self._sessions() as session:
            for start in range(0, len(wanted), INDEXES_PER_QUERY_MAX):
                chunk = wanted[start : start + INDEXES_PER_QUERY_MAX]
                rows += (await session.exec(select(PersonRow).where(col(PersonRow.id_number_index).in_(chunk)))).all()
        return rows

    async def change_person(
        self, person_id: str, change: Callable[[PersonRow], None], *, end_sessions: SessionsToEnd | None = None
    ) -> PersonRow:
        """Apply ``change`` to the person's row and store it, ending sessions as asked, in one transaction.

        Raises ``PersonNotFound``.
        """
        async with self._sessions() as session, session.begin():
            row = await _existing(session, person_id)
            change(row)
            if end_sessions is not None:
                await _end_sessions(session, person_id, end_sessions.keep_hash)
            return row

    async def replace_id_number(self, person_id: str, index: str, change: Callable[[PersonRow], None]) -> PersonRow:
        """Give the person the ID number of this blind index (``change`` sets its ciphertext).

        Raises ``IdNumberTaken`` when another person holds the index, and ``PersonNotFound``.
        """
        try:
            async with self._sessions() as session, session.begin():
                row = await _existing(session, person_id)
                holder = await _person_by_index(session, index)
                if holder is not None and holder.id != row.id:
                    raise IdNumberTaken
                row.id_number_index = index
                change(row)
                return row
        except IntegrityError as exc:
            raise IdNumberTaken from exc

    async def roster(
        self, unit_codes: Sequence[str], after: tuple[str, str] | None, count: int
    ) -> list[tuple[str, str]]:
        """Up to ``count`` ``(unit_code, id)`` of active people of these institutions, in that order, after
        ``after``."""
        unit_code, person_id = col(PersonRow.unit_code), col(PersonRow.id)
        statement = select(unit_code, person_id).where(
            one_of(unit_code, list(unit_codes), self._dialect), col(PersonRow.deactivated_at).is_(None)
        )
        if after is not None:
            statement = statement.where(or_(unit_code > after[0], and_(unit_code == after[0], person_id > after[1])))
        async with self._sessions() as session:
            rows = (await session.exec(statement.order_by(unit_code, person_id).limit(count))).all()
        return [(row[0], row[1]) for row in rows]

    async def names_and_id_numbers(self, person_ids: Sequence[str]) -> list[tuple[str, str, str]]:
        """The ``(id, name, encrypted ID number)`` of those of these people who exist: three columns, where
        a roster page's hundreds of whole rows would cost a third of the page's time."""
        statement = select(PersonRow.id, PersonRow.name, PersonRow.id_number_encrypted).where(
            one_of(col(PersonRow.id), list(person_ids), self._dialect)
        )
        async with self._sessions() as session:
            rows = (await session.exec(statement)).all()
        return [(row[0], row[1], row[2]) for row in rows]

    # ------------------------------------------------------------ sessions

    async def open_session(self, token_hash: str, person_id: str, *, now: datetime, idle_since: datetime) -> None:
        """Store a new session, dropping every session unused since ``idle_since``. Raises ``PersonNotFound``."""
        async with self._sessions() as session, session.begin():
            await _existing(session, person_id)
            await session.exec(delete(PersonSessionRow).where(col(PersonSessionRow.last_seen_at) <= idle_since))
            session.add(PersonSessionRow(token_hash=token_hash, person_id=person_id, opened_at=now, last_seen_at=now))

    async def session_person(
        self, token_hash: str, *, now: datetime, idle_since: datetime, opened_since: datetime, touch_before: datetime
    ) -> str | None:
        """The person of a live session, which counts as used now; ``None`` for an unknown or ended one.

        A session unused since ``idle_since`` or opened before ``opened_since`` has ended and is
        dropped; the last use is written only when older than ``touch_before``.
        """
        async with self._sessions() as session, session.begin():
            row = await session.get(PersonSessionRow, token_hash)
            if row is None:
                return None
            if row.last_seen_at <= idle_since or row.opened_at <= opened_since:
                await session.delete(row)
                return None
            if row.last_seen_at <= touch_before:
                row.last_seen_at = now
            return row.person_id

    async def live_sessions(
        self, person_id: str, *, idle_since: datetime, opened_since: datetime, count: int
    ) -> list[SessionSummary]:
        """The person's sessions used since ``idle_since`` and opened since ``opened_since``, the oldest
        first, up to ``count``: never a token's hash, so nothing read here could open a session."""
        statement = (
            select(PersonSessionRow.opened_at, PersonSessionRow.last_seen_at)
            .where(
                col(PersonSessionRow.person_id) == person_id,
                col(PersonSessionRow.last_seen_at) > idle_since,
                col(PersonSessionRow.opened_at) > opened_since,
            )
            .order_by(col(PersonSessionRow.opened_at))
            .limit(count)
        )
        async with self._sessions() as session:
            rows = (await session.exec(statement)).all()
        return [SessionSummary(opened_at=opened_at, last_seen_at=last_seen_at) for opened_at, last_seen_at in rows]

    async def close_session(self, token_hash: str) -> None:
        """Drop one session; an unknown one is ignored."""
        async with self._sessions() as session, session.begin():
            await session.exec(delete(PersonSessionRow).where(col(PersonSessionRow.token_hash) == token_hash))

    async def close_sessions(self, person_id: str, *, keep_hash: str | None) -> None:
        """Drop every session of the person but the one of ``keep_hash``."""
        async with self._sessions() as session, session.begin():
            await _end_sessions(session, person_id, keep_hash)

    # ------------------------------------------------------------ login attempts

    async def record_attempt(self, index: str, *, now: datetime, window: timedelta, failures_max: int) -> Attempt:
        """Record an attempt as a failure, unless ``failures_max`` failures within ``window`` lock it out.

        Attempts for one blind index are serialised, so concurrent guesses are all counted.
        """
        async with self._sessions() as session, session.begin():
            if self._dialect == "postgresql":
                # SQLite transactions begin IMMEDIATE and so queue already.
                lock_key = int(index[:_ADVISORY_LOCK_HEX_DIGITS], 16)
                await session.exec(select(func.pg_advisory_xact_lock(lock_key)))
            await session.exec(delete(LoginFailureRow).where(col(LoginFailureRow.failed_at) <= now - window))
            failures = (
                await session.exec(
                    select(LoginFailureRow.failed_at)
                    .where(col(LoginFailureRow.id_number_index) == index)
                    .order_by(col(LoginFailureRow.failed_at))
                )
            ).all()
            if len(failures) >= failures_max:
                return Attempt(person=None, locked_until=failures[-failures_max] + window)
            session.add(LoginFailureRow(id_number_index=index, failed_at=now))
            return Attempt(person=await _person_by_index(session, index), locked_until=None)

    async def forgive_attempts(self, index: str, *, person_id: str, new_password_hash: str | None) -> None:
        """Forget the failures of this blind index after a success, storing a remade password hash if given."""
        async with self._sessions() as session, session.begin():
            await session.exec(delete(LoginFailureRow).where(col(LoginFailureRow.id_number_index) == index))
            if new_password_hash is not None:
                statement = update(PersonRow).where(col(PersonRow.id) == person_id)
                await session.exec(statement.values(password_hash=new_password_hash))


async def _person_by_index(session: AsyncSession, index: str) -> PersonRow | None:
    return (await session.exec(select(PersonRow).where(col(PersonRow.id_number_index) == index))).first()


async def _existing(session: AsyncSession, person_id: str) -> PersonRow:
    row = await session.get(PersonRow, person_id)
    if row is None:
        raise PersonNotFound(person_id)
    return row


async def _end_sessions(session: AsyncSession, person_id: str, keep_hash: str | None) -> None:
    statement = delete(PersonSessionRow).where(col(PersonSessionRow.person_id) == person_id)
    if keep_hash is not None:
        statement = statement.where(col(PersonSessionRow.token_hash) != keep_hash)
    await session.exec(statement)
