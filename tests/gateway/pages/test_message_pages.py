"""Messages and feedback pages through an aiohttp test server on SQLite and PostgreSQL: messages paged
newest first with the unread ones marked and markable read (another person's is not found), and
feedback sent from a form whose faults stand beside its fields, listed with its answers."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from gateway.database import create_engine
from sso.access.model import TokenId
from sso.messages.model import MessageKind, MessageQuery, NewMessage
from sso.people.model import Person, PersonId
from supervision.feedback.model import FEEDBACK_PER_WINDOW_MAX, TEXT_CHARACTERS_MAX, FeedbackForm
from supervision.feedback.store import SqlFeedbackStore

from ...sso.people.forms import ID_NUMBER
from ..access_support import registration
from .support import PageBrowser

TITLE = re.compile(r'<h2 id="message-(\d+)">(<span class="badge">未读</span> )?([^<]*)</h2>')
REPORT = {"subject": "单位强制指定学习平台", "text": "本单位要求全体职工只能在一家平台学习，\n否则不予认定学时。"}


async def _person(browser: PageBrowser) -> Person:
    await browser.register()
    person_id = await browser.hub.people.find_by_id_number(ID_NUMBER)
    assert person_id is not None
    await browser.log_in()
    return await browser.hub.people.get(person_id)


def _notice(person_id: PersonId, number: int) -> NewMessage:
    return NewMessage(person_id, MessageKind.SUPERVISOR_NOTICE, f"通知 {number:02d}", f"第{number}条通知的内容。")


# ---------------------------------------------------------------- messages


async def test_messages_are_paged_newest_first_with_the_unread_ones_marked(browser: PageBrowser) -> None:
    person = await _person(browser)
    for number in range(25):
        await browser.hub.messages.send(_notice(person.id, number))

    first = await browser.get("/me/messages")
    second = await browser.get("/me/messages?page=2")
    centre = await browser.get("/me")

    assert first.status == second.status == 200
    titles = [title for _id, _badge, title in TITLE.findall(first.text)]
    assert titles == [f"通知 {number:02d}" for number in range(24, 4, -1)]
    assert all(badge for _id, badge, _title in TITLE.findall(first.text))
    assert "第 1 / 2 页（共 25 条）" in first.text
    assert 'href="/me/messages?page=2"' in first.text
    assert [title for _id, _badge, title in TITLE.findall(second.text)] == [f"通知 {n:02d}" for n in range(4, -1, -1)]
    assert "您有 <strong>25</strong> 条未读消息" in first.text
    assert "查看消息（25 条未读）" in centre.text


async def test_marking_a_message_read_goes_back_to_its_page_and_another_persons_is_not_found(
    browser: PageBrowser,
) -> None:
    other = await browser.hub.people.register(registration(2, "430100-0001"))
    await browser.hub.messages.send(_notice(other, 99))
    (theirs,) = (await browser.hub.messages.page(other, MessageQuery())).messages
    person = await _person(browser)
    for number in range(22):
        await browser.hub.messages.send(_notice(person.id, number))
    oldest = (await browser.hub.messages.all_of(person.id))[-1]

    read = await browser.submit(f"/me/messages/{oldest.id}/read", {"page": "2"}, page="/me/messages?page=2")
    page = await browser.get(read.location)
    foreign = await browser.submit(f"/me/messages/{theirs.id}/read", {}, page="/me/messages")
    unknown = await browser.submit("/me/messages/x1/read", {}, page="/me/messages")

    assert (read.status, read.location) == (303, "/me/messages?page=2&done=read")
    assert "消息已标记为已读" in page.text
    assert [(int(seq), bool(badge)) for seq, badge, _title in TITLE.findall(page.text)] == [
        (oldest.id + 1, True),
        (oldest.id, False),
    ]
    assert f'action="/me/messages/{oldest.id}/read"' not in page.text
    assert "您有 <strong>21</strong> 条未读消息" in page.text
    assert foreign.status == unknown.status == 404
    assert "找不到该消息" in foreign.text
    assert (await browser.hub.messages.page(other, MessageQuery())).unread == 1


async def test_a_messages_link_is_offered_with_what_it_leads_to(browser: PageBrowser) -> None:
    person = await _person(browser)
    await browser.hub.messages.send(
        NewMessage(person.id, MessageKind.CERTIFICATE_ISSUED, "证书已生成", "可下载。", "/api/v1/certificates/x.pdf"),
        NewMessage(person.id, MessageKind.SUPERVISOR_NOTICE, "外部链接", "不应显示。", "javascript:alert(1)"),
    )

    page = await browser.get("/me/messages")

    assert '<a href="/api/v1/certificates/x.pdf">下载证书</a>' in page.text
    assert "javascript:" not in page.text


# ---------------------------------------------------------------- feedback


async def test_feedback_with_faults_names_each_beside_its_field_and_keeps_what_was_typed(
    browser: PageBrowser,
) -> None:
    person = await _person(browser)

    blank = await browser.submit("/me/feedback", {"subject": " ", "text": ""})
    wrong = await browser.submit("/me/feedback", {"subject": "两行\n主题", "text": "长" * (TEXT_CHARACTERS_MAX + 1)})

    assert blank.status == wrong.status == 422
    assert blank.errors() == {"subject": "请填写主题", "text": "请填写反馈内容"}
    assert wrong.errors() == {
        "subject": "主题应为1至100个字符，不能换行，不能含控制字符",
        "text": "反馈内容应为1至2000个字符，不能含控制字符",
    }
    assert re.search(r'<textarea id="text" name="text"[^>]*aria-invalid="true"[^>]*>长{2001}</textarea>', wrong.text)
    assert await browser.hub.supervision.feedback.all_of(person.id) == []


async def test_feedback_sent_is_listed_with_its_answer_and_the_days_limit_is_said(browser: PageBrowser) -> None:
    person = await _person(browser)
    long_text = "长" * TEXT_CHARACTERS_MAX  # the whole of it fits in the form's body

    sent = await browser.submit("/me/feedback", REPORT)
    escaped = await browser.submit("/me/feedback", {"subject": "<script>alert(1)</script>", "text": long_text})
    [newest, first] = await browser.hub.supervision.feedback.all_of(person.id)
    await browser.hub.supervision.feedback.answer(first.id, {"text": "已责令整改。"}, by=TokenId(1))
    for _ in range(FEEDBACK_PER_WINDOW_MAX - 2):
        await browser.submit("/me/feedback", REPORT)
    limited = await browser.submit("/me/feedback", REPORT)
    page = await browser.get("/me/feedback")
    messages = await browser.get("/me/messages")

    assert (sent.status, sent.location) == (303, "/me/feedback?done=feedback")
    assert escaped.status == 303
    assert newest.text == long_text
    assert limited.status == 429
    assert 0 < int(limited.headers["Retry-After"]) <= 24 * 3600
    assert "您今天提交的反馈已达上限" in limited.text
    assert 'value="单位强制指定学习平台"' in limited.text  # what was typed stays
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>alert(1)" not in page.text
    assert "本单位要求全体职工只能在一家平台学习，\n否则不予认定学时。" in page.text
    assert "主管部门答复" in page.text
    assert "已责令整改。" in page.text
    assert page.text.count("等待答复") == FEEDBACK_PER_WINDOW_MAX - 1
    assert '<a href="/me/feedback">查看反馈</a>' in messages.text


async def test_earlier_feedback_is_paged_newest_first(browser: PageBrowser, database_url: str) -> None:
    person = await _person(browser)
    engine = create_engine(database_url)
    store = SqlFeedbackStore(engine)
    start = datetime(2021, 3, 1, 2, 0, tzinfo=UTC)
    # Sent over twelve days, within the day's limit each.
    for number in range(12):
        form = FeedbackForm(f"反馈 {number:02d}", "内容", None)
        moment = start + timedelta(days=number)
        await store.add(person.id, person.unit_code, form, now=moment, window=timedelta(days=1), count_max=1)
    await engine.dispose()

    first = await browser.get("/me/feedback")
    second = await browser.get("/me/feedback?page=2")

    subjects = re.compile(r"<h3>([^<]*)</h3>")
    assert subjects.findall(first.text) == [f"反馈 {number:02d}" for number in range(11, 1, -1)]
    assert subjects.findall(second.text) == ["反馈 01", "反馈 00"]
    assert "第 1 / 2 页（共 12 条）" in first.text
    assert 'href="/me/feedback?page=2"' in first.text
