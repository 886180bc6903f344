"""Supervisors and auditors in a real browser (Debian's Chromium through Playwright) on the demo's stage: a
supervisor signs in with their token at the console's front door, lands on the compliance of their unit,
opens the vendors' shares, each with its chart and table, and answers a feedback; an auditor signs in,
downloads an export from the form, opens its signed manifest, and walks the hash chain. Every page is
saved as a screenshot."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect

from gateway.demo.stage import Stage
from sso.access.model import token_request

from ...sso.people.forms import registration_form
from ..supervision_support import credit, id_number
from .browser_support import DESKTOP, PHONE, Camera

pytestmark = pytest.mark.browser


async def _seed(stage: Stage) -> None:
    """Two people of 长沙市中心医院: one meets 2021's rules through three vendors, one does not and sends
    feedback."""
    hub = stage.hub
    met, short = [
        await hub.people.register(
            registration_form(
                id_number=id_number(sequence), phone=f"139{sequence:08d}", email=f"staff{sequence}@example.cn"
            )
        )
        for sequence in (1, 2)
    ]
    await hub.ledger.record_batch(
        [
            credit(met, "a-1", "ischinese:XJP-2021-01", "public", "10"),
            credit(met, "a-2", "ischinese:DS-2021-02", "public", "10"),
            credit(met, "a-3", "webtrn:C2001", "public", "10"),
            credit(met, "a-4", "hnou:HN-2021-ZY11", "professional", "60"),
            credit(short, "b-1", "ischinese:XJP-2021-01", "public", "12.5"),
        ]
    )
    await hub.supervision.feedback.submit(
        short, "430100-0001", {"subject": "学时未计入", "text": "六月的课程未计入学时。"}
    )


async def _token(stage: Stage, role: str, department: str | None = None) -> str:
    organisation = await stage.hub.organisation.organisation()
    request = token_request(organisation, role=role, department=department, lifetime_days=30)
    return (await stage.hub.access.tokens.issue(request)).secret


async def _sign_in(page: Page, hub_url: str, secret: str, camera: Camera, name: str) -> None:
    await page.goto(f"{hub_url}/console")
    await expect(page.get_by_role("heading", name="控制台登录")).to_be_visible()
    await page.get_by_label("访问令牌").fill(secret)
    await camera.shoot(page, name)
    await page.get_by_role("button", name="登录").click()


async def test_a_supervisor_reads_compliance_and_vendor_share_and_an_auditor_exports_and_verifies(
    stage: Stage, chromium: Browser, camera: Camera
) -> None:
    await _seed(stage)

    await _supervisor(stage, chromium, camera)
    await _auditor(stage, chromium, camera)

    assert camera.complaints == []


async def _supervisor(stage: Stage, chromium: Browser, camera: Camera) -> None:
    """Compliance with its chart, the people short of the rules, the vendors' shares, feedback answered;
    compliance at phone width."""
    hub_url = stage.hub_url
    context = await chromium.new_context(locale="zh-CN", viewport=DESKTOP)
    page = await context.new_page()
    camera.watch(page)
    await _sign_in(page, hub_url, await _token(stage, "supervisor", "430100-personnel"), camera, "supervisor-sign-in")
    await expect(page).to_have_url(f"{hub_url}/console/compliance")
    await expect(page.get_by_role("heading", level=1)).to_have_text("长沙市人力资源和社会保障局2021年度达标情况")
    await expect(page.get_by_role("img", name="达标与未达标人数")).to_be_visible()
    hospital = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="长沙市中心医院"))
    await expect(hospital).to_contain_text("50.00%")
    await camera.shoot(page, "supervisor-compliance")
    await page.get_by_role("link", name="查看未达标人员").click()
    await expect(page.get_by_role("rowheader", name="王*")).to_be_visible()
    await camera.shoot(page, "supervisor-shortfalls")
    await page.get_by_role("link", name="供应商占比").click()
    await expect(page.get_by_role("img", name="各单位在线学时的供应商占比")).to_be_visible()
    await expect(hospital).to_contain_text("32.50（31.71%）")
    await camera.shoot(page, "supervisor-vendor-share")
    await page.get_by_role("link", name="反馈", exact=True).click()
    feedback = page.locator("section.feedback").filter(has_text="学时未计入")
    await feedback.get_by_label("答复").fill("已核实，请等待供应商重新推送。")
    await camera.shoot(page, "supervisor-feedback")
    await feedback.get_by_role("button").click()
    await expect(page.get_by_role("status")).to_have_text("答复已发送，反馈人会收到站内消息。")
    await expect(page.locator("dd.answer")).to_have_text("已核实，请等待供应商重新推送。")
    phone = await chromium.new_context(
        locale="zh-CN", viewport=PHONE, is_mobile=True, storage_state=await context.storage_state()
    )
    at_phone_width = await phone.new_page()
    camera.watch(at_phone_width)
    await at_phone_width.goto(f"{hub_url}/console/compliance")
    await expect(at_phone_width.get_by_role("img", name="达标与未达标人数")).to_be_visible()
    await camera.shoot(at_phone_width, "supervisor-compliance-phone")
    await phone.close()
    await context.close()


async def _auditor(stage: Stage, chromium: Browser, camera: Camera) -> None:
    """An export downloaded from the form, listed with its manifest; the chain walked."""
    hub_url = stage.hub_url
    context = await chromium.new_context(locale="zh-CN", viewport=DESKTOP)
    page = await context.new_page()
    camera.watch(page)
    await _sign_in(page, hub_url, await _token(stage, "auditor"), camera, "auditor-sign-in")
    await expect(page).to_have_url(f"{hub_url}/console/exports")
    await page.get_by_label("年度").fill("2021")
    async with page.expect_download() as downloading:
        await page.get_by_role("button", name="导出并下载").click()
    download = await downloading.value
    assert download.suggested_filename.startswith("ledger-2021-")
    assert (await download.failure()) is None
    await page.goto(f"{hub_url}/console/exports")
    listed = page.get_by_role("row").filter(has_text="查看清单")
    await expect(listed).to_contain_text("2021")
    await camera.shoot(page, "auditor-exports")
    await listed.get_by_role("link", name="查看清单").click()
    await expect(page.get_by_role("heading", name="导出清单")).to_be_visible()
    await expect(page.locator("#row-count")).to_have_text("5")
    await camera.shoot(page, "auditor-manifest")
    await page.get_by_role("link", name="哈希链校验").click()
    await page.get_by_role("button", name="开始校验").click()
    await expect(page.get_by_role("status")).to_have_text("哈希链完好，余额一致。")
    await expect(page.locator("#entries-checked")).to_have_text("5")
    await camera.shoot(page, "auditor-verification")
    await context.close()
