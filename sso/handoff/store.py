"""The handoff on SQL (SQLite or PostgreSQL): signing keys, pairwise subjects, consents and
message hints. Database errors become ``HandoffUnavailable`` here and nowhere else.

Every write that two processes could race on is decided by a unique key or a conditional update,
never by a read followed by a write.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Row, Table, and_, delete, func, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ledger.model import PersonId
from sso.handoff.errors import HandoffUnavailable
from sso.handoff.model import (
    Consent,
    ConsentRecord,
    KeyUse,
    Kid,
    PairwiseSubject,
    SharedField,
    SigningAlgorithm,
    SigningKeyRecord,
    Vendor,
    VendorAccount,
)
from sso.handoff.tables import ConsentRow, MessageHintRow, PairwiseSubjectRow, SigningKeyRow

__all__ = ["GenerationTaken", "MessageHint", "NewSigningKey", "SqlHandoffStore", "StoredKey"]

KEYS: Final[Table] = SigningKeyRow.metadata.tables["handoff_signing_key"]
SUBJECTS: Final[Table] = PairwiseSubjectRow.metadata.tables["handoff_subject"]
CONSENTS: Final[Table] = ConsentRow.metadata.tables["handoff_consent"]
HINTS: Final[Table] = MessageHintRow.metadata.tables["handoff_message_hint"]

SIGNING_KEYS_MAX: Final = 10_000
"""No deployment rotates this often; reading more would mean something is badly wrong."""
HINTS_KEPT_AFTER_EXPIRY: Final = timedelta(days=1)
CONSENT_FIELD_SEPARATOR: Final = ","


class GenerationTaken(Exception):
    """Another process added a key of this use, algorithm and generation first."""


@dataclass(frozen=True, slots=True)
class StoredKey:
    """A signing key as stored: its public record and its private JWK, encrypted."""

    record: SigningKeyRecord
    encrypted_private_key: str

    def __repr__(self) -> str:
        return f"StoredKey(kid={self.record.kid!r})"


@dataclass(frozen=True, slots=True)
class NewSigningKey:
    """A key to add: its record (retired_at None) and its private JWK, encrypted."""

    record: SigningKeyRecord
    encrypted_private_key: str

    def __repr__(self) -> str:
        return f"NewSigningKey(kid={self.record.kid!r})"


@dataclass(frozen=True, slots=True)
class MessageHint:
    """An issued ``lti_message_hint``, by the SHA-256 of its value, and the launch it names."""

    digest: str
    launch_id: str
    person_id: PersonId
    vendor: Vendor
    login_hint: str
    issued_at: datetime
    expires_at: datetime


class SqlHandoffStore:
    """The handoff's tables behind one engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self._engine.begin() as connection:
                yield connection
        except IntegrityError:
            raise  # a lost race, for the caller to decide about
        except (DBAPIError, OSError) as exc:
            # The driver's message may name the database and its user: say only what failed.
            raise HandoffUnavailable("the handoff's database cannot be reached") from exc

    # ------------------------------------------------------------ signing keys

    async def signing_keys(self) -> list[StoredKey]:
        """Every signing key, oldest first."""
        query = select(KEYS).order_by(KEYS.c.created_at, KEYS.c.generation).limit(SIGNING_KEYS_MAX + 1)
        async with self._transaction() as connection:
            rows = (await connection.execute(query)).all()
        if len(rows) > SIGNING_KEYS_MAX:
            raise RuntimeError(f"more than {SIGNING_KEYS_MAX} signing keys are stored")
        return [StoredKey(record=_key_record(row), encrypted_private_key=row.private_key) for row in rows]

    async def add_key(self, new: NewSigningKey) -> None:
        """Add a key. Raises ``GenerationTaken`` when its use, algorithm and generation exist already."""
        try:
            async with self._transaction() as connection:
                await connection.execute(insert(KEYS).values(**_key_values(new)))
        except IntegrityError as exc:
            raise GenerationTaken(new.record.kid) from exc

    async def add_successors(self, successors: Sequence[NewSigningKey]) -> None:
        """Add each key and retire, at its activation, the newest unretired key of its use and
        algorithm, all in one transaction; the caller numbered the successors one past the newest.

        Raises ``GenerationTaken`` when another process added a key of one of those generations first:
        nothing is changed then.
        """
        try:
            async with self._transaction() as connection:
                for successor in successors:
                    record = successor.record
                    await connection.execute(
                        update(KEYS)
                        .where(
                            KEYS.c.use == record.use.value,
                            KEYS.c.algorithm == record.algorithm.value,
                            KEYS.c.generation == record.generation - 1,
                            KEYS.c.retired_at.is_(None),
                        )
                        .values(retired_at=record.activates_at)
                    )
                    await connection.execute(insert(KEYS).values(**_key_values(successor)))
        except IntegrityError as exc:
            raise GenerationTaken("a successor's generation was taken") from exc

    # ------------------------------------------------------------ pairwise subjects

    async def link_subject(self, person_id: PersonId, vendor: Vendor, subject: PairwiseSubject, now: datetime) -> None:
        """Record the person's subject at the vendor, unless it is recorded already."""
        if await self.subject_of(person_id, vendor) is not None:
            return
        values = {"person_id": person_id, "vendor": vendor.value, "subject": subject, "linked_at": now}
        try:
            async with self._transaction() as connection:
                await connection.execute(insert(SUBJECTS).values(**values))
        except IntegrityError:
            # Another launch of the same person linked it first; the subject is the same by construction.
            if await self.subject_of(person_id, vendor) != subject:
                raise

    async def subject_of(self, person_id: PersonId, vendor: Vendor) -> PairwiseSubject | None:
        """The recorded subject of the person at the vendor, or None before the first launch."""
        query = select(SUBJECTS.c.subject).where(SUBJECTS.c.person_id == person_id, SUBJECTS.c.vendor == vendor.value)
        async with self._transaction() as connection:
            subject = (await connection.execute(query)).scalar_one_or_none()
        return None if subject is None else PairwiseSubject(subject)

    async def person_for_subject(self, vendor: Vendor, subject: str) -> PersonId | None:
        """The person the hub gave this subject at this vendor, or None."""
        query = select(SUBJECTS.c.person_id).where(SUBJECTS.c.vendor == vendor.value, SUBJECTS.c.subject == subject)
        async with self._transaction() as connection:
            person_id = (await connection.execute(query)).scalar_one_or_none()
        return None if person_id is None else PersonId(person_id)

    async def set_vendor_account(self, vendor: Vendor, subject: str, account_id: str) -> bool:
        """Record the vendor's own account id for a subject; False when the subject is unknown."""
        statement = (
            update(SUBJECTS)
            .where(SUBJECTS.c.vendor == vendor.value, SUBJECTS.c.subject == subject)
            .values(vendor_account_id=account_id)
        )
        async with self._transaction() as connection:
            result = await connection.execute(statement)
        return result.rowcount == 1

    async def vendor_accounts(self, person_id: PersonId) -> list[VendorAccount]:
        """The person's subject at each vendor they were handed over to, by vendor code."""
        query = (
            select(SUBJECTS)
            .where(SUBJECTS.c.person_id == person_id)
            .order_by(SUBJECTS.c.vendor)
            .limit(len(Vendor))  # one row per vendor: the primary key is (person_id, vendor)
        )
        async with self._transaction() as connection:
            rows = (await connection.execute(query)).all()
        return [
            VendorAccount(
                vendor=Vendor(row.vendor),
                subject=PairwiseSubject(row.subject),
                linked_at=row.linked_at,
                account_id=row.vendor_account_id,
            )
            for row in rows
        ]

    async def vendor_account_of(self, vendor: Vendor, subject: str) -> str | None:
        """The vendor's own account id for a subject, once the vendor has told it."""
        query = select(SUBJECTS.c.vendor_account_id).where(
            SUBJECTS.c.vendor == vendor.value, SUBJECTS.c.subject == subject
        )
        async with self._transaction() as connection:
            account_id: str | None = (await connection.execute(query)).scalar_one_or_none()
        return account_id

    # ------------------------------------------------------------ consents

    async def consent(self, person_id: PersonId, vendor: Vendor) -> Consent | None:
        """The person's standing consent for the vendor, or None (never given, or withdrawn)."""
        query = select(CONSENTS).where(
            CONSENTS.c.person_id == person_id,
            CONSENTS.c.vendor == vendor.value,
            CONSENTS.c.withdrawn_at.is_(None),
        )
        async with self._transaction() as connection:
            row = (await connection.execute(query)).one_or_none()
        return None if row is None else _consent(row)

    async def consents(self, person_id: PersonId) -> list[Consent]:
        """The person's standing consents, by vendor code."""
        query = (
            select(CONSENTS)
            .where(CONSENTS.c.person_id == person_id, CONSENTS.c.withdrawn_at.is_(None))
            .order_by(CONSENTS.c.vendor)
            .limit(len(Vendor))
        )
        async with self._transaction() as connection:
            rows = (await connection.execute(query)).all()
        return [_consent(row) for row in rows]

    async def consent_records(self, person_id: PersonId) -> list[ConsentRecord]:
        """Every consent the person gave, standing or withdrawn, by vendor code."""
        query = (
            select(CONSENTS)
            .where(CONSENTS.c.person_id == person_id)
            .order_by(CONSENTS.c.vendor)
            .limit(len(Vendor))  # one row per vendor: the primary key is (person_id, vendor)
        )
        async with self._transaction() as connection:
            rows = (await connection.execute(query)).all()
        return [ConsentRecord(consent=_consent(row), withdrawn_at=row.withdrawn_at) for row in rows]

    async def save_consent(self, consent: Consent) -> None:
        """Record a consent, replacing the person's earlier one for the vendor (withdrawn or not)."""
        values = {
            "fields": CONSENT_FIELD_SEPARATOR.join(field.value for field in consent.fields),
            "given_at": consent.given_at,
            "withdrawn_at": None,
        }
        key = and_(CONSENTS.c.person_id == consent.person_id, CONSENTS.c.vendor == consent.vendor.value)
        for _attempt in range(2):
            async with self._transaction() as connection:
                if (await connection.execute(update(CONSENTS).where(key).values(**values))).rowcount == 1:
                    return
            try:
                async with self._transaction() as connection:
                    row = {"person_id": consent.person_id, "vendor": consent.vendor.value, **values}
                    await connection.execute(insert(CONSENTS).values(**row))
            except IntegrityError:
                continue  # a concurrent consent inserted the row first: update it instead
            return
        raise RuntimeError("a consent could be neither inserted nor updated")

    async def withdraw_consent(self, person_id: PersonId, vendor: Vendor, now: datetime) -> bool:
        """Withdraw the person's standing consent for the vendor; False when there was none."""
        statement = (
            update(CONSENTS)
            .where(
                CONSENTS.c.person_id == person_id,
                CONSENTS.c.vendor == vendor.value,
                CONSENTS.c.withdrawn_at.is_(None),
            )
            .values(withdrawn_at=now)
        )
        async with self._transaction() as connection:
            result = await connection.execute(statement)
        return result.rowcount == 1

    # ------------------------------------------------------------ message hints

    async def add_message_hint(self, hint: MessageHint) -> None:
        """Record an issued hint, and forget hints long expired."""
        values = {
            "digest": hint.digest,
            "launch_id": hint.launch_id,
            "person_id": hint.person_id,
            "vendor": hint.vendor.value,
            "login_hint": hint.login_hint,
            "issued_at": hint.issued_at,
            "expires_at": hint.expires_at,
        }
        async with self._transaction() as connection:
            await connection.execute(delete(HINTS).where(HINTS.c.expires_at < hint.issued_at - HINTS_KEPT_AFTER_EXPIRY))
            await connection.execute(insert(HINTS).values(**values))

    async def take_message_hint(self, digest: str, now: datetime) -> MessageHint | None:
        """Use up the hint with this digest: it, if it was issued, is unexpired and unused; else None.

        Of two requests presenting the same hint at once, exactly one gets it.
        """
        async with self._transaction() as connection:
            taken = await connection.execute(
                update(HINTS)
                .where(HINTS.c.digest == digest, HINTS.c.used_at.is_(None), HINTS.c.expires_at > now)
                .values(used_at=now)
            )
            if taken.rowcount != 1:
                return None
            row = (await connection.execute(select(HINTS).where(HINTS.c.digest == digest))).one()
        return MessageHint(
            digest=row.digest,
            launch_id=row.launch_id,
            person_id=PersonId(row.person_id),
            vendor=Vendor(row.vendor),
            login_hint=row.login_hint,
            issued_at=row.issued_at,
            expires_at=row.expires_at,
        )

    async def message_hints_issued(self) -> int:
        """How many hints are stored (used, unused or expired but not yet forgotten)."""
        async with self._transaction() as connection:
            count: int = (await connection.execute(select(func.count()).select_from(HINTS))).scalar_one()
        return count


def _key_record(row: Row[Any]) -> SigningKeyRecord:
    return SigningKeyRecord(
        kid=Kid(row.kid),
        use=KeyUse(row.use),
        algorithm=SigningAlgorithm(row.algorithm),
        generation=row.generation,
        created_at=row.created_at,
        activates_at=row.activates_at,
        retired_at=row.retired_at,
        public_jwk=json.loads(row.public_jwk),
    )


def _key_values(new: NewSigningKey) -> dict[str, object]:
    record = new.record
    return {
        "kid": record.kid,
        "use": record.use.value,
        "algorithm": record.algorithm.value,
        "generation": record.generation,
        "private_key": new.encrypted_private_key,
        "public_jwk": json.dumps(dict(record.public_jwk), sort_keys=True),
        "created_at": record.created_at,
        "activates_at": record.activates_at,
        "retired_at": record.retired_at,
    }


def _consent(row: Row[Any]) -> Consent:
    return Consent(
        person_id=PersonId(row.person_id),
        vendor=Vendor(row.vendor),
        fields=tuple(SharedField(name) for name in row.fields.split(CONSENT_FIELD_SEPARATOR) if name),
        given_at=row.given_at,
    )
