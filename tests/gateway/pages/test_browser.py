"""A person in a real browser: Debian's Chromium, driven by Playwright, on the hub and the three vendors'
simulators served on 127.0.0.1 (the demo's stage). Register with the unit picked region by region, log
in, open the personal centre, enter ischinese through the consent page and the handoff, and see the
hours the vendor reports back appear on the hub's training page; apply for the certificate too early
and see what is missing; get the rest of 2021 from ischinese and hnou, tick the records and apply,
download the certificate's PDF and open its verification page; read the message it brought and send
feedback; enter hnou, whose consent is sent on
through the LTI redirects that the consent page's policy must allow; a reset link's page fills its
token from the link with its one inline script; an operator signs in to the console with their bearer
token, reconciles ischinese and resolves the record whose webhook was lost. Every page is saved as a
screenshot under the test's temporary directory, one also at phone width. On SQLite: what the pages
store is tested on both databases by the pages' other tests."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Final

import pytest
from playwright.async_api import Browser, Page, StorageState, expect

from adapters.hnou.simulator_hours import SimulatedCompletion as SimulatedCompletionAtHnou
from adapters.ischinese.simulator_hours import SimulatedCompletion
from gateway.demo.stage import Stage
from gateway.sessions import SESSION_COOKIE
from sso.access.model import token_request
from sso.handoff import Vendor

from ...sso.people.forms import ID_NUMBER, PASSWORD, registration_form
from ...trainings.forms import filing_form
from .browser_support import DESKTOP, PHONE, Camera

pytestmark = pytest.mark.browser

BEIJING: Final = timezone(timedelta(hours=8))
NEW_PASSWORD: Final = "battery9staple"


async def test_register_log_in_enter_ischinese_and_see_the_hours_it_reports(
    stage: Stage, chromium: Browser, camera: Camera
) -> None:
    context = await chromium.new_context(locale="zh-CN", viewport=DESKTOP)
    page = await context.new_page()
    camera.watch(page)

    await _register(page, stage.hub_url, camera)
    await _log_in(page, stage.hub_url, camera)
    await _enter_ischinese(page, stage, camera)
    await _see_the_hours_ischinese_reports(page, stage, camera)
    await _apply_too_early(page, stage.hub_url, camera)
    await _complete_the_year(stage)
    await _tick_apply_download_and_verify(page, stage.hub_url, camera)
    await _read_the_message_and_send_feedback(page, stage.hub_url, camera)
    phone = await chromium.new_context(
        locale="zh-CN",
        viewport=PHONE,
        is_mobile=True,
        storage_state=await context.storage_state(),
    )
    await _at_phone_width(await phone.new_page(), stage.hub_url, camera)

    # The forms with faults and the application too early, and nothing else.
    assert camera.complaints == [
        f"422: {stage.hub_url}/register",
        f"422: {stage.hub_url}/me/certificates",
        f"422: {stage.hub_url}/me/feedback",
    ]
    await phone.close()
    await context.close()


async def _register(page: Page, hub: str, camera: Camera) -> None:
    """The unit, region by region; then the form, first with faults, then right."""
    await page.goto(f"{hub}/register")
    await expect(page).to_have_url(f"{hub}/register/unit")
    await page.get_by_role("link", name="湖南省", exact=True).click()
    await page.get_by_role("link", name="长沙市", exact=True).click()
    await expect(page.get_by_role("heading", name="长沙市的单位")).to_be_visible()
    await camera.shoot(page, "unit-picker")
    await page.get_by_role("link", name="长沙市中心医院").click()

    await _fill_registration(page, phone="12345")
    await page.get_by_role("button", name="注册").click()
    await expect(page.locator("#phone-error")).to_have_text("错误：请填写11位中国大陆手机号码，以1开头")
    await expect(page.get_by_label("手机号码")).to_have_attribute("aria-invalid", "true")
    await camera.shoot(page, "registration-errors")
    await _fill_registration(page, phone="13812345678")
    await camera.shoot(page, "registration")
    await page.get_by_role("button", name="注册").click()


async def _log_in(page: Page, hub: str, camera: Camera) -> None:
    await expect(page.get_by_role("status")).to_have_text("注册成功，请使用身份证号和密码登录。")
    await page.get_by_label("身份证号").fill(ID_NUMBER)
    await page.get_by_label("密码", exact=True).fill(PASSWORD)
    await camera.shoot(page, "login")
    await page.get_by_role("button", name="登录").click()
    await expect(page).to_have_url(f"{hub}/me")
    await expect(page.get_by_text("王芳，您好！")).to_be_visible()
    await camera.shoot(page, "personal-centre")


async def _enter_ischinese(page: Page, stage: Stage, camera: Camera) -> None:
    """From the personal centre: the consent page first, then the handoff posts to the vendor."""
    await page.get_by_role("link", name="进入思想天下").click()
    await expect(page.get_by_role("heading", name="进入“思想天下”前，请确认授权")).to_be_visible()
    await camera.shoot(page, "consent")
    await page.get_by_role("button", name="同意并进入").click()
    await expect(page).to_have_url(f"{stage.urls['ischinese']}/sso/launch")
    await expect(page.get_by_role("heading", name="登录成功")).to_be_visible()
    await expect(page.get_by_text("欢迎您，王芳")).to_be_visible()
    await camera.shoot(page, "ischinese-logged-in")


async def _see_the_hours_ischinese_reports(page: Page, stage: Stage, camera: Camera) -> None:
    [account] = stage.ischinese.accounts
    completion = stage.ischinese.completion_of(
        account,
        "c-000001",
        course_id="XJP-2021-01",
        course_title="习近平新时代中国特色社会主义思想概论",
        subject="public",
        hours="3.5",
        completed_at=datetime(2021, 6, 1, 9, 58, tzinfo=BEIJING),
    )
    sending = await stage.ischinese.hours.send(stage.ischinese.hours.keep(completion))
    assert sending.delivered, sending
    await page.goto(f"{stage.hub_url}/me/training?year=2021")
    row = page.get_by_role("row").filter(has_text="习近平新时代中国特色社会主义思想概论")
    for cell in ("2021-06-01 09:58", "思想天下", "公共科目", "3.50", "已计入"):
        await expect(row).to_contain_text(cell)
    await camera.shoot(page, "training")


async def _apply_too_early(page: Page, hub: str, camera: Camera) -> None:
    """With 3.5 hours, the application is refused, saying what is missing."""
    await page.get_by_role("button", name="申请证书").click()
    await expect(page.get_by_role("heading", name="申请2021年度培训合格证书")).to_be_visible()
    await camera.shoot(page, "certificate-application")
    await page.get_by_role("button", name="确认申请").click()
    await expect(page).to_have_url(f"{hub}/me/certificates")
    refusal = page.get_by_role("alert")
    await expect(refusal).to_contain_text("申请未通过：勾选的记录尚未达到年度学时要求")
    await expect(refusal).to_contain_text("总学时还差86.50学时（要求90.00学时）")
    await expect(refusal).to_contain_text("尚未完成必修内容：党史学习教育、人事政策法规")
    await camera.shoot(page, "certificate-refused")


async def _complete_the_year(stage: Stage) -> None:
    """ischinese reports the rest of the year's courses; hnou, by ID number, the personnel-policy course that
    the rules' third mandatory topic needs and ischinese does not teach."""
    [account] = stage.ischinese.accounts
    courses = (
        ("c-000002", "DS-2021-02", "党史学习教育专题", "public", "20.5"),
        ("c-000003", "ZY-2021-11", "临床诊疗规范更新", "professional", "30"),
        ("c-000004", "ZY-2021-12", "医疗质量与安全管理", "professional", "30"),
    )
    for day, (completion_id, course_id, title, subject, hours) in enumerate(courses, start=2):
        completion = stage.ischinese.completion_of(
            account,
            completion_id,
            course_id=course_id,
            course_title=title,
            subject=subject,
            hours=hours,
            completed_at=datetime(2021, 6, day, 10, 0, tzinfo=BEIJING),
        )
        sending = await stage.ischinese.hours.send(stage.ischinese.hours.keep(completion))
        assert sending.delivered, sending
    hnou = stage.hnou.hours
    hnou.keep(
        SimulatedCompletionAtHnou(
            record_no="HN2021000001",
            id_number=ID_NUMBER,
            name="王芳",
            course_code="HN-2021-RS01",
            course_title="人事政策与法规",
            subject="public",
            hours="6",
            completed_at=datetime(2021, 7, 1, 15, 0, tzinfo=BEIJING),
        )
    )
    assert (await hnou.notify("HN2021000001"))[-1] == (200, "SUCCESS")


