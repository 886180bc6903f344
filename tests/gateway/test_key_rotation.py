"""Key rotation as an operator runs it: ``hub keys rotate`` against a running hub and a vendor.

A token signed just before the rotation still validates; the new kids appear in the JWKS at once and
sign nothing until the activation delay has passed (the clock of a second hub process, injected);
then the vendor, meeting a kid it does not know, fetches the JWKS again and accepts the new key. Each
rotation leaves one audit entry naming the new kids.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sso.access.model import ActorKind, AuditAction, AuditOutcome, AuditQuery
from sso.handoff.model import FormPost, SharedDetails
from sso.handoff.service import Handoff
from sso.handoff.store import SqlHandoffStore
from sso.id_numbers import IdNumber

from .conftest import RunHub
from .handoff_support import ID_NUMBER, World, handoff_world

DELAY_SECONDS = 86_400
DETAILS = SharedDetails("欧阳娜娜", "女", "13912345678", "o@example.cn", "430100-0001", "长沙市中心医院", "主治医师",
                        "硕士研究生", IdNumber(ID_NUMBER))  # fmt: skip


class VendorClock:
    """The vendor's clock, in Unix seconds, which the test may move forward."""

    def __init__(self) -> None:
        self.offset_seconds = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset_seconds


def _kid(token: str) -> str:
    header = token.split(".", maxsplit=1)[0]
    return str(json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"])


async def _jwks_kids(world: World) -> dict[str, list[str]]:
    keys = json.loads((await world.browser.get(world.url("/.well-known/jwks.json"))).text)["keys"]
    by_algorithm: dict[str, list[str]] = {}
    for key in keys:
        by_algorithm.setdefault(key["alg"], []).append(key["kid"])
    return by_algorithm


async def _token_at(world: World, instant: datetime) -> str:
    """A token from a second hub process on the same database, whose clock stands at ``instant``."""
    later = Handoff(
        SqlHandoffStore(world.hub.engine), world.hub.keyring, world.hub.handoff.config, clock=lambda: instant
    )
    outcome = await later.launch(world.person_id, "ischinese", DETAILS)  # type: ignore[arg-type]
    assert isinstance(outcome, FormPost)
    return outcome.fields["id_token"]


async def test_rotation_keeps_old_tokens_valid_and_the_new_key_waits_for_its_delay(
    tmp_path: Path, database_url: str, run_hub: RunHub
) -> None:
    vendor_clock = VendorClock()
    async with handoff_world(tmp_path, database_url, vendor_clock=vendor_clock) as world:
        await world.consent("ischinese")
        primed = await world.browser.submit(await world.browser.get(world.url("/sso/launch/ischinese")))
        assert primed.status == 200  # the vendor has fetched the JWKS as it was before the rotation
        signed_before = await world.browser.get(world.url("/sso/launch/ischinese"))
        old_kid = _kid(signed_before.form().fields["id_token"])
        before = await _jwks_kids(world)

        started_at = datetime.now(UTC)
        rotated = await asyncio.to_thread(run_hub, "keys", "rotate", "--config", str(world.settings_file))
        rotated_at = datetime.now(UTC)

        assert rotated.returncode == 0, rotated.stderr
        assert [line.split(":")[0] for line in rotated.stdout.splitlines()[:3]] == ["EdDSA", "ES256", "RS256"]
        after = await _jwks_kids(world)
        for algorithm in ("EdDSA", "ES256", "RS256"):
            assert after[algorithm][0] == before[algorithm][0]
            assert len(after[algorithm]) == 2
            assert f"published key {after[algorithm][1]}" in rotated.stdout
        assert after["Ed25519"] == before["Ed25519"]
        new_kid = after["EdDSA"][1]
        audited = (await world.hub.access.audit.page(AuditQuery())).entries
        assert [(entry.action, entry.outcome, entry.actor.kind) for entry in audited] == [
            (AuditAction.KEYS_ROTATED, AuditOutcome.SUCCEEDED, ActorKind.COMMAND_LINE)
        ]
        details = dict(audited[0].details)
        delay = timedelta(seconds=DELAY_SECONDS)
        assert started_at + delay <= datetime.fromisoformat(str(details.pop("activates_at"))) <= rotated_at + delay
        # The new kids, and nothing else: no key material.
        assert details == {f"kid_{algorithm.lower()}": after[algorithm][1] for algorithm in ("EdDSA", "ES256", "RS256")}

        accepted_old = await world.browser.submit(signed_before)
        assert accepted_old.status == 200, world.ischinese.refusals

        just_before = await _token_at(world, rotated_at + timedelta(seconds=DELAY_SECONDS - 5))
        assert _kid(just_before) == old_kid
        once_active = await _token_at(world, rotated_at + timedelta(seconds=DELAY_SECONDS + 5))
        assert _kid(once_active) == new_kid

        vendor_clock.offset_seconds = DELAY_SECONDS + 5
        accepted_new = await world.browser.post(world.ischinese_launch, {"id_token": once_active})
        assert accepted_new.status == 200, world.ischinese.refusals
        assert world.ischinese.refusals == []


def test_rotating_before_migrating_says_what_to_do_in_one_line(run_hub: RunHub, tmp_path: Path) -> None:
    result = run_hub(
        "keys",
        "rotate",
        environment={
            "HUB__HUB__BASE_URL": "http://127.0.0.1:8080",
            "HUB__HUB__DATA_KEY_FILE": str(tmp_path / "no.key"),
        },
    )

    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("hub: error: ")
    assert result.stderr.strip().endswith("run `hub migrate` first")


def test_rotating_the_document_key_keeps_the_old_one_published_and_is_audited(
    run_hub: RunHub, settings_file: Path
) -> None:
    first = run_hub("keys", "rotate-document", "--config", str(settings_file))
    second = run_hub("keys", "rotate-document", "--config", str(settings_file))

    assert first.returncode == second.returncode == 0, (first.stderr, second.stderr)
    kids = [result.stdout.split("document-signing key ")[1].split(",")[0] for result in (first, second)]
    assert kids[0] != kids[1]
    jwks = asyncio.run(_document_kids(settings_file))
    assert jwks[-2:] == kids
    assert len(jwks) == 3  # the first key, made on first use, and the two rotated in


async def _document_kids(settings_file: Path) -> list[str]:
    from config import load_settings
    from gateway.bootstrap import open_hub

    async with open_hub(load_settings(settings_file)) as hub:
        audited = (await hub.access.audit.page(AuditQuery())).entries
        assert [(entry.action, entry.details["use"]) for entry in audited] == [
            (AuditAction.KEYS_ROTATED, "document")
        ] * 2
        return [key["kid"] for key in (await hub.handoff.jwks())["keys"] if key["alg"] == "Ed25519"]
