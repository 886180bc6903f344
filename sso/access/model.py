"""Access, pure: roles and scopes, API tokens, password-reset links, and the audit log's entries.

An API token is ``hub_`` and 43 base64url characters (256 random bits); the hub keeps only
its SHA-256, so a token is found by the hash of what the caller presents. A supervisor's
token names one department or one institution, and reaches what that unit oversees: a
personnel department every institution in its region's subtree, a competent department the
institutions it governs there, an institution its own staff. Operators and auditors have
no scope.

An audit entry records who did what to which target and how it ended. Its details never
hold personal data: building an entry whose details look like an ID number, a mobile phone
number or an e-mail address is a bug, refused on the spot.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Final, NewType, TypeVar

from ledger.model import PersonId
from sso.access.errors import FieldError, InvalidAccessRequest
from sso.errors import UnknownOrganisationCode
from sso.organisation import Organisation

__all__ = [
    "AUDIT_PAGE_SIZE_DEFAULT",
    "AUDIT_PAGE_SIZE_MAX",
    "COMMAND_LINE",
    "TOKEN_LIFETIME_DAYS_DEFAULT",
    "Actor",
    "ActorKind",
    "ApiToken",
    "AuditAction",
    "AuditDetails",
    "AuditEntry",
    "AuditOutcome",
    "AuditPage",
    "AuditQuery",
    "NewAuditEntry",
    "ResetLink",
    "ResetLinkId",
    "Role",
    "Scope",
    "ScopeKind",
    "Target",
    "TargetKind",
    "TokenId",
    "TokenRequest",
    "decode_cursor",
    "encode_cursor",
    "is_well_formed_secret",
    "mask_email",
    "mask_phone",
    "new_secret",
    "parse_audit_query",
    "secret_digest",
    "token_request",
]

TokenId = NewType("TokenId", int)
ResetLinkId = NewType("ResetLinkId", int)
_Code = TypeVar("_Code", bound=StrEnum)

# Shapes and prefixes of secrets, not secrets.
TOKEN_PREFIX: Final = "hub_"  # noqa: S105
RESET_LINK_PREFIX: Final = "hubreset_"
SECRET_RANDOM_BYTES: Final = 32
_SECRET_BODY: Final = r"[A-Za-z0-9_-]{43}"  # noqa: S105
TOKEN_ID_MAX: Final = 2**31 - 1
TOKEN_NAME_CHARACTERS_MAX: Final = 100
TOKEN_LIFETIME_DAYS_DEFAULT: Final = 90
TOKEN_LIFETIME_DAYS_MAX: Final = 365
RESET_LINK_LIFETIME_SECONDS: Final = 24 * 3600
AUDIT_PAGE_SIZE_DEFAULT: Final = 50
AUDIT_PAGE_SIZE_MAX: Final = 200
AUDIT_DETAILS_MAX: Final = 16
AUDIT_DETAIL_CHARACTERS_MAX: Final = 200
AUDIT_TARGET_CHARACTERS_MAX: Final = 64
AUDIT_QUERY_CHARACTERS_MAX: Final = 100
_AUDIT_QUERY_NAMES: Final = frozenset({"action", "actor", "since", "until", "cursor", "limit"})

_DETAIL_KEY: Final = re.compile(r"[a-z][a-z0-9_]{0,39}", re.ASCII)
# What personal data looks like, anywhere in a detail: an ID number, a mainland mobile number, an e-mail address.
_PERSONAL_DATA: Final = (
    re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])"),
    re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])"),
    re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+"),
)
_CURSOR: Final = re.compile(r"[A-Za-z0-9_-]{1,32}", re.ASCII)
_HUB_ID: Final = re.compile(r"[0-9a-f]{32}", re.ASCII)
"""The shape of the ids the hub makes (a person's, an export's: 16 random bytes in hex): an identifier,
never personal data, whatever run of digits it happens to hold (about one in a hundred holds one that
looks like a mobile number)."""


class Role(StrEnum):
    """What a token's holder does for the hub."""

    OPERATOR = "operator"
    AUDITOR = "auditor"
    SUPERVISOR = "supervisor"


class ScopeKind(StrEnum):
    """The kind of unit a supervisor acts for."""

    DEPARTMENT = "department"
    INSTITUTION = "institution"


@dataclass(frozen=True, slots=True)
class Scope:
    """The one department or institution a supervisor acts for."""

    kind: ScopeKind
    code: str

    def reaches(self, organisation: Organisation, institution_code: str) -> bool:
        """Whether the unit oversees the staff of this institution; ``False`` for a code it does not hold."""
        if self.kind is ScopeKind.INSTITUTION:
            return institution_code == self.code
        try:
            return organisation.oversees(self.code, institution_code)
        except UnknownOrganisationCode:
            return False

    def __str__(self) -> str:
        return f"{self.kind}:{self.code}"


