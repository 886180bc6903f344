"""The tokens the hub signs: handoff ``id_token`` claims as vendors.md lists them, the LTI 1.3
resource-link launch, and compact JWS signatures of documents.

Every signature names its algorithm and allows only that one: nothing relies on a library's
default. Each use has its own ``typ``: ``JWT`` for handoff tokens, ``hub-document+jws`` for documents.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Final

from joserfc import jws
from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import KeySet

from sso.handoff.errors import DocumentSignatureInvalid
from sso.handoff.keys import LoadedKey
from sso.handoff.model import (
    DOCUMENT_ALGORITHM,
    DOCUMENT_SIGNATURE_TYPE,
    HANDOFF_TOKEN_TTL_SECONDS,
    HANDOFF_TOKEN_TYPE,
    KeyUse,
    LtiVendor,
    PairwiseSubject,
    SharedDetails,
    SigningAlgorithm,
    Vendor,
)

__all__ = [
    "LTI_CLAIM",
    "LTI_LEARNER_ROLE",
    "REGISTRATION_CLAIM",
    "handoff_claims",
    "lti_launch_claims",
    "registration_claim",
    "sign_document",
    "sign_token",
    "verify_document",
]

LTI_CLAIM: Final = "https://purl.imsglobal.org/spec/lti/claim/"
LTI_LEARNER_ROLE: Final = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
REGISTRATION_CLAIM: Final = "https://hnxxpt.example/claim/registration"
RESOURCE_LINK_ID: Final = "training-hours-hub-portal"
"""The one resource the hub links to at hnou: its portal, the same for every launch."""
TOKEN_BYTES_MAX: Final = 16 * 1024
# joserfc's words when it warns about the algorithm name "EdDSA" (see _allow_eddsa_name).
_EDDSA_WARNING: Final = r"EdDSA is deprecated via RFC 9864"


def registration_claim(details: SharedDetails) -> dict[str, object]:
    """The ``reg`` claim: what a vendor needs to create or link the account, the ID number masked."""
    return {
        "name": details.name,
        "gender": details.gender,
        "phone": details.phone,
        "email": details.email,
        "unit": {"code": details.unit_code, "name": details.unit_name},
        "title": details.title,
        "education": details.education,
        "id_number_masked": details.id_number_masked,
    }


def handoff_claims(
    *,
    issuer: str,
    vendor: Vendor,
    subject: PairwiseSubject,
    details: SharedDetails,
    issued_at: datetime,
    token_id: str,
) -> dict[str, object]:
    """The claims of a jwt-post ``id_token`` (vendors.md, ischinese step 3)."""
    issued = int(issued_at.timestamp())
    return {
        "iss": issuer,
        "aud": vendor.value,
        "sub": subject,
        "iat": issued,
        "exp": issued + HANDOFF_TOKEN_TTL_SECONDS,
        "jti": token_id,
        "reg": registration_claim(details),
    }


def lti_launch_claims(
    *,
    issuer: str,
    link: LtiVendor,
    subject: PairwiseSubject,
    details: SharedDetails,
    nonce: str,
    issued_at: datetime,
    token_id: str,
) -> dict[str, object]:
    """The claims of an LTI 1.3 ``LtiResourceLinkRequest`` (vendors.md, hnou step 4).

    The registration claim carries the full ID number: hnou keys learners by it, and the consent
    page says so.
    """
    issued = int(issued_at.timestamp())
    return {
        "iss": issuer,
        "aud": link.client_id,
        "azp": link.client_id,
        "sub": subject,
        "nonce": nonce,
        "iat": issued,
        "exp": issued + HANDOFF_TOKEN_TTL_SECONDS,
        "jti": token_id,
        LTI_CLAIM + "message_type": "LtiResourceLinkRequest",
        LTI_CLAIM + "version": "1.3.0",
        LTI_CLAIM + "deployment_id": link.deployment_id,
        LTI_CLAIM + "target_link_uri": link.target_link_uri,
        LTI_CLAIM + "resource_link": {"id": RESOURCE_LINK_ID},
        LTI_CLAIM + "roles": [LTI_LEARNER_ROLE],
        "name": details.name,
        "email": details.email,
        REGISTRATION_CLAIM: {**registration_claim(details), "id_number": details.id_number},
    }


def sign_token(key: LoadedKey, claims: Mapping[str, object]) -> str:
    """A handoff token: the claims as a compact JWS of ``typ`` JWT, signed with ``key`` alone.

    Raises ``ValueError`` for a key that is not a handoff key.
    """
    if key.record.use is not KeyUse.HANDOFF:
        raise ValueError("handoff tokens are signed with handoff keys only")
    payload = json.dumps(claims, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return _sign(key, HANDOFF_TOKEN_TYPE, payload)


def sign_document(key: LoadedKey, payload: bytes) -> str:
    """A document signature: ``payload`` as a compact JWS of ``typ`` hub-document+jws.

    Raises ``ValueError`` for a key that is not a document-signing key.
    """
    if key.record.use is not KeyUse.DOCUMENT:
        raise ValueError("documents are signed with document-signing keys only")
    return _sign(key, DOCUMENT_SIGNATURE_TYPE, payload)


def verify_document(signature: str, payload: bytes, jwks: Mapping[str, object]) -> str:
    """The ``kid`` of the document-signing key in ``jwks`` that made ``signature`` over exactly ``payload``.

    Only the document algorithm and type are accepted, and only a key the JWKS holds under the
    signature's ``kid``. Raises ``DocumentSignatureInvalid`` saying why otherwise.
    """
    try:
        keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise DocumentSignatureInvalid("the JWKS cannot be read as a set of public keys") from exc
    if len(signature) > TOKEN_BYTES_MAX:
        raise DocumentSignatureInvalid(f"a signature is at most {TOKEN_BYTES_MAX} bytes")
    algorithm = DOCUMENT_ALGORITHM.value
    try:
        header = jws.extract_compact(signature.encode()).headers()
        if header.get("typ") != DOCUMENT_SIGNATURE_TYPE or header.get("alg") != algorithm:
            raise DocumentSignatureInvalid(
                f"a document signature is of typ {DOCUMENT_SIGNATURE_TYPE} and alg {algorithm}"
            )
        kid = header.get("kid")
        if not isinstance(kid, str) or not any(key.kid == kid for key in keys.keys):
            raise DocumentSignatureInvalid("the signature's kid is not in the JWKS")
        registry = jws.JWSRegistry(algorithms=[algorithm])
        signed = jws.deserialize_compact(signature, keys, algorithms=[algorithm], registry=registry)
    except (JoseError, ValueError) as exc:
        raise DocumentSignatureInvalid("the signature does not verify with the JWKS") from exc
    if signed.payload != payload:
        raise DocumentSignatureInvalid("the signature covers other content than the document's")
    return kid


def _sign(key: LoadedKey, token_type: str, payload: bytes) -> str:
    algorithm = key.record.algorithm
    header = {"alg": algorithm.value, "kid": key.record.kid, "typ": token_type}
    registry = jws.JWSRegistry(algorithms=[algorithm.value])
    with _allow_eddsa_name(algorithm):
        token = jws.serialize_compact(header, payload, key.key, algorithms=[algorithm.value], registry=registry)
    if len(token) > TOKEN_BYTES_MAX:
        raise ValueError(f"a signed token is at most {TOKEN_BYTES_MAX} bytes")
    return token


@contextmanager
def _allow_eddsa_name(algorithm: SigningAlgorithm) -> Iterator[None]:
    if algorithm is not SigningAlgorithm.EDDSA:
        yield
        return
    with warnings.catch_warnings():
        # vendors.md requires the name "EdDSA", which RFC 9864 deprecates in favour of "Ed25519"
        # and joserfc warns about on every use; ischinese's JWT library knows only "EdDSA".
        warnings.filterwarnings("ignore", message=_EDDSA_WARNING, category=SecurityWarning)
        yield
