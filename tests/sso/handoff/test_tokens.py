"""The tokens the hub signs: exactly the claims vendors.md lists, one algorithm each, a typ per use."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from joserfc import jws
from joserfc.errors import BadSignatureError, UnsupportedAlgorithmError
from joserfc.jwk import KeySet

from sso.handoff.keys import LoadedKey, generate_key, load_private_key
from sso.handoff.model import KeyUse, PairwiseSubject, SigningAlgorithm, SigningKeyRecord, Vendor
from sso.handoff.tokens import (
    LTI_CLAIM,
    LTI_LEARNER_ROLE,
    REGISTRATION_CLAIM,
    handoff_claims,
    lti_launch_claims,
    sign_document,
    sign_token,
)

from .conftest import DETAILS, HNOU, ISSUER, START, verified_claims

SUBJECT = PairwiseSubject("a" * 64)


def _key(algorithm: SigningAlgorithm, use: KeyUse = KeyUse.HANDOFF) -> LoadedKey:
    generated = generate_key(algorithm)
    record = SigningKeyRecord(
        kid=generated.kid,
        use=use,
        algorithm=algorithm,
        generation=1,
        created_at=START,
        activates_at=START,
        retired_at=None,
        public_jwk=generated.public_jwk,
    )
    return load_private_key(generated.private_text, record)


def _header(token: str) -> dict[str, str]:
    encoded = token.split(".", maxsplit=1)[0]
    return json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))  # type: ignore[no-any-return]


def test_jwt_post_claims_are_exactly_those_of_the_spec() -> None:
    claims = handoff_claims(
        issuer=ISSUER, vendor=Vendor.ISCHINESE, subject=SUBJECT, details=DETAILS, issued_at=START, token_id="t-1"
    )

    issued = int(START.timestamp())
    assert claims == {
        "iss": "http://127.0.0.1:8080",
        "aud": "ischinese",
        "sub": SUBJECT,
        "iat": issued,
        "exp": issued + 120,
        "jti": "t-1",
        "reg": {
            "name": "欧阳娜娜",
            "gender": "女",
            "phone": "13800138000",
            "email": "nana@example.cn",
            "unit": {"code": "430000-0001", "name": "湖南省人民医院"},
            "title": "主治医师",
            "education": "大学本科",
            "id_number_masked": DETAILS.id_number[:6] + "********" + DETAILS.id_number[-4:],
        },
    }
    assert DETAILS.id_number not in json.dumps(claims)


def test_the_lti_launch_carries_every_lti_claim_and_the_full_id_number() -> None:
    claims = lti_launch_claims(
        issuer=ISSUER, link=HNOU, subject=SUBJECT, details=DETAILS, nonce="n-1", issued_at=START, token_id="t-2"
    )

    assert (claims["iss"], claims["aud"], claims["sub"], claims["nonce"]) == (ISSUER, "hub-client", SUBJECT, "n-1")
    assert claims["exp"] == claims["iat"] + 120  # type: ignore[operator]
    assert claims[LTI_CLAIM + "message_type"] == "LtiResourceLinkRequest"
    assert claims[LTI_CLAIM + "version"] == "1.3.0"
    assert claims[LTI_CLAIM + "deployment_id"] == "hub-deployment-1"
    assert claims[LTI_CLAIM + "target_link_uri"] == "http://127.0.0.1:9003/lti/launch"
    assert claims[LTI_CLAIM + "resource_link"] == {"id": "training-hours-hub-portal"}
    assert claims[LTI_CLAIM + "roles"] == [LTI_LEARNER_ROLE]
    assert (claims["name"], claims["email"]) == ("欧阳娜娜", "nana@example.cn")
    registration = claims[REGISTRATION_CLAIM]
    assert isinstance(registration, dict)
    assert registration["id_number"] == DETAILS.id_number
    assert registration["id_number_masked"] == DETAILS.id_number_masked


@pytest.mark.parametrize("algorithm", [SigningAlgorithm.EDDSA, SigningAlgorithm.ES256, SigningAlgorithm.RS256])
def test_a_handoff_token_verifies_with_its_algorithm_alone(algorithm: SigningAlgorithm) -> None:
    key = _key(algorithm)
    jwks = {"keys": [dict(key.record.public_jwk)]}
    claims = handoff_claims(
        issuer=ISSUER, vendor=Vendor.WEBTRN, subject=SUBJECT, details=DETAILS, issued_at=START, token_id="t"
    )

    token = sign_token(key, claims)

    assert _header(token) == {"alg": algorithm.value, "kid": key.record.kid, "typ": "JWT"}
    assert verified_claims(token, jwks, algorithm.value, START + timedelta(seconds=119)) == claims
    other = next(name for name in ("RS256", "ES256") if name != algorithm.value)
    with pytest.raises(UnsupportedAlgorithmError):
        verified_claims(token, jwks, other, START)


def test_a_document_signature_has_its_own_type_and_key() -> None:
    document_key = _key(SigningAlgorithm.ED25519, KeyUse.DOCUMENT)
    handoff_key = _key(SigningAlgorithm.EDDSA)

    signature = sign_document(document_key, b'{"rows": 3}')

    assert _header(signature) == {"alg": "Ed25519", "kid": document_key.record.kid, "typ": "hub-document+jws"}
    keys = KeySet.import_key_set({"keys": [dict(document_key.record.public_jwk)]})  # type: ignore[list-item]
    assert jws.deserialize_compact(signature, keys, algorithms=["Ed25519"]).payload == b'{"rows": 3}'
    with pytest.raises(ValueError, match="document-signing keys only"):
        sign_document(handoff_key, b"{}")
    with pytest.raises(ValueError, match="handoff keys only"):
        sign_token(document_key, {})


def test_a_token_signed_by_another_key_does_not_verify() -> None:
    key = _key(SigningAlgorithm.RS256)
    impostor = _key(SigningAlgorithm.RS256)
    jwks = {"keys": [{**impostor.record.public_jwk, "kid": key.record.kid}]}

    with pytest.raises(BadSignatureError):
        verified_claims(sign_token(key, {"a": 1, "exp": int(START.timestamp()) + 60}), jwks, "RS256", START)