@dataclass(frozen=True, slots=True)
class ApiToken:
    """An API token as the hub keeps it: never the token itself."""

    id: TokenId
    role: Role
    scope: Scope | None
    name: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None

    def admits_at(self, now: datetime) -> bool:
        """Whether the token signs its holder in at ``now``: not revoked, not expired."""
        return self.revoked_at is None and now < self.expires_at


@dataclass(frozen=True, slots=True)
class ResetLink:
    """A password-reset link as the hub keeps it: never its secret."""

    id: ResetLinkId
    person_id: PersonId
    issued_by: TokenId | None
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True, slots=True)
class TokenRequest:
    """A validated request for a new API token."""

    role: Role
    scope: Scope | None
    name: str
    lifetime: timedelta


def token_request(
    organisation: Organisation,
    *,
    role: str,
    department: str | None = None,
    institution: str | None = None,
    name: str = "",
    lifetime_days: int = TOKEN_LIFETIME_DAYS_DEFAULT,
) -> TokenRequest:
    """Validate a request for a token. Raises ``InvalidAccessRequest`` listing every field at fault.

    A supervisor names exactly one department or institution that the organisation holds;
    operators and auditors name none.
    """
    errors: list[FieldError] = []
    chosen = _member(Role, role, "role", errors)
    scope = _scope(organisation, chosen, department, institution, errors)
    if len(name) > TOKEN_NAME_CHARACTERS_MAX or not name.isprintable():
        errors.append(FieldError("name", f"at most {TOKEN_NAME_CHARACTERS_MAX} printable characters"))
    if not 1 <= lifetime_days <= TOKEN_LIFETIME_DAYS_MAX:
        errors.append(FieldError("expires_days", f"between 1 and {TOKEN_LIFETIME_DAYS_MAX} days"))
    if errors or chosen is None:
        raise InvalidAccessRequest(errors)
    return TokenRequest(role=chosen, scope=scope, name=name.strip(), lifetime=timedelta(days=lifetime_days))


def _scope(
    organisation: Organisation,
    role: Role | None,
    department: str | None,
    institution: str | None,
    errors: list[FieldError],
) -> Scope | None:
    named = ((ScopeKind.DEPARTMENT, department), (ScopeKind.INSTITUTION, institution))
    given = [(kind, code) for kind, code in named if code is not None]
    if role is not Role.SUPERVISOR:
        errors.extend(FieldError(str(kind), "only a supervisor's token has a scope") for kind, _code in given)
        return None
    if len(given) != 1:
        errors.append(FieldError("scope", "a supervisor's token names exactly one department or institution"))
        return None
    kind, code = given[0]
    lookup = organisation.department if kind is ScopeKind.DEPARTMENT else organisation.institution
    try:
        lookup(code)
    except UnknownOrganisationCode:
        errors.append(FieldError(str(kind), f"there is no {kind} with this code"))
        return None
    return Scope(kind, code)


def new_secret(prefix: str = TOKEN_PREFIX) -> str:
    """A new secret of 256 random bits, with a recognisable prefix."""
    return prefix + secrets.token_urlsafe(SECRET_RANDOM_BYTES)


def is_well_formed_secret(text: str, prefix: str = TOKEN_PREFIX) -> bool:
    """Whether ``text`` has the shape of a secret ``new_secret`` makes with this prefix."""
    return text.startswith(prefix) and re.fullmatch(_SECRET_BODY, text[len(prefix) :], re.ASCII) is not None


