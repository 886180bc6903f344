"""A handoff service on each database, three configured vendors, a clock that stands still, and
a verifier that checks tokens against the published JWKS as a vendor would."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import pytest
from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import KeySet
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.model import PersonId
from sso.handoff.model import HandoffConfig, JwtPostVendor, LtiVendor, SharedDetails, SigningAlgorithm, Vendor
from sso.handoff.service import Handoff
from sso.handoff.store import SqlHandoffStore
from sso.id_numbers import IdNumber, make_id_number
from sso.personal_data import DataKeyring

from ..clock import Clock

ISSUER = "http://127.0.0.1:8080"
START = datetime(2021, 6, 1, 2, 0, tzinfo=UTC)
DELAY_SECONDS = 86_400
HNOU = LtiVendor(
    vendor=Vendor.HNOU,
    name="湖南开放大学",
    algorithm=SigningAlgorithm.RS256,
    login_url="http://127.0.0.1:9003/lti/login",
    target_link_uri="http://127.0.0.1:9003/lti/launch",
    client_id="hub-client",
    deployment_id="hub-deployment-1",
    redirect_uris=("http://127.0.0.1:9003/lti/launch", "http://127.0.0.1:9003/lti/deep-link"),
)
CONFIG = HandoffConfig(
    issuer=ISSUER,
    vendors={
        Vendor.ISCHINESE: JwtPostVendor(
            Vendor.ISCHINESE, "思想天下", SigningAlgorithm.EDDSA, "http://127.0.0.1:9001/sso/launch"
        ),
        Vendor.WEBTRN: JwtPostVendor(Vendor.WEBTRN, "网梯", SigningAlgorithm.ES256, "http://127.0.0.1:9002/sso/launch"),
        Vendor.HNOU: HNOU,
    },
    key_activation_delay_seconds=DELAY_SECONDS,
)
PERSON = PersonId("person-0001")
ID_NUMBER: IdNumber = make_id_number("430102", date(1985, 3, 15), 124)
DETAILS = SharedDetails(
    name="欧阳娜娜",
    gender="女",
    phone="13800138000",
    email="nana@example.cn",
    unit_code="430000-0001",
    unit_name="湖南省人民医院",
    title="主治医师",
    education="大学本科",
    id_number=ID_NUMBER,
)


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def handoff(engine: AsyncEngine, keyring: DataKeyring, clock: Clock) -> Handoff:
    return Handoff(SqlHandoffStore(engine), keyring, CONFIG, clock=clock)


def verified_claims(token: str, jwks: Mapping[str, Any], algorithm: str, now: datetime) -> dict[str, Any]:
    """The claims of ``token`` if its signature verifies against ``jwks`` with ``algorithm`` alone and
    it has not expired at ``now``; raises joserfc's errors otherwise."""
    with warnings.catch_warnings():
        # The vendors' side of the contract: "EdDSA" is the name vendors.md requires.
        warnings.filterwarnings("ignore", message="EdDSA is deprecated", category=SecurityWarning)
        decoded = jwt.decode(token, KeySet.import_key_set(dict(jwks)), algorithms=[algorithm])  # type: ignore[arg-type]
    jwt.JWTClaimsRegistry(now=int(now.timestamp()), exp={"essential": True}).validate(decoded.claims)
    return decoded.claims
