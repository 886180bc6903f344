"""Handoff tokens minted per second through the hub's own code, against a bare joserfc encode of the
same claims with the same key, in the same run, for each algorithm a vendor may ask for.

    python -m bench.handoff_tokens [--tokens 1000]

The hub's path is what every launch runs once it has the person's subject: the signing key from the
service (its cache, refreshed from the database once a minute), the claims of vendors.md with a
fresh ``jti``, and ``sign_token`` with its one-algorithm allow-list (for EdDSA, inside the filter of
joserfc's warning about that name, which vendors.md requires). The keys live in a migrated
SQLite database in a temporary folder, encrypted with a fresh personal-data key.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import tempfile
import time
import warnings
from datetime import UTC, date, datetime
from pathlib import Path

from joserfc import jwt
from joserfc.errors import SecurityWarning

from gateway.database import create_engine, migrate
from sso.handoff.model import (
    HandoffConfig,
    JwtPostVendor,
    KeyUse,
    PairwiseSubject,
    SharedDetails,
    SigningAlgorithm,
    Vendor,
)
from sso.handoff.service import Handoff
from sso.handoff.store import SqlHandoffStore
from sso.handoff.tokens import handoff_claims, sign_token
from sso.id_numbers import make_id_number
from sso.personal_data import DataKeyring

ISSUER = "http://127.0.0.1:8080"
ALGORITHMS = (SigningAlgorithm.EDDSA, SigningAlgorithm.ES256, SigningAlgorithm.RS256)
SUBJECT = PairwiseSubject("5f1c" * 16)
DETAILS = SharedDetails(
    name="欧阳娜娜",
    gender="女",
    phone="13912345678",
    email="ouyang@example.cn",
    unit_code="430100-0001",
    unit_name="长沙市中心医院",
    title="主治医师",
    education="硕士研究生",
    id_number=make_id_number("430102", date(1988, 5, 20), 246),
)
CONFIG = HandoffConfig(
    issuer=ISSUER,
    vendors={Vendor.WEBTRN: JwtPostVendor(Vendor.WEBTRN, "网梯", SigningAlgorithm.ES256, "http://127.0.0.1:9002/sso")},
    key_activation_delay_seconds=86_400,
)


ROUNDS = 5


async def _measure(handoff: Handoff, algorithm: SigningAlgorithm, count: int) -> tuple[float, float]:
    """The best rate of each path over interleaved rounds, so that a busy moment hurts both alike."""
    key = await handoff.signing_key(KeyUse.HANDOFF, algorithm)
    claims = _claims()
    header = {"alg": algorithm.value, "kid": key.record.kid}

    async def hub_round() -> float:
        started = time.perf_counter()
        for _ in range(count):
            sign_token(await handoff.signing_key(KeyUse.HANDOFF, algorithm), _claims())
        return count / (time.perf_counter() - started)

    def bare_round() -> float:
        started = time.perf_counter()
        for _ in range(count):
            jwt.encode(header, dict(claims), key.key, algorithms=[algorithm.value])
        return count / (time.perf_counter() - started)

    hub_rates, bare_rates = [], []
    with warnings.catch_warnings():
        # Bare joserfc warns on every EdDSA use (RFC 9864); filtered once here, as a caller would.
        warnings.filterwarnings("ignore", message="EdDSA is deprecated via RFC 9864", category=SecurityWarning)
        for _ in range(ROUNDS):
            bare_rates.append(bare_round())
            hub_rates.append(await hub_round())
    return max(hub_rates), max(bare_rates)


def _claims() -> dict[str, object]:
    return handoff_claims(
        issuer=ISSUER,
        vendor=Vendor.WEBTRN,
        subject=SUBJECT,
        details=DETAILS,
        issued_at=datetime.now(UTC),
        token_id=secrets.token_urlsafe(18),
    )


async def _run(database_url: str, count: int) -> dict[SigningAlgorithm, tuple[float, float]]:
    engine = create_engine(database_url)
    try:
        handoff = Handoff(SqlHandoffStore(engine), DataKeyring.generate(), CONFIG)
        return {algorithm: await _measure(handoff, algorithm, count) for algorithm in ALGORITHMS}
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tokens", type=int, default=1000, help="Tokens minted per path, algorithm and round.")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        database_url = f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}"
        migrate(database_url)
        rates = asyncio.run(_run(database_url, arguments.tokens))
    print(f"handoff tokens minted per second, best of {ROUNDS} interleaved rounds")
    print("(ratio = hub / bare joserfc encode of the same claims with the same key, same run)")
    for algorithm, (hub, bare) in rates.items():
        print(f"  {algorithm.value:<6} hub {hub:9.0f}   bare {bare:9.0f}   ratio {hub / bare:.2f}")
    print("  hub: the key from the service, fresh claims and jti, sign_token with its one-algorithm allow-list")


if __name__ == "__main__":
    main()
