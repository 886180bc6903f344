"""The staff's pages through an aiohttp test server, on SQLite and PostgreSQL: the unit picker, each
form with its errors beside its fields, the personal centre and the year's training."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from gateway.pages.forms import LABELS
from ledger.model import new_credit, new_reversal
from sso.id_numbers import make_id_number
from sso.people.model import LOGIN_FAILURES_MAX

from ...sso.people.forms import ID_NUMBER, PASSWORD
from .support import PageBrowser

NEW_PASSWORD = "battery9staple"
ROW = re.compile(
    "<tr><td>(?:<input [^>]*>)?</td><td>([^<]*)</td>"
    + '<td class="course">([^<]*)</td>'
    + "<td>([^<]*)</td>" * 2
    + '<td class="number">([^<]*)</td><td>([^<]*)</td></tr>'
)
REQUIRED = (
    *("id_number", "password", "name", "gender", "phone", "email", "native_place", "education"),
    *("major", "school", "graduated_on", "title"),
)


def _links(text: str) -> dict[str, str]:
    return {name: href for href, name in re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', text)}


# ---------------------------------------------------------------- the unit picker


async def test_the_picker_walks_from_the_province_to_an_institution(browser: PageBrowser) -> None:
    top = await browser.get("/register/unit")
    province = await browser.get(_links(top.text)["湖南省"])
    city = await browser.get(_links(province.text)["长沙市"])
    form = await browser.get(_links(city.text)["长沙市中心医院"])

    assert top.status == province.status == city.status == form.status == 200
    assert "芙蓉区" in _links(city.text)  # the counties under the city
    assert re.search(r'aria-current="page">长沙市</a>', city.text)  # the trail ends at the region shown
    assert "湖南省人民医院" in _links(province.text)  # the province's own institutions
    assert "长沙市中心医院" in form.text
    assert 'name="unit_code" value="430100-0001"' in form.text


async def test_the_registration_form_needs_an_institution(browser: PageBrowser) -> None:
    without = await browser.get("/register")
    unknown = await browser.get("/register?unit=430100")  # a region, not an institution
    nowhere = await browser.get("/register/unit?region=999999")

    assert (without.status, without.location) == (303, "/register/unit")
    assert (unknown.status, unknown.location) == (303, "/register/unit")
    assert nowhere.status == 404
    assert "找不到该地区" in nowhere.text


# ---------------------------------------------------------------- registration


async def test_a_registration_goes_to_the_login_page_and_the_person_can_log_in(browser: PageBrowser) -> None:
    registered = await browser.register()

    assert (registered.status, registered.location) == (303, "/login?done=registered")
    assert "注册成功" in (await browser.get(registered.location)).text
    logged_in = await browser.log_in()
    assert (logged_in.status, logged_in.location) == (303, "/me")
    assert "王芳，您好" in (await browser.get("/me")).text


async def test_an_empty_registration_names_every_required_field_beside_it(browser: PageBrowser) -> None:
    page = await browser.submit("/register", {"unit_code": "430100-0001"}, page="/register?unit=430100-0001")

    assert page.status == 422
    errors = page.errors()
    for field in REQUIRED:
        verb = "选择" if field in {"gender", "education"} else "填写"
        assert errors[field] == f"请{verb}{LABELS[field]}", field
        control = re.search(rf'<(?:input|select|fieldset) id="{field}"[^>]*>', page.text)
        assert control is not None, field
        assert f"{field}-error" in control[0], field  # aria-describedby names the error
        assert 'aria-invalid="true"' in control[0], field
    assert "ethnicity" not in errors  # optional
    assert "title_since" not in errors
    assert 'class="error-summary" role="alert"' in page.text
    assert await browser.hub.people.find_by_id_number(ID_NUMBER) is None


async def test_wrong_values_say_what_each_field_takes_and_keep_what_was_typed(browser: PageBrowser) -> None:
    page = await browser.register(
        id_number="430102199003071235", phone="12345", email="nobody", graduated_on="2999-01-01", password="short"
    )

    assert page.status == 422
    errors = page.errors()
    assert errors["id_number"] == "请填写有效的18位居民身份证号码（最后一位可以是X）"
    assert errors["phone"] == "请填写11位中国大陆手机号码，以1开头"
    assert errors["email"].startswith("请填写有效的电子邮箱地址")
    assert errors["graduated_on"].startswith("请填写1900年1月1日至今天之间的日期")
    assert errors["password"] == "密码应为8至128个字符，且同时包含字母和数字"
    assert set(errors) == {"id_number", "phone", "email", "graduated_on", "password"}
    assert 'value="12345"' in page.text
    assert 'value="临床医学"' in page.text  # a field without fault keeps its value
    assert "short" not in page.text  # a password never comes back


async def test_passwords_that_differ_are_named_with_every_other_fault(browser: PageBrowser) -> None:
    opened = await browser.get("/register?unit=430100-0001")
    page = await browser.post(
        "/register",
        {
            "csrf_token": opened.form_token(),
            "unit_code": "430100-0001",
            "id_number": ID_NUMBER,
            "password": PASSWORD,
            "password_confirm": PASSWORD + "x",
            "phone": "1",
        },
    )

    assert page.status == 422
    assert page.errors()["password_confirm"] == "两次输入的密码不一致"
    assert page.errors()["phone"] == "请填写11位中国大陆手机号码，以1开头"
    assert page.errors()["name"] == "请填写姓名"


async def test_a_registered_id_number_is_named_beside_its_field(browser: PageBrowser) -> None:
    await browser.register()

    again = await browser.register(phone="13900000000")

    assert again.status == 409
    assert again.errors() == {"id_number": "该身份证号已注册。请直接登录；忘记密码请联系本单位管理员。"}


# ---------------------------------------------------------------- logging in and out


async def test_a_login_with_blank_fields_names_both(browser: PageBrowser) -> None:
    page = await browser.submit("/login", {"id_number": "", "password": ""})

    assert page.status == 422
    assert page.errors() == {"id_number": "请填写身份证号", "password": "请填写密码"}


async def test_a_wrong_password_says_so_without_saying_which_part(browser: PageBrowser) -> None:
    await browser.register()

    wrong = await browser.log_in(password="wrong1password")
    stranger = await browser.log_in(id_number=make_id_number("430102", date(1980, 1, 1), 11))

    for page in (wrong, stranger):
        assert page.status == 401
        assert "身份证号或密码不正确" in page.text
        assert "WWW-Authenticate" in page.headers
    assert not browser.signed_in()


async def test_the_lock_out_says_how_long_to_wait(browser: PageBrowser) -> None:
    await browser.register()
    for _ in range(LOGIN_FAILURES_MAX):
        await browser.log_in(password="wrong1password")

    locked = await browser.log_in()  # the right password, too late

    assert locked.status == 429
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
    assert re.search(r"请在1[0-5]分钟后再试", locked.text)
    assert not browser.signed_in()


async def test_a_login_goes_on_to_the_page_that_asked_for_it_and_only_on_the_hub(browser: PageBrowser) -> None:
    await browser.register()
    asked = await browser.get("/me/training?year=2021")
    assert (asked.status, asked.location) == (303, "/login?next=/me/training?year%3D2021")

    login_page = await browser.get(asked.location)
    signed_in = await browser.post(
        "/login",
        {
            "csrf_token": login_page.form_token(),
            "next": "/me/training?year=2021",
            "id_number": ID_NUMBER,
            "password": PASSWORD,
        },
    )
    assert (signed_in.status, signed_in.location) == (303, "/me/training?year=2021")

    await browser.submit("/logout", {})
    for elsewhere in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        page = await browser.get("/login")
        answer = await browser.post(
            "/login", {"csrf_token": page.form_token(), "next": elsewhere, "id_number": ID_NUMBER, "password": PASSWORD}
        )
        assert answer.location == "/me", elsewhere
        await browser.submit("/logout", {})


async def test_logging_out_ends_the_session(browser: PageBrowser) -> None:
    await browser.register()
    await browser.log_in()
    token = browser.client.session.cookie_jar.filter_cookies(browser.client.make_url("/"))["hub_session"].value

    out = await browser.submit("/logout", {})

    assert (out.status, out.location) == (303, "/login?done=logout")
    assert await browser.hub.people.person_for_session(token) is None
    assert (await browser.get("/me")).status == 303
    assert "您已安全退出" in (await browser.get("/login?done=logout")).text


# ---------------------------------------------------------------- the personal centre


async def test_the_personal_centre_shows_the_account_and_the_vendor_entries(browser: PageBrowser) -> None:
    await browser.register()
    await browser.log_in()

    page = await browser.get("/me")

    assert page.status == 200
    assert ID_NUMBER not in page.text
    assert f"{ID_NUMBER[:6]}********{ID_NUMBER[-4:]}" in page.text
    assert "长沙市中心医院" in page.text
    assert '<a class="button" href="/sso/launch/ischinese">进入思想天下</a>' in page.text
    assert "首次进入需确认授权" in page.text
    assert "即将开放" not in page.text
    links = _links(page.text)
    assert links["历史证书（下载与核验）"] == "/me/certificates"
    assert links["意见反馈"] == "/me/feedback"
    assert links["查看消息"] == "/me/messages"
    assert "没有未读消息" in page.text


async def test_a_profile_change_is_saved_and_its_errors_stand_beside_the_fields(browser: PageBrowser) -> None:
    await browser.register()
    await browser.log_in()
    current = await browser.get("/me/profile")
    fields = dict(
        re.findall(r'<input id="([a-z_]+)" name="[a-z_]+" type="(?:text|email|tel|date)" value="([^"]*)"', current.text)
    )
    fields.update(gender="女", ethnicity="汉族", education="大学本科")

    refused = await browser.submit("/me/profile", {**fields, "phone": "999", "major": ""})
    saved = await browser.submit("/me/profile", {**fields, "title": "副主任医师", "ethnicity": ""})

    assert refused.status == 422
    assert refused.errors() == {"phone": "请填写11位中国大陆手机号码，以1开头", "major": "请填写所学专业"}
    assert 'value="999"' in refused.text
    assert (saved.status, saved.location) == (303, "/me?done=profile")
    person_id = await browser.hub.people.find_by_id_number(ID_NUMBER)
    assert person_id is not None
    person = await browser.hub.people.get(person_id)
    assert (person.title, person.ethnicity, person.phone) == ("副主任医师", None, "13812345678")
    assert "个人信息已保存" in (await browser.get(saved.location)).text


async def test_a_password_change_checks_the_old_one_and_the_confirmation(browser: PageBrowser) -> None:
    await browser.register()
    await browser.log_in()

    wrong = await browser.submit(
        "/me/password", {"old_password": "nope", "new_password": "abc", "new_password_confirm": "abd"}
    )
    changed = await browser.submit(
        "/me/password",
        {"old_password": PASSWORD, "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD},
    )

    assert wrong.status == 422
    assert wrong.errors() == {
        "old_password": "原密码不正确",
        "new_password": "密码应为8至128个字符，且同时包含字母和数字",
        "new_password_confirm": "两次输入的新密码不一致",
    }
    assert (changed.status, changed.location) == (303, "/me?done=password")
    assert (await browser.get("/me")).status == 200  # this session goes on
    await browser.submit("/logout", {})
    assert (await browser.log_in(password=NEW_PASSWORD)).status == 303


# ---------------------------------------------------------------- a forgotten password


async def test_the_forgotten_password_page_sends_people_to_their_operator(browser: PageBrowser) -> None:
    login = await browser.get("/login")
    page = await browser.get("/password-forgotten")

    assert '<a href="/password-forgotten">忘记密码？</a>' in login.text
    assert "本单位负责培训工作的管理员" in page.text
    assert "一次性的密码重置链接" in page.text


async def test_a_reset_link_sets_a_new_password_once(browser: PageBrowser) -> None:
    await browser.register()
    person_id = await browser.hub.people.find_by_id_number(ID_NUMBER)
    assert person_id is not None
    link = await browser.hub.access.reset_links.issue(person_id, issued_by=None)
    form = {"token": link.secret, "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD}

    mismatched = await browser.submit("/password-reset", {**form, "new_password_confirm": "other1password"})
    blank = await browser.submit("/password-reset", {**form, "token": ""})
    reset = await browser.submit("/password-reset", form)
    again = await browser.submit("/password-reset", form)

    assert mismatched.status == 422
    assert mismatched.errors() == {"new_password_confirm": "两次输入的新密码不一致"}
    assert f'value="{link.secret}"' in mismatched.text  # the link's address is gone: its token stays
    assert NEW_PASSWORD not in mismatched.text
    assert blank.errors() == {"token": "请填写重置码"}
    assert (reset.status, reset.location) == (303, "/login?done=reset")
    assert again.status == 410
    assert again.errors() == {"token": "该重置链接无效、已使用或已过期。请联系本单位管理员重新生成。"}
    assert (await browser.log_in(password=PASSWORD)).status == 401
    assert (await browser.log_in(password=NEW_PASSWORD)).status == 303


# ---------------------------------------------------------------- the year's training


async def test_the_training_page_lists_the_years_entries_paged_with_reversals_marked(browser: PageBrowser) -> None:
    await browser.register()
    person_id = await browser.hub.people.find_by_id_number(ID_NUMBER)
    assert person_id is not None
    start = datetime(2021, 3, 1, 2, 0, tzinfo=UTC)
    for number in range(25):
        await browser.hub.ledger.record(
            new_credit(
                person_id=person_id,
                source="ischinese",
                record_id=f"c-{number:03d}",
                course_code=f"C-{number:03d}",
                course_title=f"课程<{number:03d}>",
                subject="public" if number % 2 else "professional",
                hours="2.5",
                completed_at=start + timedelta(days=number),
                actor="vendor:ischinese",
                payload_hash=f"{number:064x}",
            )
        )
    await browser.hub.ledger.record(
        new_reversal(
            source="ischinese", record_id="c-024", reason="撤销", actor="vendor:ischinese", payload_hash="f" * 64
        )
    )
    await browser.log_in()

    first = await browser.get("/me/training?year=2021")
    second = await browser.get("/me/training?year=2021&page=2")
    empty = await browser.get("/me/training?year=2020")

    assert first.status == second.status == empty.status == 200
    rows = ROW.findall(first.text)
    assert len(rows) == 20
    # Newest first, in Beijing time, escaped; the reversed credit is marked.
    assert rows[0] == ("2021-03-25 10:00", "课程&lt;024&gt;", "思想天下", "专业科目", "2.50", "已撤销")
    assert rows[1] == ("2021-03-24 10:00", "课程&lt;023&gt;", "思想天下", "公共科目", "2.50", "已计入")
    assert "第 1 / 2 页（共 25 条）" in first.text
    assert '<button type="submit" name="page" value="2" class="secondary">下一页</button>' in first.text
    assert len(ROW.findall(second.text)) == 5
    # 24 credits of 2.50 counted: 12 public, 12 professional (the reversed one was professional).
    assert re.search(r"<th scope=\"row\">合计</th><td>90.00</td><td>60.00</td><td>30.00</td>", first.text)
    assert "2020年度还没有学时记录" in empty.text
    assert "2020年度暂无学时要求" in empty.text