def secret_digest(secret: str) -> str:
    """The hex SHA-256 the hub keeps of a secret: 256 random bits need no slow hash."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def mask_phone(phone: str) -> str:
    """A phone number as anyone but its owner sees it: the first 3 and last 4 digits."""
    return phone[:3] + "*" * max(0, len(phone) - 7) + phone[-4:] if len(phone) > 7 else "*" * len(phone)


def mask_email(email: str) -> str:
    """An e-mail address as anyone but its owner sees it: the first character, then the domain."""
    local, _, domain = email.rpartition("@")
    return f"{local[:1]}***@{domain}" if local else "***"


# ---------------------------------------------------------------- the audit log


class ActorKind(StrEnum):
    """Who acted: a token's holder in their role, or someone at the ``hub`` command line."""

    OPERATOR = "operator"
    AUDITOR = "auditor"
    SUPERVISOR = "supervisor"
    COMMAND_LINE = "command_line"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acted; ``token_id`` is ``None`` only at the command line."""

    kind: ActorKind
    token_id: TokenId | None

    @classmethod
    def holding(cls, role: Role, token_id: TokenId) -> Actor:
        """The holder of a token, in its role."""
        return cls(ActorKind(role.value), token_id)


COMMAND_LINE: Final = Actor(ActorKind.COMMAND_LINE, None)


class AuditAction(StrEnum):
    """The stable code of each audited action."""

    TOKEN_CREATED = "token.created"  # noqa: S105 -- an action's code, not a secret
    TOKEN_REVOKED = "token.revoked"  # noqa: S105 -- an action's code, not a secret
    PERSON_REGISTERED = "person.registered"
    PERSON_READ = "person.read"
    PERSON_LEDGER_READ = "person.ledger_read"
    PASSWORD_RESET_ISSUED = "person.password_reset_issued"  # noqa: S105 -- an action's code, not a secret
    PERSON_TRANSFERRED = "person.transferred"
    ID_NUMBER_CORRECTED = "person.id_number_corrected"
    PERSON_DEACTIVATED = "person.deactivated"
    AUDIT_LOG_READ = "audit_log.read"
    QUARANTINE_READ = "quarantine.read"
    HELD_RECORD_RELEASED = "quarantine.released"
    HELD_RECORD_REJECTED = "quarantine.rejected"
    KEYS_ROTATED = "keys.rotated"
    LEDGER_EXPORTED = "ledger.exported"
    EXPORT_MANIFEST_READ = "ledger.export_manifest_read"
    LEDGER_VERIFIED = "ledger.verified"
    OFFLINE_TRAINING_FILED = "offline_training.filed"
    OFFLINE_TRAINING_READ = "offline_training.read"
    OFFLINE_TRAINING_APPROVED = "offline_training.approved"
    OFFLINE_TRAINING_REJECTED = "offline_training.rejected"
    ATTENDANCE_IMPORTED = "offline_training.attendance_imported"
    CONTINUING_EDUCATION_IMPORTED = "continuing_education.imported"
    CONTINUING_EDUCATION_READ = "continuing_education.read"
    COMPLIANCE_READ = "supervision.compliance_read"
    VENDOR_SHARE_READ = "supervision.vendor_share_read"
    FEEDBACK_LISTED = "supervision.feedback_listed"
    FEEDBACK_ANSWERED = "supervision.feedback_answered"
    NOTICE_SENT = "supervision.notice_sent"
    NOTICES_LISTED = "supervision.notices_listed"
    CERTIFICATE_DOWNLOADED = "certificate.downloaded"
    RECONCILIATION_STARTED = "reconciliation.started"
    DISCREPANCY_RESOLVED = "discrepancy.resolved"
    CONSOLE_SIGNED_IN = "console.signed_in"
    CONSOLE_SIGNED_OUT = "console.signed_out"


class AuditOutcome(StrEnum):
    """How an audited action ended."""

    SUCCEEDED = "succeeded"
    DENIED = "denied"
    """The target lay outside the actor's role or scope (answered as not found)."""
    REFUSED = "refused"
    """The hub refused the action: invalid input, an unknown target, a conflict."""
    FAILED = "failed"
    """The action broke off for an error of the hub itself."""


class TargetKind(StrEnum):
    """What an action was about."""

    PERSON = "person"
    TOKEN = "token"  # noqa: S105 -- the name of a kind of target, not a secret
    AUDIT_LOG = "audit_log"
    LEDGER = "ledger"
    EXPORT = "export"
    OFFLINE_TRAINING = "offline_training"
    TRAINING_IMPORT = "training_import"
    UNIT = "unit"
    """A region, department or institution of the organisation, by its code."""
    FEEDBACK = "feedback"
    CERTIFICATE = "certificate"
    HELD_RECORD = "held_record"
    RECONCILIATION = "reconciliation"
    DISCREPANCY = "discrepancy"


@dataclass(frozen=True, slots=True)
class Target:
    """What an action was about: a kind and an id (a person id, a token id), never personal data."""

    kind: TargetKind
    id: str

    def __post_init__(self) -> None:
        _ensure_not_personal(self.id, "the target id")
        if len(self.id) > AUDIT_TARGET_CHARACTERS_MAX:
            raise ValueError(f"a target id has at most {AUDIT_TARGET_CHARACTERS_MAX} characters")

    @classmethod
    def person(cls, person_id: PersonId | str) -> Target:
        return cls(TargetKind.PERSON, str(person_id))


AuditDetails = Mapping[str, str | int | bool | None]


