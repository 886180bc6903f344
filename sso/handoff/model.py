"""The handoff's pure types: vendors and how each is reached, the details they receive, consents,
signing keys and the outcomes of a launch.

Nothing here touches storage or the network.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final, NewType

from ledger.model import PersonId
from sso.id_numbers import IdNumber, mask_id_number

__all__ = [
    "DOCUMENT_ALGORITHM",
    "DOCUMENT_SIGNATURE_TYPE",
    "FIELD_LABELS",
    "HANDOFF_ALGORITHMS",
    "HANDOFF_TOKEN_TTL_SECONDS",
    "HANDOFF_TOKEN_TYPE",
    "MESSAGE_HINT_TTL_SECONDS",
    "SIGNING_KEY_CACHE_SECONDS",
    "Consent",
    "ConsentNeeded",
    "ConsentRecord",
    "FormPost",
    "HandoffConfig",
    "JwtPostVendor",
    "KeyUse",
    "Kid",
    "LaunchOutcome",
    "LtiVendor",
    "PairwiseSubject",
    "PersonId",
    "Redirect",
    "SharedDetails",
    "SharedField",
    "SigningAlgorithm",
    "SigningKeyRecord",
    "Vendor",
    "VendorAccount",
    "VendorLink",
    "fields_shared_with",
]

Kid = NewType("Kid", str)
"""A signing key's id: the RFC 7638 thumbprint of its public key."""
PairwiseSubject = NewType("PairwiseSubject", str)
"""The ``sub`` a vendor knows a person by: stable for the pair, different for every vendor."""

HANDOFF_TOKEN_TTL_SECONDS: Final = 120
"""vendors.md: ``exp`` ≤ ``iat`` + 120. Every token the hub signs lives this long at most."""
MESSAGE_HINT_TTL_SECONDS: Final = 300
"""vendors.md: an ``lti_message_hint`` expires within 5 minutes."""
SIGNING_KEY_CACHE_SECONDS: Final = 60
"""How long a process signs from the keys it loaded before reading them again. A key retired
by another process may still sign here this long, so it stays published this much longer."""
HANDOFF_TOKEN_TYPE: Final = "JWT"  # noqa: S105 -- a header value, not a secret
"""The ``typ`` of handoff tokens (vendors.md)."""
DOCUMENT_SIGNATURE_TYPE: Final = "hub-document+jws"
"""The ``typ`` of document signatures, so that no handoff token passes for one or the reverse."""


class Vendor(StrEnum):
    """The vendors' codes, as in URLs and settings."""

    ISCHINESE = "ischinese"
    WEBTRN = "webtrn"
    HNOU = "hnou"


class SigningAlgorithm(StrEnum):
    """The JWS algorithms the hub signs with."""

    EDDSA = "EdDSA"
    """Ed25519 under the name vendors' JWT libraries understand (vendors.md)."""
    ES256 = "ES256"
    RS256 = "RS256"
    ED25519 = "Ed25519"
    """Ed25519 under its RFC 9864 name: the hub's own document signatures."""


HANDOFF_ALGORITHMS: Final = (SigningAlgorithm.EDDSA, SigningAlgorithm.ES256, SigningAlgorithm.RS256)
DOCUMENT_ALGORITHM: Final = SigningAlgorithm.ED25519


class KeyUse(StrEnum):
    """What a signing key signs. Each use has its own keys and its own ``typ``."""

    HANDOFF = "handoff"
    DOCUMENT = "document"


class SharedField(StrEnum):
    """A registration detail a vendor may receive, named as in the ``reg`` claim."""

    NAME = "name"
    GENDER = "gender"
    PHONE = "phone"
    EMAIL = "email"
    UNIT = "unit"
    TITLE = "title"
    EDUCATION = "education"
    ID_NUMBER_MASKED = "id_number_masked"
    ID_NUMBER = "id_number"


FIELD_LABELS: Final[Mapping[SharedField, str]] = {
    SharedField.NAME: "姓名",
    SharedField.GENDER: "性别",
    SharedField.PHONE: "手机号码",
    SharedField.EMAIL: "电子邮箱",
    SharedField.UNIT: "工作单位（代码和名称）",
    SharedField.TITLE: "职称",
    SharedField.EDUCATION: "学历",
    SharedField.ID_NUMBER_MASKED: "身份证号（仅前6位和后4位）",
    SharedField.ID_NUMBER: "完整的身份证号",
}
"""How the consent page names each field."""

_COMMON_FIELDS: Final = (
    SharedField.NAME,
    SharedField.GENDER,
    SharedField.PHONE,
    SharedField.EMAIL,
    SharedField.UNIT,
    SharedField.TITLE,
    SharedField.EDUCATION,
    SharedField.ID_NUMBER_MASKED,
)