async def _tick_apply_download_and_verify(page: Page, hub: str, camera: Camera) -> None:
    """The year met: tick every record, apply, download the PDF, open the verification page."""
    await page.goto(f"{hub}/me/training?year=2021")
    await expect(page.get_by_role("table").first).to_contain_text("已达标")
    boxes = page.get_by_role("checkbox")
    await expect(boxes).to_have_count(5)
    for box in await boxes.all():
        await box.check()
    await camera.shoot(page, "training-ticked")
    await page.get_by_role("button", name="申请证书").click()
    await expect(page.get_by_role("table").first).to_contain_text("已达到要求")
    await page.get_by_role("button", name="确认申请").click()
    # Issued by this application, or by the review of the year a moment before: listed alike.
    await expect(page).to_have_url(re.compile(rf"{re.escape(hub)}/me/certificates\?done=(applied|held)"))
    certificate = page.locator("section.certificate")
    await expect(certificate.get_by_role("heading")).to_have_text("2021年度培训合格证书 有效")
    await expect(certificate).to_contain_text("合计 90.00 学时（公共科目 30.00，专业科目 60.00）")
    await camera.shoot(page, "certificates")
    async with page.expect_download() as downloading:
        await certificate.get_by_role("link", name=re.compile("下载证书")).click()
    download = await downloading.value
    pdf = await asyncio.to_thread(Path(await download.path()).read_bytes)
    assert pdf.startswith(b"%PDF")
    await certificate.get_by_role("link", name=re.compile("核验页面")).click()
    await expect(page.get_by_role("heading", name="培训合格证书核验")).to_be_visible()
    await expect(page.locator("p.notice")).to_contain_text("有效")
    await camera.shoot(page, "verify")


