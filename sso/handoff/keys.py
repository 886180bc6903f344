"""Signing keys: their generation, their private part as text to encrypt, their public JWK, and
the schedule that decides which key signs and which keys are published.

A handoff key signs from ``activates_at`` until ``retired_at``. ``hub keys rotate`` adds a key that
activates after the activation delay and retires its predecessor at that same instant, so exactly
one key of an algorithm signs at any time. A retired handoff key stays published until every token
it can have signed has expired; document-signing keys stay published for good.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from joserfc import jwk
from joserfc.jwk import ECKey, Key, KeyParameters, OKPKey, RSAKey

from sso.handoff.model import (
    HANDOFF_TOKEN_TTL_SECONDS,
    SIGNING_KEY_CACHE_SECONDS,
    KeyUse,
    Kid,
    SigningAlgorithm,
    SigningKeyRecord,
)

__all__ = [
    "PUBLISHED_AFTER_RETIREMENT_SECONDS",
    "GeneratedKey",
    "LoadedKey",
    "generate_key",
    "load_private_key",
    "published_records",
    "retirement_at",
    "signing_record",
]

PUBLISHED_AFTER_RETIREMENT_SECONDS: Final = HANDOFF_TOKEN_TTL_SECONDS + SIGNING_KEY_CACHE_SECONDS
"""A retired key may still sign in a process that loaded the keys before its retirement (for up
to the cache's life), and its last token lives ``HANDOFF_TOKEN_TTL_SECONDS``."""
RSA_KEY_BITS: Final = 2048
PRIVATE_KEY_TEXT_CHARACTERS_MAX: Final = 16_384

KeyType = Literal["OKP", "EC", "RSA"]
_KEY_TYPES: Final[Mapping[SigningAlgorithm, KeyType]] = {
    SigningAlgorithm.EDDSA: "OKP",
    SigningAlgorithm.ED25519: "OKP",
    SigningAlgorithm.ES256: "EC",
    SigningAlgorithm.RS256: "RSA",
}
_PUBLIC_MEMBERS: Final[Mapping[KeyType, tuple[str, ...]]] = {
    "OKP": ("crv", "x"),
    "EC": ("crv", "x", "y"),
    "RSA": ("n", "e"),
}


@dataclass(frozen=True, slots=True)
class GeneratedKey:
    """A new key: its id, its private JWK as JSON text (to be encrypted at once) and its public JWK."""

    kid: Kid
    private_text: str
    public_jwk: Mapping[str, str]

    def __repr__(self) -> str:
        return f"GeneratedKey(kid={self.kid!r})"


@dataclass(frozen=True, slots=True)
class LoadedKey:
    """A key ready to sign: its public record and its private joserfc key."""

    record: SigningKeyRecord
    key: Key

    def __repr__(self) -> str:
        return f"LoadedKey(kid={self.record.kid!r}, algorithm={self.record.algorithm.value!r})"


def generate_key(algorithm: SigningAlgorithm) -> GeneratedKey:
    """A fresh key for ``algorithm``: Ed25519 for EdDSA and Ed25519, P-256 for ES256, RSA-2048 for RS256.

    Its ``kid`` is the RFC 7638 thumbprint of the public key, so two keys never share one.
    """
    parameters: KeyParameters = {"alg": algorithm.value, "use": "sig"}
    key: Key
    if algorithm is SigningAlgorithm.ES256:
        key = ECKey.generate_key("P-256", parameters=parameters)
    elif algorithm is SigningAlgorithm.RS256:
        key = RSAKey.generate_key(RSA_KEY_BITS, parameters=parameters)
    else:
        key = OKPKey.generate_key("Ed25519", parameters=parameters)
    kid = Kid(key.thumbprint())
    private = {**key.as_dict(private=True), "kid": kid}
    return GeneratedKey(kid=kid, private_text=json.dumps(private, sort_keys=True), public_jwk=_public_jwk(private))


def load_private_key(text: str, record: SigningKeyRecord) -> LoadedKey:
    """The signing key whose private JWK is ``text``, checked against its record.

    Raises ``ValueError`` when the text is not a private key of the record's id, type and algorithm.
    """
    if len(text) > PRIVATE_KEY_TEXT_CHARACTERS_MAX:
        raise ValueError("a private key's text is too long")
    data = json.loads(text)
    key_type = _KEY_TYPES[record.algorithm]
    key = jwk.import_key(data, key_type)
    if not key.is_private or key.kid != record.kid or key.alg != record.algorithm.value:
        raise ValueError(f"the stored private key does not match its record {record.kid}")
    if key.thumbprint() != record.kid:
        raise ValueError(f"the stored private key's thumbprint is not its kid {record.kid}")
    return LoadedKey(record=record, key=key)


def _public_jwk(private: Mapping[str, object]) -> dict[str, str]:
    key_type = private["kty"]
    if key_type not in _PUBLIC_MEMBERS:
        raise ValueError("not a key type the hub signs with")
    members = _PUBLIC_MEMBERS[key_type]  # type: ignore[index]  # checked just above
    public = {"kid": private["kid"], "kty": key_type, "alg": private["alg"], "use": "sig"}
    public.update({member: private[member] for member in members})
    return {name: str(value) for name, value in public.items()}


def signing_record(
    records: Iterable[SigningKeyRecord], use: KeyUse, algorithm: SigningAlgorithm, now: datetime
) -> SigningKeyRecord | None:
    """The key of this use and algorithm that signs at ``now``: the newest active one; None if none is."""
    candidates = [
        record for record in records if record.use is use and record.algorithm is algorithm and record.signs_at(now)
    ]
    return max(candidates, key=lambda record: record.generation, default=None)


def published_records(records: Iterable[SigningKeyRecord], now: datetime) -> list[SigningKeyRecord]:
    """The keys the JWKS lists at ``now``: handoff keys current, announced, or retired within the life
    of their last tokens; every document-signing key. Ordered by use, algorithm and generation."""
    published = [record for record in records if _is_published(record, now)]
    return sorted(published, key=lambda record: (record.use.value, record.algorithm.value, record.generation))


def _is_published(record: SigningKeyRecord, now: datetime) -> bool:
    if record.use is KeyUse.DOCUMENT or record.retired_at is None:
        return True
    return now < record.retired_at + timedelta(seconds=PUBLISHED_AFTER_RETIREMENT_SECONDS)


def retirement_at(now: datetime, key_activation_delay_seconds: int) -> datetime:
    """When a key added at ``now`` starts signing, and so when its predecessor retires."""
    return now + timedelta(seconds=key_activation_delay_seconds)
