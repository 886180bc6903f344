"""ischinese's simulator refuses every token it must refuse, and says why: it verifies the hub's
tokens against the JWKS it fetches from the real hub server, as the vendor would."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from joserfc import jws
from joserfc.jwk import OKPKey

from sso.handoff.model import KeyUse, PairwiseSubject, SharedDetails, SigningAlgorithm, Vendor
from sso.handoff.tokens import handoff_claims, sign_token
from sso.id_numbers import IdNumber

from ...gateway.handoff_support import ID_NUMBER, World, handoff_world, sqlite_copy

DETAILS = SharedDetails(
    name="欧阳娜娜",
    gender="女",
    phone="13912345678",
    email="ouyang@example.cn",
    unit_code="430100-0001",
    unit_name="长沙市中心医院",
    title="主治医师",
    education="硕士研究生",
    id_number=IdNumber(ID_NUMBER),
)


@pytest.fixture
async def world(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[World]:
    # On SQLite alone: the simulator stores nothing in the hub; tests/gateway covers both databases.
    async with handoff_world(tmp_path, sqlite_copy(tmp_path, sqlite_template)) as world:
        await world.consent("ischinese")
        yield world


def _segment(data: dict[str, object] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def _hub_token(world: World, vendor: str = "ischinese") -> str:
    page = await world.browser.get(world.url(f"/sso/launch/{vendor}"))
    return page.form().fields["id_token"]


async def _claims(world: World, **changes: object) -> dict[str, object]:
    subject = await world.hub.handoff.subject_for(world.person_id, Vendor.ISCHINESE)  # type: ignore[arg-type]
    claims = handoff_claims(
        issuer=world.hub_url,
        vendor=Vendor.ISCHINESE,
        subject=PairwiseSubject(subject),
        details=DETAILS,
        issued_at=datetime.now(UTC),
        token_id=f"jti-{datetime.now(UTC).timestamp()}",
    )
    return {**claims, **changes}


async def _signed_by_the_hub(world: World, claims: dict[str, object]) -> str:
    return sign_token(await world.hub.handoff.signing_key(KeyUse.HANDOFF, SigningAlgorithm.EDDSA), claims)


async def _refusal(world: World, token: str) -> str:
    page = await world.browser.post(world.ischinese_launch, {"id_token": token})
    assert page.status == 401, page.text
    assert world.ischinese.accounts == {}
    return world.ischinese.refusals[-1].reason


async def test_the_hubs_own_token_is_accepted(world: World) -> None:
    page = await world.browser.post(world.ischinese_launch, {"id_token": await _hub_token(world)})

    assert page.status == 200
    assert len(world.ischinese.accounts) == 1


async def test_a_token_for_webtrn_is_refused(world: World) -> None:
    await world.consent("webtrn")
    webtrn_token = await _hub_token(world, "webtrn")
    eddsa_for_webtrn = await _signed_by_the_hub(world, await _claims(world, aud="webtrn"))

    assert await _refusal(world, webtrn_token) == "algorithm"  # webtrn's tokens are ES256
    assert await _refusal(world, eddsa_for_webtrn) == "audience"


async def test_an_expired_token_is_refused(world: World) -> None:
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    claims = await _claims(world, iat=int(an_hour_ago.timestamp()), exp=int(an_hour_ago.timestamp()) + 120)

    assert await _refusal(world, await _signed_by_the_hub(world, claims)) == "expired"


async def test_a_replayed_jti_is_refused(world: World) -> None:
    token = await _hub_token(world)
    first = await world.browser.post(world.ischinese_launch, {"id_token": token})

    second = await world.browser.post(world.ischinese_launch, {"id_token": token})

    assert (first.status, second.status) == (200, 401)
    assert world.ischinese.refusals[-1].reason == "replayed"


async def test_alg_none_is_refused(world: World) -> None:
    real = await _hub_token(world)
    header = json.loads(base64.urlsafe_b64decode(real.split(".")[0] + "=="))
    unsigned = f"{_segment({**header, 'alg': 'none'})}.{_segment(await _claims(world))}."

    assert await _refusal(world, unsigned) == "algorithm"


async def test_hs256_keyed_with_the_hubs_public_key_is_refused(world: World) -> None:
    jwks = json.loads((await world.browser.get(world.url("/.well-known/jwks.json"))).text)
    published = next(key for key in jwks["keys"] if key["alg"] == "EdDSA")
    public_pem = OKPKey.import_key(published).public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = (
        f"{_segment({'alg': 'HS256', 'typ': 'JWT', 'kid': published['kid']})}.{_segment(await _claims(world))}"
    )
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()

    assert await _refusal(world, f"{signing_input}.{_segment(mac)}") == "algorithm"


async def test_an_unknown_kid_is_refused(world: World) -> None:
    impostor = OKPKey.generate_key("Ed25519", parameters={"alg": "EdDSA", "kid": "not-a-hub-key"})
    header = {"alg": "EdDSA", "typ": "JWT", "kid": "not-a-hub-key"}
    payload = json.dumps(await _claims(world)).encode()
    token = _sign_eddsa(header, payload, impostor)

    assert await _refusal(world, token) == "unknown_kid"


async def test_another_key_under_the_hubs_kid_is_refused(world: World) -> None:
    hub_kid = json.loads(base64.urlsafe_b64decode((await _hub_token(world)).split(".")[0] + "=="))["kid"]
    impostor = OKPKey.generate_key("Ed25519", parameters={"alg": "EdDSA", "kid": hub_kid})
    token = _sign_eddsa(
        {"alg": "EdDSA", "typ": "JWT", "kid": hub_kid}, json.dumps(await _claims(world)).encode(), impostor
    )

    assert await _refusal(world, token) == "signature"


async def test_another_issuer_or_a_long_life_is_refused(world: World) -> None:
    other_issuer = await _signed_by_the_hub(world, await _claims(world, iss=world.hub_url + "/"))
    claims = await _claims(world)
    long_life = await _signed_by_the_hub(world, {**claims, "exp": int(claims["iat"]) + 3600})  # type: ignore[call-overload]

    assert await _refusal(world, other_issuer) == "issuer"
    assert await _refusal(world, long_life) == "lifetime"


async def test_a_form_without_a_token_is_refused(world: World) -> None:
    assert await _refusal(world, "") == "malformed"
    assert await _refusal(world, "not-a-token") == "malformed"


def _sign_eddsa(header: dict[str, str], payload: bytes, key: OKPKey) -> str:
    import warnings

    from joserfc.errors import SecurityWarning

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="EdDSA is deprecated", category=SecurityWarning)
        return jws.serialize_compact(header, payload, key, algorithms=["EdDSA"])
