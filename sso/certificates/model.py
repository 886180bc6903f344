"""Certificates, pure: their numbers, the masked name, what is signed, what a year's review decides,
and the check of an application's ticked records.

A certificate number is the year and 15 random characters of ``0-9A-Z`` (77 bits: no number can
be guessed from another), then an ISO/IEC 7064 MOD 37,36 check character, which catches every
single mistyped character and nearly every swap of two neighbours: ``2021-7K3M-9QX2-HT4B-PW8J``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from ledger.model import (
    Entry,
    EntryKind,
    Evaluation,
    Hours,
    PersonId,
    SequenceNumber,
    canonical_json,
    counted_credits,
    format_hours,
)
from sso.certificates.errors import FieldError, InvalidCertificateRequest

__all__ = [
    "ALPHABET",
    "CERTIFICATE_NUMBER",
    "CERTIFICATE_NUMBER_CHARACTERS",
    "ENTRY_IDS_MAX",
    "Certificate",
    "CertificateBasis",
    "CertificateStatus",
    "Decision",
    "Download",
    "DownloaderKind",
    "SignedFacts",
    "check_character",
    "decide",
    "is_certificate_number",
    "mask_name",
    "missing_errors",
    "new_certificate_number",
    "parse_application",
    "ticked_credits",
]

ALPHABET: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
RANDOM_CHARACTERS: Final = 15
GROUP_CHARACTERS: Final = 4
CERTIFICATE_NUMBER: Final = re.compile(r"[0-9]{4}(-[0-9A-Z]{4}){4}", re.ASCII)
CERTIFICATE_NUMBER_CHARACTERS: Final = 24
ENTRY_IDS_MAX: Final = 1000
YEAR_MIN: Final = 2000
YEAR_MAX: Final = 2100
SEQUENCE_NUMBER_MAX: Final = 2**63 - 1
SIGNED_DOCUMENT_TYPE: Final = "training-certificate"
_APPLICATION_FIELDS: Final = frozenset({"year", "entry_ids"})
_MODULUS: Final = len(ALPHABET)


def check_character(text: str) -> str:
    """The ISO/IEC 7064 MOD 37,36 check character of ``text`` (characters of ``ALPHABET``)."""
    product = _MODULUS
    for character in text:
        total = (product + ALPHABET.index(character)) % _MODULUS or _MODULUS
        product = (2 * total) % (_MODULUS + 1)
    return ALPHABET[(_MODULUS + 1 - product) % _MODULUS]


def new_certificate_number(year: int) -> str:
    """A fresh random number for a certificate of ``year``."""
    body = f"{year:04d}" + "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_CHARACTERS))
    plain = body + check_character(body)
    groups = [plain[start : start + GROUP_CHARACTERS] for start in range(0, len(plain), GROUP_CHARACTERS)]
    return "-".join(groups)


def is_certificate_number(text: str) -> bool:
    """Whether ``text`` has the shape of a certificate number and its check character fits."""
    if len(text) != CERTIFICATE_NUMBER_CHARACTERS or CERTIFICATE_NUMBER.fullmatch(text) is None:
        return False
    plain = text.replace("-", "")
    return check_character(plain[:-1]) == plain[-1]


def mask_name(name: str) -> str:
    """A name as the public verification shows it: the first character, then one ``*`` for each other."""
    return name[:1] + "*" * (len(name) - 1)


class CertificateStatus(StrEnum):
    VALID = "valid"
    REVOKED = "revoked"


class CertificateBasis(StrEnum):
    """How a certificate came to be issued."""

    AUTOMATIC = "automatic"
    """The whole year met its rules when it was reviewed after an append."""
    APPLIED = "applied"
    """The person applied with ticked records that meet the rules."""


@dataclass(frozen=True, slots=True)
class SignedFacts:
    """What a certificate's signature covers: the facts the public verification shows, except its
    status, which a revocation changes later."""

    certificate_no: str
    name_masked: str
    year: int
    public: Hours
    professional: Hours
    issued_at: datetime
    issuer: str

    def hours(self) -> dict[str, str]:
        return {
            "total": format_hours(self.public + self.professional),
            "public": format_hours(self.public),
            "professional": format_hours(self.professional),
        }

    def document(self) -> dict[str, object]:
        """The signed JSON document, in the hub's canonical encoding (``payload()``)."""
        return {
            "type": SIGNED_DOCUMENT_TYPE,
            "certificate_no": self.certificate_no,
            "name_masked": self.name_masked,
            "year": self.year,
            "hours": self.hours(),
            "issued_at": self.issued_at.isoformat(),
            "issuer": self.issuer,
        }

    def payload(self) -> bytes:
        return canonical_json(self.document())


