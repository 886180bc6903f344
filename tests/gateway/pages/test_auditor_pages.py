"""The auditors' pages, on SQLite and PostgreSQL: an export downloaded from the form as the API streams it,
listed with its signed manifest; a form with faults; and the walk of the chain, intact and then broken by
a row changed in the database."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from sso.access.model import AuditAction, AuditOutcome, Role

from ..access_support import audit_entries, new_token
from ..supervision_support import credit, enrol, record
from .support import Answer, PageBrowser

LINK = re.compile(r'^</console/exports/(?P<id>[0-9a-f]{32})/manifest>; rel="describedby"$')


@pytest.fixture
async def entries(browser: PageBrowser) -> int:
    """Four entries of 2021 in the ledger, of two people of two institutions; their count."""
    client = browser.client
    first = await enrol(client, 1, "430100-0001", "张伟")
    second = await enrol(client, 2, "430181-0001", "赵敏")
    await record(
        client,
        credit(first, "z-1", "ischinese:XJP-2021-01", "public", "30"),
        credit(first, "z-2", "webtrn:C2001", "professional", "12.5"),
        credit(second, "m-1", "hnou:DS-2021", "public", "8"),
        credit(second, "m-2", "continuing_ed:CE-1", "professional", "60"),
    )
    return 4


async def sign_in_as_auditor(browser: PageBrowser) -> Answer:
    secret = await new_token(browser.client, Role.AUDITOR)
    return await browser.submit("/console/login", {"token": secret})


def shown(answer: Answer, element_id: str) -> str:
    found = re.search(rf'id="{element_id}">([^<]*)<', answer.text)
    assert found is not None, answer.text
    return found[1]


async def test_an_auditor_downloads_an_export_from_the_form_and_reads_its_signed_manifest(
    browser: PageBrowser, entries: int
) -> None:
    signed_in = await sign_in_as_auditor(browser)
    assert (signed_in.status, signed_in.location) == (303, "/console/exports?done=signed_in")
    assert "还没有导出记录" in (await browser.get("/console/exports")).text

    download = await browser.submit("/console/exports", {"year": "2021", "format": "csv", "unit": ""})

    assert download.status == 200
    assert download.headers["Content-Disposition"].startswith('attachment; filename="ledger-2021-')
    link = LINK.fullmatch(download.headers["Link"])
    assert link is not None
    export_id = link["id"]
    lines = download.text.splitlines()
    assert lines[0].startswith("\ufeffseq,")
    assert len(lines) == 1 + entries
    listed = await browser.get("/console/exports")
    row = re.search(r"<tr>\s*<th scope=\"row\"><code>([0-9a-f]+)</code></th>(.*?)</tr>", listed.text, re.S)
    assert row is not None
    assert export_id.startswith(row[1])
    cells = [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td>(.*?)</td>", row[2], re.S)]
    assert cells[:5] == ["2021", "CSV", "全部", str(entries), str(entries)]
    assert f'<a href="/console/exports/{export_id}/manifest">查看清单</a>' in row[2]

    page = await browser.get(f"/console/exports/{export_id}/manifest")
    manifest = await browser.hub.exports.manifest(export_id)
    assert manifest is not None
    assert page.status == 200
    assert shown(page, "row-count") == str(entries)
    assert hashlib.sha256(download.text.encode()).hexdigest() == manifest["sha256"]
    assert f"<code>{manifest['sha256']}</code>" in page.text
    assert f"<code>{manifest['signature']}</code>" in page.text
    async with browser.client.get(f"/console/exports/{export_id}/manifest.json") as response:
        assert response.status == 200
        assert "attachment" in response.headers["Content-Disposition"]
        assert json.loads(await response.text()) == manifest
    audited = [(entry.action, entry.outcome) for entry in await audit_entries(browser.client)]
    assert audited[-3:] == [
        (AuditAction.LEDGER_EXPORTED, AuditOutcome.SUCCEEDED),
        (AuditAction.EXPORT_MANIFEST_READ, AuditOutcome.SUCCEEDED),
        (AuditAction.EXPORT_MANIFEST_READ, AuditOutcome.SUCCEEDED),
    ]


async def test_an_export_of_one_unit_holds_its_rows_alone(browser: PageBrowser, entries: int) -> None:
    await sign_in_as_auditor(browser)

    download = await browser.submit("/console/exports", {"year": "2021", "format": "jsonl", "unit": "430181"})

    rows = [json.loads(line) for line in download.text.splitlines()]
    assert [row["record_id"] for row in rows] == ["m-1", "m-2"]
    assert {row["unit_code"] for row in rows} == {"430181-0001"}


async def test_an_export_form_with_faults_shows_each_beside_its_field_and_exports_nothing(
    browser: PageBrowser, entries: int
) -> None:
    await sign_in_as_auditor(browser)

    refused = await browser.submit("/console/exports", {"year": "21", "format": "xlsx", "unit": "<b>nowhere</b>"})
    without_token = await browser.post("/console/exports", {"year": "2021", "format": "csv"})

    assert refused.status == 422
    assert refused.errors() == {
        "year": "请填写四位数字的年度（2000至2100）",
        "format": "请选择导出格式",
        "unit": "请填写地区或单位的代码，或留空导出全部",
    }
    assert 'value="&lt;b&gt;nowhere&lt;/b&gt;"' in refused.text
    assert without_token.status == 403
    assert await browser.hub.exports.recent(10) == []
    assert (await browser.get(f"/console/exports/{'0' * 32}/manifest")).status == 404
    assert (await browser.get("/console/exports/nothing/manifest.json")).status == 404
    assert (await browser.get("/console/exports/13812345678/manifest")).status == 404


async def test_verification_shows_the_head_and_a_tampered_row_as_a_broken_chain(
    browser: PageBrowser, entries: int
) -> None:
    await sign_in_as_auditor(browser)
    ledger = browser.hub.ledger
    head = await ledger.verify_chain()

    assert (await browser.post("/console/verification", {})).status == 403
    intact = await browser.submit("/console/verification", {})
    async with browser.hub.engine.begin() as connection:
        await tamper(connection, seq=2)
    broken = await browser.submit("/console/verification", {})

    assert intact.status == 200
    assert "哈希链完好，余额一致。" in intact.text
    assert (shown(intact, "entries-checked"), shown(intact, "head-seq")) == (str(entries), str(entries))
    assert shown(intact, "head-hash") == head.head_hash
    assert broken.status == 200
    assert "哈希链已损坏：序号 2 处断开。" in broken.text
    assert (shown(broken, "entries-checked"), shown(broken, "first-bad-seq")) == ("1", "2")
    assert shown(broken, "ledger-head") == str(entries)
    verified = [entry for entry in await audit_entries(browser.client) if entry.action is AuditAction.LEDGER_VERIFIED]
    assert [entry.details["intact"] for entry in verified] == [True, False]


async def tamper(connection: AsyncConnection, *, seq: int) -> None:
    """Change an entry's hours, as someone with direct database access could."""
    if connection.dialect.name == "postgresql":
        await connection.execute(text("ALTER TABLE ledger_entry DISABLE TRIGGER USER"))
    else:
        await connection.execute(text("DROP TRIGGER ledger_entry_no_update"))
    await connection.execute(text("UPDATE ledger_entry SET hours = hours + 1 WHERE seq = :seq"), {"seq": seq})
