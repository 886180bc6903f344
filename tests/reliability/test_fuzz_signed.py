"""Well-signed but hostile: bodies that pass each vendor's signature and carry any text hypothesis makes
in their fields (control characters, NUL, astral characters, long runs), delivered to the hub on
PostgreSQL, which refuses a NUL in any text. A vendor's bad record must be answered as bad (400, or
hnou's ``FAIL:``) or held for an operator, and must never be answered 5xx: a vendor retries a 5xx for
days, and a record that always fails would come back for ever and share each batch it joins."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.hnou.simulator_hours import hnou_sign
from adapters.webtrn.puller import WebtrnPuller
from gateway.directory import HubLearnerDirectory

from .conftest import FreshDatabase, Scenario
from .stage import HubInProcess, hub_in_this_process

hostile_text = st.text(max_size=40) | st.sampled_from(["\x00", "a\x00b", "\u202e", "😀" * 3, "\r\n", " "])


@pytest.fixture
def hub_on_postgresql(
    tmp_path: Path, fresh_postgresql: FreshDatabase, scenario: Scenario
) -> Iterator[tuple[asyncio.AbstractEventLoop, HubInProcess]]:
    """The hub in this process on a fresh PostgreSQL database, and the loop it runs on."""
    loop = asyncio.new_event_loop()
    stack = AsyncExitStack()
    try:
        database_url = loop.run_until_complete(fresh_postgresql())
        hub = loop.run_until_complete(
            stack.enter_async_context(hub_in_this_process(tmp_path, database_url, scenario.evidence, learners=1))
        )
        yield loop, hub
    finally:
        loop.run_until_complete(stack.aclose())
        loop.close()


def _examples(scenario: Scenario) -> settings:
    return settings(
        max_examples=max(20, scenario.sizes.parser_examples // 5),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


def test_signed_hostile_deliveries_are_refused_or_held_never_5xx(
    hub_on_postgresql: tuple[asyncio.AbstractEventLoop, HubInProcess], scenario: Scenario
) -> None:
    loop, hub = hub_on_postgresql
    learner = hub.learners[0]
    answers: Counter[str] = Counter()
    key = base64.b64decode(hub.shared.webhook_secret.removeprefix("whsec_"))
    http = httpx.AsyncClient(timeout=30.0)

    async def webhook(data: dict[str, object]) -> int:
        body = json.dumps({"type": "completion.created", "timestamp": "2021-06-01T10:00:00+08:00", "data": data})
        message_id, stamp = f"msg_{secrets.token_hex(8)}", str(int(time.time()))
        signature = base64.b64encode(hmac.new(key, f"{message_id}.{stamp}.{body}".encode(), hashlib.sha256).digest())
        headers = {
            "webhook-id": message_id,
            "webhook-timestamp": stamp,
            "webhook-signature": f"v1,{signature.decode()}",
        }
        return (await http.post(f"{hub.url}/webhooks/ischinese", content=body, headers=headers)).status_code

    async def form(fields: dict[str, str]) -> tuple[int, str]:
        stamped = {**fields, "timestamp": str(int(time.time())), "nonce": secrets.token_urlsafe(24)}
        signed = {**stamped, "sign_type": "HMAC-SHA256", "sign": hnou_sign(stamped, hub.shared.appsecret)}
        answer = await http.post(f"{hub.url}/webhooks/hnou", data=signed)
        return answer.status_code, answer.text

    @_examples(scenario)
    @given(
        completion_id=hostile_text,
        sub=st.just(learner.ischinese_sub) | hostile_text,
        course_id=hostile_text,
        title=hostile_text,
        reason=hostile_text,
    )
    def ischinese(completion_id: str, sub: str, course_id: str, title: str, reason: str) -> None:
        data = {
            "completion_id": completion_id,
            "sub": sub,
            "course": {"id": course_id, "title": title, "subject": "public", "hours": "1.5"},
            "completed_at": "2021-06-01T09:58:12+08:00",
            "reason": reason,
        }
        status = loop.run_until_complete(webhook(data))
        answers[f"ischinese {status}"] += 1
        assert status in {200, 400}, status

    @_examples(scenario)
    @given(record_no=hostile_text, course_code=hostile_text, course_title=hostile_text, zt=st.sampled_from("01"))
    def hnou(record_no: str, course_code: str, course_title: str, zt: str) -> None:
        fields = {
            "appid": "hub",
            "record_no": record_no,
            "idcard": learner.id_number,
            "kcbh": course_code,
            "kcmc": course_title,
            "kmlx": "2",
            "xs": "1.5",
            "wcsj": "20210610101010",
            "zt": zt,
        }
        status, text = loop.run_until_complete(form(fields))
        answers[f"hnou {status} {text.partition(':')[0]}"] += 1
        assert status == 200, (status, text)

    @_examples(scenario)
    @given(sub=st.just(learner.webtrn_sub) | hostile_text, code=hostile_text, name=hostile_text)
    def webtrn(sub: str, code: str, name: str) -> None:
        item = {
            "id": 1 + len(answers),
            "learner": {"sub": sub},
            "course_code": code,
            "course_name": name,
            "subject": "公共科目",
            "credit_hours": 2.5,
            "finished_at": "2021-06-01 10:00:00",
            "status": "completed",
            "updated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        answers[f"webtrn pulled, {loop.run_until_complete(_pull(hub, item))}"] += 1

    try:
        ischinese()
        hnou()
        webtrn()
    finally:
        loop.run_until_complete(http.aclose())
    scenario.record_figures(
        "signed_hostile",
        "Well-signed hostile deliveries to the hub on PostgreSQL (hypothesis)",
        {
            "deliveries tried": sum(answers.values()),
            "answered 5xx": sum(count for answer, count in answers.items() if " 5" in answer),
        },
    )


class _OnePage:
    """webtrn's API serving one page of one item."""

    def __init__(self, item: dict[str, object]) -> None:
        self.body = json.dumps({"items": [item], "next_cursor": None}).encode()

    async def page(self, _parameters: object) -> bytes:
        return self.body


async def _pull(hub: HubInProcess, item: dict[str, object]) -> str:
    """Pull the page, as the scheduled job does; a pull that fails raises."""
    directory = HubLearnerDirectory(hub.hub.people, hub.hub.handoff)
    puller = WebtrnPuller(_OnePage(item), hub.hub.ledger, directory, start=datetime(2021, 1, 1, tzinfo=UTC))
    report = await puller.pull()
    return "held" if report.held else "stored"