def fields_shared_with(vendor: Vendor) -> tuple[SharedField, ...]:
    """The fields a vendor receives at handoff: the ``reg`` claim, and for hnou the full ID number too."""
    if vendor is Vendor.HNOU:
        return (*_COMMON_FIELDS, SharedField.ID_NUMBER)
    return _COMMON_FIELDS


@dataclass(frozen=True, slots=True)
class JwtPostVendor:
    """A vendor reached by a form POST of a signed ``id_token`` to its ``launch_url`` (ischinese, webtrn)."""

    vendor: Vendor
    name: str
    algorithm: SigningAlgorithm
    launch_url: str


@dataclass(frozen=True, slots=True)
class LtiVendor:
    """A vendor reached as an LTI 1.3 tool, by third-party initiated login (hnou)."""

    vendor: Vendor
    name: str
    algorithm: SigningAlgorithm
    login_url: str
    target_link_uri: str
    client_id: str
    deployment_id: str
    redirect_uris: tuple[str, ...]


VendorLink = JwtPostVendor | LtiVendor


@dataclass(frozen=True, slots=True)
class HandoffConfig:
    """What the handoff needs from the settings: the issuer, the configured vendors and the key schedule."""

    issuer: str
    vendors: Mapping[Vendor, VendorLink]
    key_activation_delay_seconds: int


@dataclass(frozen=True, slots=True)
class SharedDetails:
    """The registration details a vendor may receive about a person; ``id_number`` in full.

    Only ``fields_shared_with(vendor)`` of them leave the hub, and only after consent.
    """

    name: str
    gender: str
    phone: str
    email: str
    unit_code: str
    unit_name: str
    title: str
    education: str
    id_number: IdNumber

    @property
    def id_number_masked(self) -> str:
        """The ID number with only its first 6 and last 4 characters kept."""
        return mask_id_number(self.id_number)

    def __repr__(self) -> str:
        # Details in a traceback or a log line show no personal data.
        return "SharedDetails(…)"


@dataclass(frozen=True, slots=True)
class Consent:
    """A person's consent to share ``fields`` with a vendor, given at ``given_at``."""

    person_id: PersonId
    vendor: Vendor
    fields: tuple[SharedField, ...]
    given_at: datetime

    def covers(self, vendor: Vendor) -> bool:
        """Whether it covers every field the vendor receives now (the list may have grown since)."""
        return self.vendor is vendor and set(fields_shared_with(vendor)) <= set(self.fields)


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """A consent as the hub keeps it: standing while ``withdrawn_at`` is None."""

    consent: Consent
    withdrawn_at: datetime | None


@dataclass(frozen=True, slots=True)
class VendorAccount:
    """How a vendor knows a person: the subject recorded at the first launch there, and the vendor's own
    account id once the vendor has told it (``account.linked``)."""

    vendor: Vendor
    subject: PairwiseSubject
    linked_at: datetime
    account_id: str | None


@dataclass(frozen=True, slots=True)
class SigningKeyRecord:
    """A signing key's public facts and schedule; ``generation`` counts the keys of its use and algorithm.

    A key signs from ``activates_at`` until ``retired_at`` (for ever while that is None).
    """

    kid: Kid
    use: KeyUse
    algorithm: SigningAlgorithm
    generation: int
    created_at: datetime
    activates_at: datetime
    retired_at: datetime | None
    public_jwk: Mapping[str, str]

    def signs_at(self, instant: datetime) -> bool:
        """Whether the key is the one to sign with at ``instant`` (if it is the newest such)."""
        return self.activates_at <= instant and (self.retired_at is None or instant < self.retired_at)


@dataclass(frozen=True, slots=True)
class ConsentNeeded:
    """The launch waits for the person's consent to share ``fields`` with the vendor."""

    vendor: Vendor
    vendor_name: str
    fields: tuple[SharedField, ...]


@dataclass(frozen=True, slots=True)
class FormPost:
    """The browser is to POST ``fields`` to ``action`` (an auto-submitting form)."""

    action: str
    fields: Mapping[str, str]

    def __repr__(self) -> str:
        # The fields hold a token.
        return f"FormPost(action={self.action!r}, fields=[{', '.join(self.fields)}])"


@dataclass(frozen=True, slots=True)
class Redirect:
    """The browser is to be sent to ``location`` (302)."""

    location: str

    def __repr__(self) -> str:
        # The query holds a single-use message hint.
        return f"Redirect(location={self.location.partition('?')[0]!r}?…)"


LaunchOutcome = ConsentNeeded | FormPost | Redirect
