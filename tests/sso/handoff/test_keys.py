"""Signing keys: what is generated, what is published of it, and which key signs when."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from sso.handoff.keys import (
    PUBLISHED_AFTER_RETIREMENT_SECONDS,
    generate_key,
    load_private_key,
    published_records,
    signing_record,
)
from sso.handoff.model import KeyUse, Kid, SigningAlgorithm, SigningKeyRecord

from .conftest import START

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi"}


def _record(
    algorithm: SigningAlgorithm,
    generation: int,
    *,
    activates_after: int = 0,
    retires_after: int | None = None,
    use: KeyUse = KeyUse.HANDOFF,
) -> SigningKeyRecord:
    return SigningKeyRecord(
        kid=Kid(f"{algorithm.value}-{generation}"),
        use=use,
        algorithm=algorithm,
        generation=generation,
        created_at=START,
        activates_at=START + timedelta(seconds=activates_after),
        retired_at=None if retires_after is None else START + timedelta(seconds=retires_after),
        public_jwk={},
    )


@pytest.mark.parametrize(
    ("algorithm", "key_type", "curve"),
    [
        (SigningAlgorithm.EDDSA, "OKP", "Ed25519"),
        (SigningAlgorithm.ED25519, "OKP", "Ed25519"),
        (SigningAlgorithm.ES256, "EC", "P-256"),
        (SigningAlgorithm.RS256, "RSA", None),
    ],
)
def test_a_generated_key_publishes_only_its_public_part(
    algorithm: SigningAlgorithm, key_type: str, curve: str | None
) -> None:
    generated = generate_key(algorithm)
    public = generated.public_jwk

    assert (public["kid"], public["kty"], public["alg"], public["use"]) == (generated.kid, key_type, algorithm, "sig")
    assert public.get("crv") == curve
    assert not PRIVATE_MEMBERS & set(public)
    assert "d" in json.loads(generated.private_text)
    assert '"d"' not in repr(generated)


def test_rsa_keys_have_2048_bits() -> None:
    public = generate_key(SigningAlgorithm.RS256).public_jwk
    modulus = public["n"]

    assert len(modulus) == 342  # 256 bytes in base64url without padding


def test_two_keys_never_share_a_kid() -> None:
    assert generate_key(SigningAlgorithm.EDDSA).kid != generate_key(SigningAlgorithm.EDDSA).kid


def test_a_stored_private_key_loads_only_under_its_own_record() -> None:
    generated = generate_key(SigningAlgorithm.ES256)
    record = SigningKeyRecord(
        kid=generated.kid,
        use=KeyUse.HANDOFF,
        algorithm=SigningAlgorithm.ES256,
        generation=1,
        created_at=START,
        activates_at=START,
        retired_at=None,
        public_jwk=generated.public_jwk,
    )
    other = generate_key(SigningAlgorithm.ES256)

    assert load_private_key(generated.private_text, record).record == record
    with pytest.raises(ValueError, match="does not match"):
        load_private_key(other.private_text, record)
    with pytest.raises(ValueError, match="too long"):
        load_private_key(" " * 20_000, record)


def test_the_newest_active_key_signs_and_an_announced_one_waits() -> None:
    current = _record(SigningAlgorithm.RS256, 1, retires_after=100)
    announced = _record(SigningAlgorithm.RS256, 2, activates_after=100)
    other_algorithm = _record(SigningAlgorithm.ES256, 1)
    records = [current, announced, other_algorithm]

    assert signing_record(records, KeyUse.HANDOFF, SigningAlgorithm.RS256, START + timedelta(seconds=99)) == current
    assert signing_record(records, KeyUse.HANDOFF, SigningAlgorithm.RS256, START + timedelta(seconds=100)) == announced
    assert signing_record(records, KeyUse.DOCUMENT, SigningAlgorithm.RS256, START) is None


def test_a_retired_key_stays_published_until_its_last_token_expired() -> None:
    retired = _record(SigningAlgorithm.EDDSA, 1, retires_after=100)
    current = _record(SigningAlgorithm.EDDSA, 2, activates_after=100)
    document = _record(SigningAlgorithm.ED25519, 1, retires_after=1, use=KeyUse.DOCUMENT)
    last_moment = START + timedelta(seconds=100 + PUBLISHED_AFTER_RETIREMENT_SECONDS - 1)

    assert published_records([retired, current, document], last_moment) == [document, retired, current]
    assert published_records([retired, current, document], last_moment + timedelta(seconds=1)) == [
        document,
        current,
    ]