async def _read_the_message_and_send_feedback(page: Page, hub: str, camera: Camera) -> None:
    await page.goto(f"{hub}/me")
    await expect(page.get_by_role("link", name="查看消息（1 条未读）")).to_be_visible()
    await page.get_by_role("link", name="查看消息（1 条未读）").click()
    message = page.get_by_role("listitem").filter(has_text="2021年度培训合格证书已生成")
    await expect(message).to_contain_text("未读")
    await camera.shoot(page, "messages")
    await message.get_by_role("button", name=re.compile("标为已读")).click()
    await expect(page.get_by_role("status")).to_have_text("消息已标记为已读。")
    await expect(page.get_by_text("没有未读消息。")).to_be_visible()

    await page.goto(f"{hub}/me/feedback")
    await page.get_by_role("button", name="提交反馈").click()
    await expect(page.locator("#subject-error")).to_have_text("错误：请填写主题")
    await page.get_by_label("主题").fill("单位强制指定学习平台")
    await page.get_by_label("反馈内容").fill("本单位要求全体职工只能在一家平台学习，否则不予认定学时。")
    await page.get_by_role("button", name="提交反馈").click()
    await expect(page.get_by_role("status")).to_have_text("反馈已提交，答复后会通过站内消息通知您。")
    await expect(page.get_by_role("listitem").filter(has_text="单位强制指定学习平台")).to_contain_text("等待答复")
    await camera.shoot(page, "feedback")


