"""The handoff's tables: signing keys (private parts encrypted with the hub's ``DataKeyring``),
pairwise subjects, consents, and LTI message hints (only their SHA-256 stored).

None refers to ``person`` by a foreign key: the people's tables come from another migration branch.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

KID_CHARACTERS_MAX = 64
PERSON_ID_CHARACTERS_MAX = 64
VENDOR_CHARACTERS_MAX = 16
SUBJECT_CHARACTERS = 64
SHA256_HEX_CHARACTERS = 64
FIELDS_CHARACTERS_MAX = 500
VENDOR_ACCOUNT_ID_CHARACTERS_MAX = 200


class SigningKeyRow(SQLModel, table=True):
    """A signing key; ``generation`` counts the keys of one use and algorithm, unique so that two
    processes creating or rotating keys at once cannot both succeed."""

    __tablename__ = "handoff_signing_key"
    __table_args__ = (UniqueConstraint("use", "algorithm", "generation", name="uq_handoff_signing_key_generation"),)

    kid: str = Field(primary_key=True, max_length=KID_CHARACTERS_MAX)
    use: str = Field(max_length=16)
    algorithm: str = Field(max_length=16)
    generation: int
    private_key: str = Field(sa_column=Column(Text, nullable=False))
    public_jwk: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime
    activates_at: datetime
    retired_at: datetime | None = None


class PairwiseSubjectRow(SQLModel, table=True):
    """The ``sub`` a vendor knows a person by, recorded at the first launch to that vendor."""

    __tablename__ = "handoff_subject"
    __table_args__ = (UniqueConstraint("vendor", "subject", name="uq_handoff_subject_vendor_subject"),)

    person_id: str = Field(primary_key=True, max_length=PERSON_ID_CHARACTERS_MAX)
    vendor: str = Field(primary_key=True, max_length=VENDOR_CHARACTERS_MAX)
    subject: str = Field(max_length=SUBJECT_CHARACTERS)
    linked_at: datetime
    vendor_account_id: str | None = Field(default=None, max_length=VENDOR_ACCOUNT_ID_CHARACTERS_MAX)


class ConsentRow(SQLModel, table=True):
    """A person's consent for a vendor: the fields shared, when given, and when withdrawn, if it was."""

    __tablename__ = "handoff_consent"

    person_id: str = Field(primary_key=True, max_length=PERSON_ID_CHARACTERS_MAX)
    vendor: str = Field(primary_key=True, max_length=VENDOR_CHARACTERS_MAX)
    fields: str = Field(max_length=FIELDS_CHARACTERS_MAX)
    given_at: datetime
    withdrawn_at: datetime | None = None


class MessageHintRow(SQLModel, table=True):
    """An ``lti_message_hint`` issued for one launch: single-use, short-lived, stored as its SHA-256."""

    __tablename__ = "handoff_message_hint"
    __table_args__ = (Index("ix_handoff_message_hint_expires_at", "expires_at"),)

    digest: str = Field(primary_key=True, max_length=SHA256_HEX_CHARACTERS)
    launch_id: str = Field(max_length=64, unique=True)
    person_id: str = Field(max_length=PERSON_ID_CHARACTERS_MAX)
    vendor: str = Field(max_length=VENDOR_CHARACTERS_MAX)
    login_hint: str = Field(max_length=SUBJECT_CHARACTERS)
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