@dataclass(frozen=True, slots=True)
class Certificate:
    """A certificate as the hub keeps it. ``name`` is the person's name when it was issued;
    ``ledger_seq`` the last entry of the year that the issuing review saw."""

    facts: SignedFacts
    person_id: PersonId
    name: str
    unit_name: str
    basis: CertificateBasis
    ledger_seq: int
    signature: str
    status: CertificateStatus
    revoked_at: datetime | None
    revoked_reason: str | None

    @property
    def number(self) -> str:
        return self.facts.certificate_no

    @property
    def year(self) -> int:
        return self.facts.year

    def __repr__(self) -> str:
        # No name in a log line or a traceback.
        return f"Certificate(number={self.number!r}, status={self.status.value!r})"


class DownloaderKind(StrEnum):
    OWNER = "owner"
    SUPERVISOR = "supervisor"


@dataclass(frozen=True, slots=True)
class Download:
    """One download of a certificate's PDF: when, and by whom (a supervisor by their token's id)."""

    certificate_no: str
    downloaded_at: datetime
    by: DownloaderKind
    token_id: int | None


class Decision(StrEnum):
    """What a review of a person's year does about its certificate."""

    ISSUE = "issue"
    REVOKE = "revoke"
    KEEP = "keep"


def decide(evaluation: Evaluation, valid: Certificate | None) -> Decision:
    """Issue when the year is met and has no valid certificate; revoke a valid one of a year no
    longer met; otherwise leave things as they are."""
    if evaluation.met and valid is None:
        return Decision.ISSUE
    if not evaluation.met and valid is not None:
        return Decision.REVOKE
    return Decision.KEEP


def parse_application(form: Mapping[str, object]) -> tuple[int, tuple[SequenceNumber, ...]]:
    """The year and the ticked entry ids of an application. Raises ``InvalidCertificateRequest``
    naming every field at fault."""
    errors = [
        FieldError(str(name)[:40], "is not a field of an application")
        for name in form
        if name not in _APPLICATION_FIELDS
    ]
    year = form.get("year")
    if isinstance(year, bool) or not isinstance(year, int) or not YEAR_MIN <= year <= YEAR_MAX:
        errors.append(FieldError("year", f"is required: a year from {YEAR_MIN} to {YEAR_MAX}"))
    ids = form.get("entry_ids")
    if not isinstance(ids, list) or not 0 < len(ids) <= ENTRY_IDS_MAX:
        errors.append(FieldError("entry_ids", f"is required: a list of 1 to {ENTRY_IDS_MAX} entry ids"))
        ids = []
    for index, entry_id in enumerate(ids):
        if isinstance(entry_id, bool) or not isinstance(entry_id, int) or not 0 < entry_id <= SEQUENCE_NUMBER_MAX:
            errors.append(FieldError(f"entry_ids[{index}]", "must be the id of an entry, a positive whole number"))
        elif ids.index(entry_id) != index:
            errors.append(FieldError(f"entry_ids[{index}]", "is ticked twice"))
    if errors or not isinstance(year, int):
        raise InvalidCertificateRequest(errors)
    return year, tuple(SequenceNumber(entry_id) for entry_id in ids)


def ticked_credits(
    entries: Sequence[Entry], ticked: Sequence[SequenceNumber], year: int
) -> tuple[list[Entry], list[FieldError]]:
    """The ticked entries that are the person's counted credits of the year (``entries`` are all
    of the person's year), and an error for each other one."""
    counted = {entry.seq: entry for entry in counted_credits(entries)}
    own = {entry.seq: entry for entry in entries}
    credits: list[Entry] = []
    errors: list[FieldError] = []
    for index, seq in enumerate(ticked):
        field = f"entry_ids[{index}]"
        if seq in counted:
            credits.append(counted[seq])
        elif seq not in own:
            errors.append(FieldError(field, f"is not one of your training records of {year}"))
        elif own[seq].kind is EntryKind.REVERSAL:
            errors.append(FieldError(field, "is the withdrawal of a record, not a record to count"))
        else:
            errors.append(FieldError(field, "was reversed and no longer counts"))
    return credits, errors


def missing_errors(evaluation: Evaluation) -> list[FieldError]:
    """An error for each part of the year's rules that ``evaluation`` still misses."""
    errors = [
        FieldError(name, f"{format_hours(missing)} more hours needed (required {format_hours(required)})")
        for name, missing, required in (
            ("total", evaluation.missing_total, evaluation.rules.total),
            ("public", evaluation.missing_public, evaluation.rules.public),
            ("professional", evaluation.missing_professional, evaluation.rules.professional),
        )
        if missing
    ]
    if evaluation.missing_topics:
        errors.append(FieldError("mandatory", f"no completed course of: {', '.join(evaluation.missing_topics)}"))
    return errors