async def _at_phone_width(page: Page, hub: str, camera: Camera) -> None:
    """Every page fits a phone's width, with the same session; the personal centre and the training page are shot."""
    camera.watch(page)
    for path in (
        "/me/profile",
        "/me/password",
        "/me/certificates/apply?year=2021",
        "/me/certificates",
        "/me/messages",
        "/me/feedback",
        "/logout",
        "/register?unit=430100-0001",
        "/register/unit?region=430100",
    ):
        await page.goto(f"{hub}{path}")
        assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path
    await page.goto(f"{hub}/me")
    await expect(page.get_by_role("link", name="进入思想天下")).to_be_visible()
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await camera.shoot(page, "personal-centre-phone")
    await page.goto(f"{hub}/me/training?year=2021")
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await camera.shoot(page, "training-phone")


async def test_entering_hnou_goes_through_the_consent_and_the_lti_redirects_the_policy_allows(
    stage: Stage, chromium: Browser, camera: Camera
) -> None:
    person_id = await stage.hub.people.register(registration_form())
    context = await chromium.new_context(locale="zh-CN", viewport=DESKTOP)
    token = await stage.hub.people.open_session(person_id)
    await context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": stage.hub_url}])
    page = await context.new_page()
    camera.watch(page)

    await page.goto(f"{stage.hub_url}/me")
    await page.get_by_role("link", name="进入湖南开放大学").click()
    await expect(page.get_by_role("listitem").filter(has_text="完整的身份证号")).to_be_visible()
    await camera.shoot(page, "consent-hnou")
    # Consent → the launch → the tool's login → the hub's authorization → the form posted to the tool.
    await page.get_by_role("button", name="同意并进入").click()

    await expect(page.get_by_role("heading", name="登录成功")).to_be_visible()
    await expect(page).to_have_url(f"{stage.urls['hnou']}/lti/launch")
    await camera.shoot(page, "hnou-logged-in")
    assert camera.complaints == []
    await context.close()


async def test_a_reset_link_fills_its_token_with_the_pages_script_and_works_without_script(
    stage: Stage, chromium: Browser, camera: Camera
) -> None:
    hub = stage.hub_url
    person_id = await stage.hub.people.register(registration_form())
    with_script = await stage.hub.access.reset_links.issue(person_id, issued_by=None)
    without_script = await stage.hub.access.reset_links.issue(person_id, issued_by=None)

    context = await chromium.new_context(locale="zh-CN", viewport=DESKTOP)
    page = await context.new_page()
    camera.watch(page)
    await page.goto(f"{hub}/password-reset#token={with_script.secret}")
    await expect(page.get_by_label("重置码")).to_be_hidden()
    await expect(page).to_have_url(f"{hub}/password-reset")  # the secret left the address bar
    await page.get_by_label("新密码", exact=True).fill(NEW_PASSWORD)
    await page.get_by_label("确认新密码").fill(NEW_PASSWORD + "x")
    await page.get_by_role("button", name="设置新密码").click()
    await expect(page.locator("#new_password_confirm-error")).to_have_text("错误：两次输入的新密码不一致")
    await expect(page.get_by_label("重置码")).to_be_hidden()  # kept from the link, still out of sight
    await page.get_by_label("新密码", exact=True).fill(NEW_PASSWORD)
    await page.get_by_label("确认新密码").fill(NEW_PASSWORD)
    await camera.shoot(page, "password-reset")
    await page.get_by_role("button", name="设置新密码").click()
    await expect(page.get_by_role("status")).to_have_text("新密码已设置，请使用新密码登录。")
    assert camera.complaints == [f"422: {hub}/password-reset"]  # the mismatched passwords, and nothing else
    await context.close()

    scriptless = await chromium.new_context(locale="zh-CN", viewport=PHONE, java_script_enabled=False)
    page = await scriptless.new_page()
    await page.goto(f"{hub}/password-reset#token={without_script.secret}")
    await expect(page.get_by_label("重置码")).to_be_visible()
    await page.get_by_label("重置码").fill(without_script.secret)
    await page.get_by_label("新密码", exact=True).fill(PASSWORD)
    await page.get_by_label("确认新密码").fill(PASSWORD)
    await page.get_by_role("button", name="设置新密码").click()
    await expect(page.get_by_role("status")).to_have_text("新密码已设置，请使用新密码登录。")
    await scriptless.close()
    assert await stage.hub.people.authenticate(ID_NUMBER, PASSWORD) == person_id