@dataclass(frozen=True, slots=True)
class NewAuditEntry:
    """An entry to append; refuses details that look like personal data (a bug, never user input)."""

    actor: Actor
    action: AuditAction
    outcome: AuditOutcome
    target: Target | None = None
    details: AuditDetails = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.details) > AUDIT_DETAILS_MAX:
            raise ValueError(f"an audit entry has at most {AUDIT_DETAILS_MAX} details")
        for key, value in self.details.items():
            if _DETAIL_KEY.fullmatch(key) is None:
                raise ValueError(f"an audit detail's key matches {_DETAIL_KEY.pattern}")
            if isinstance(value, str):
                _ensure_not_personal(value, f"the detail {key}")
                if len(value) > AUDIT_DETAIL_CHARACTERS_MAX:
                    raise ValueError(f"an audit detail has at most {AUDIT_DETAIL_CHARACTERS_MAX} characters")
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """An entry of the audit log as stored: numbered in the order it was appended."""

    id: int
    occurred_at: datetime
    actor: Actor
    action: AuditAction
    outcome: AuditOutcome
    target: Target | None
    details: AuditDetails


def _ensure_not_personal(text: str, where: str) -> None:
    # Raised as a bug: the message names the place, never the value.
    if _HUB_ID.fullmatch(text) is None and any(pattern.search(text) for pattern in _PERSONAL_DATA):
        raise ValueError(f"{where} looks like personal data, which the audit log never holds")


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """A page of the audit log, newest first, with optional filters."""

    action: AuditAction | None = None
    actor: TokenId | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None
    limit: int = AUDIT_PAGE_SIZE_DEFAULT


@dataclass(frozen=True, slots=True)
class AuditPage:
    """Entries newest first; ``next_cursor`` fetches the older ones, ``None`` at the end."""

    entries: tuple[AuditEntry, ...]
    next_cursor: str | None


def parse_audit_query(parameters: Mapping[str, str]) -> AuditQuery:
    """The query in URL parameters (``action``, ``actor``, ``since``, ``until``, ``cursor``, ``limit``).

    Raises ``InvalidAccessRequest`` listing every parameter at fault, unknown ones included.
    """
    errors = [
        FieldError(name, "is not a parameter of this query") for name in parameters if name not in _AUDIT_QUERY_NAMES
    ]
    errors += [
        FieldError(name, f"at most {AUDIT_QUERY_CHARACTERS_MAX} characters")
        for name, value in parameters.items()
        if len(value) > AUDIT_QUERY_CHARACTERS_MAX
    ]
    if errors:
        raise InvalidAccessRequest(errors)
    action = parameters.get("action")
    query = AuditQuery(
        action=None if action is None else _member(AuditAction, action, "action", errors),
        actor=_token_id(parameters.get("actor"), errors),
        since=_instant(parameters.get("since"), "since", errors),
        until=_instant(parameters.get("until"), "until", errors),
        before_id=_cursor(parameters.get("cursor"), errors),
        limit=_limit(parameters.get("limit"), errors),
    )
    if errors:
        raise InvalidAccessRequest(errors)
    return query


def encode_cursor(entry_id: int) -> str:
    """An opaque cursor that continues after (below) this entry."""
    return base64.urlsafe_b64encode(f"audit:{entry_id}".encode("ascii")).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> int | None:
    """The entry id in a cursor ``encode_cursor`` made, or ``None`` for anything else."""
    if _CURSOR.fullmatch(cursor) is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        return None
    prefix, _, number = text.partition(":")
    if prefix != "audit" or not number.isdigit() or encode_cursor(int(number)) != cursor:
        return None
    return int(number)


def _member(kind: type[_Code], value: str, name: str, errors: list[FieldError]) -> _Code | None:
    try:
        return kind(value)
    except ValueError:
        errors.append(FieldError(name, f"must be one of {', '.join(member.value for member in kind)}"))
        return None


def _token_id(value: str | None, errors: list[FieldError]) -> TokenId | None:
    if value is None:
        return None
    if not (value.isascii() and value.isdigit()) or not 0 < int(value) <= TOKEN_ID_MAX:
        errors.append(FieldError("actor", "must be a token id, a positive whole number"))
        return None
    return TokenId(int(value))


def _instant(value: str | None, name: str, errors: list[FieldError]) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        errors.append(FieldError(name, "must be an ISO 8601 time with its offset, such as 2021-06-01T08:00:00+08:00"))
        return None
    return moment


def _cursor(value: str | None, errors: list[FieldError]) -> int | None:
    if value is None:
        return None
    entry_id = decode_cursor(value)
    if entry_id is None:
        errors.append(FieldError("cursor", "must be a next_cursor this endpoint gave"))
    return entry_id


def _limit(value: str | None, errors: list[FieldError]) -> int:
    if value is None:
        return AUDIT_PAGE_SIZE_DEFAULT
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= AUDIT_PAGE_SIZE_MAX:
        errors.append(FieldError("limit", f"must be a whole number from 1 to {AUDIT_PAGE_SIZE_MAX}"))
        return AUDIT_PAGE_SIZE_DEFAULT
    return int(value)