async def _fill_registration(page: Page, *, phone: str) -> None:
    await page.get_by_label("身份证号").fill(ID_NUMBER)
    await page.get_by_label("密码", exact=True).fill(PASSWORD)
    await page.get_by_label("确认密码").fill(PASSWORD)
    await page.get_by_label("姓名").fill("王芳")
    await page.get_by_label("女").check()
    await page.get_by_label("民族").select_option("汉族")
    await page.get_by_label("手机号码").fill(phone)
    await page.get_by_label("电子邮箱").fill("wangfang@example.cn")
    await page.get_by_label("籍贯").fill("湖南长沙")
    await page.get_by_label("学历").select_option("大学本科")
    await page.get_by_label("所学专业").fill("临床医学")
    await page.get_by_label("毕业院校").fill("中南大学")
    await page.get_by_label("毕业时间").fill("2012-06-30")
    await page.get_by_label("职称", exact=True).fill("主治医师")
    await page.get_by_label("取得职称时间").fill("2018-09-01")


async def test_an_operator_signs_in_reconciles_ischinese_and_resolves_the_lost_record(
    stage: Stage, chromium: Browser, camera: Camera
) -> None:
    hub = stage.hub
    person_id = await hub.people.register(registration_form())
    subject = await hub.handoff.subject_for(person_id, Vendor.ISCHINESE)
    completed_at = datetime(2021, 6, 1, 9, 58, tzinfo=BEIJING)
    # Kept at the vendor and never sent: the webhook that should have brought it was lost.
    stage.ischinese.hours.keep(
        SimulatedCompletion("c-lost", str(subject), "XJP-2021-01", "概论", "public", "3.5", completed_at)
    )
    # Delivered: a bar on the dashboard's charts.
    delivered = SimulatedCompletion(
        "c-delivered", str(subject), "DS-2021-01", "党史学习教育专题", "public", "2", completed_at
    )
    assert (await stage.ischinese.hours.send(stage.ischinese.hours.keep(delivered))).delivered
    organisation = await hub.organisation.organisation()
    filing = await hub.offline_trainings.file(filing_form(), organisation, "operator:1")
    request = token_request(organisation, role="operator", lifetime_days=30)
    secret = (await hub.access.tokens.issue(request)).secret
    context = await chromium.new_context(locale="zh-CN", viewport=DESKTOP)
    page = await context.new_page()
    camera.watch(page)

    await page.goto(f"{stage.hub_url}/console")
    await expect(page.get_by_role("heading", name="控制台登录")).to_be_visible()
    await page.get_by_label("访问令牌").fill(secret)
    await camera.shoot(page, "console-sign-in")
    await page.get_by_role("button", name="登录").click()
    await expect(page).to_have_url(f"{stage.hub_url}/console")
    await _see_the_charts_and_the_filings(page, camera, filing.number)

    await page.get_by_role("link", name="对账").click()
    await page.get_by_label("供应商").select_option("ischinese")
    await page.get_by_label("培训年度").fill("2021")
    await page.get_by_role("button", name="开始对账").click()
    await expect(page.get_by_text("对账已开始")).to_be_visible()
    await _until_the_run_ends(page)
    await camera.shoot(page, "console-reconciliations")

    await page.get_by_role("link", name="查看未处理差异").click()
    found = page.locator("section.discrepancy").filter(has_text="c-lost")
    await expect(found.get_by_role("heading")).to_contain_text("台账缺少")
    await found.get_by_label("以供应商记录为准（入账）").check()
    await found.get_by_role("textbox", name="理由").fill("推送丢失，按供应商记录补录")
    await camera.shoot(page, "console-discrepancy")
    await found.get_by_role("button").click()

    await expect(page.get_by_role("heading", name="已处理差异")).to_be_visible()
    await expect(page.get_by_text("差异已处理。")).to_be_visible()
    resolved = page.locator("section.discrepancy").filter(has_text="c-lost")
    await expect(resolved.locator(".resolution")).to_have_text("以供应商记录为准（入账）")
    await expect(resolved).to_contain_text("推送丢失，按供应商记录补录")
    await camera.shoot(page, "console-resolved")
    credits = [entry for entry in await hub.ledger.entries_of(person_id, 2021) if entry.record_id == "c-lost"]
    assert len(credits) == 1
    await _department_approves(stage, chromium, camera, filing.number, filing.department_code)
    await _console_at_phone_width(chromium, await context.storage_state(), stage.hub_url)

    assert camera.complaints == []
    await context.close()


async def _see_the_charts_and_the_filings(page: Page, camera: Camera, number: str) -> None:
    """The dashboard's health table and charts, with the delivery seeded; then the filings waiting."""
    await expect(page.get_by_role("row").filter(has_text="思想天下（ischinese）").first).to_contain_text("是")
    await expect(page.get_by_role("img", name="思想天下（ischinese）：最近24小时的接收与拒收")).to_be_visible()
    await expect(page.get_by_role("heading", name="思想天下（ischinese）：最近24小时接收1条，拒收0条")).to_be_visible()
    await camera.shoot(page, "console-dashboard")
    await page.get_by_role("link", name="线下培训", exact=True).click()
    await expect(page.get_by_role("heading", name=f"{number}：急危重症救治能力提升培训")).to_be_visible()
    await camera.shoot(page, "console-filings")


async def _console_at_phone_width(chromium: Browser, signed_in: StorageState, hub: str) -> None:
    """Every console page of an operator fits a phone's width, with the same console session."""
    phone = await chromium.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, storage_state=signed_in)
    page = await phone.new_page()
    for path in (
        "/console",
        "/console?span=month",
        "/console/reconciliations",
        "/console/discrepancies?status=resolved",
        "/console/quarantine",
        "/console/filings",
        "/console/password-reset",
    ):
        await page.goto(f"{hub}{path}")
        await expect(page.get_by_role("link", name="退出控制台")).to_be_visible()
        assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path
    await phone.close()


async def _department_approves(stage: Stage, chromium: Browser, camera: Camera, number: str, department: str) -> None:
    """The filing's department signs in to the console with its supervisor's token and approves it; at
    phone width, as a department's staff might on the go."""
    request = token_request(await stage.hub.organisation.organisation(), role="supervisor", department=department)
    secret = (await stage.hub.access.tokens.issue(request)).secret
    context = await chromium.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True)
    page = await context.new_page()
    camera.watch(page)
    await page.goto(f"{stage.hub_url}/console/filings")
    await page.get_by_label("访问令牌").fill(secret)
    await page.get_by_role("button", name="登录").click()
    await expect(page).to_have_url(f"{stage.hub_url}/console/filings")
    filing = page.locator("section.filing").filter(has_text=number)
    await expect(filing.get_by_role("button", name=f"批准 {number}")).to_be_visible()
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await camera.shoot(page, "console-filing-to-approve")
    await filing.get_by_role("button", name=f"批准 {number}").click()
    await expect(page.get_by_role("status")).to_have_text("已批准该线下培训备案。")
    await expect(page.get_by_text("没有待审批的线下培训备案。")).to_be_visible()
    await camera.shoot(page, "console-filing-approved")
    await context.close()


async def _until_the_run_ends(page: Page) -> None:
    """Reload the list of runs, as an operator would, until the latest run has ended."""
    latest = page.locator("td.run-status").first
    for _ in range(200):
        if (await latest.inner_text()) != "进行中":
            break
        await asyncio.sleep(0.1)
        await page.reload()
    await expect(latest).to_have_text("已完成")
