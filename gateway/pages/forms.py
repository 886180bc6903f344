"""Forms posted by the pages: read within limits and checked for their token, and their faults in Chinese.

``read_form`` reads an ``application/x-www-form-urlencoded`` body of at most ``FORM_BODY_BYTES_MAX``
bytes and ``FORM_FIELDS_MAX`` fields, checks the form token (``gateway.pages.rendering``) and returns
the fields without it; anything else is a ``PageRefused``.

``field_messages`` turns the API's field errors (``FieldError``, whose messages are English and meant
for programs) into the sentence each field shows beside it: what the field needs, from the rules
the people model checks. A field left blank says so; a field filled wrongly says what it takes.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from typing import Final
from urllib.parse import parse_qsl

from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from gateway.pages.rendering import FORM_TOKEN_FIELD, PageRefused, expected_form_token
from ledger.errors import FieldError
from sso.people.model import (
    EMAIL_CHARACTERS_MAX,
    MAJOR_CHARACTERS_MAX,
    NAME_CHARACTERS_MAX,
    NAME_CHARACTERS_MIN,
    NATIVE_PLACE_CHARACTERS_MAX,
    PASSWORD_CHARACTERS_MAX,
    PASSWORD_CHARACTERS_MIN,
    SCHOOL_CHARACTERS_MAX,
    TITLE_CHARACTERS_MAX,
    TITLE_NONE,
)
from supervision.feedback.model import SUBJECT_CHARACTERS_MAX, TEXT_CHARACTERS_MAX

__all__ = ["FORM_BODY_BYTES_MAX", "FORM_FIELDS_MAX", "FORM_LEVEL", "LABELS", "field_messages", "read_form"]

FORM_BODY_BYTES_MAX: Final = 16 * 1024
FORM_FIELDS_MAX: Final = 64
FORM_CONTENT_TYPE: Final = "application/x-www-form-urlencoded"
FORM_LEVEL: Final = ""
"""The key of a message about the whole form rather than one field."""

LABELS: Final[Mapping[str, str]] = {
    "name": "姓名",
    "id_number": "身份证号",
    "password": "密码",
    "password_confirm": "确认密码",
    "gender": "性别",
    "ethnicity": "民族",
    "phone": "手机号码",
    "email": "电子邮箱",
    "native_place": "籍贯",
    "education": "学历",
    "major": "所学专业",
    "school": "毕业院校",
    "graduated_on": "毕业时间",
    "unit_code": "工作单位",
    "title": "职称",
    "title_since": "取得职称时间",
    "old_password": "原密码",
    "new_password": "新密码",
    "new_password_confirm": "确认新密码",
    "token": "重置码",
    "subject": "主题",
    "text": "反馈内容",
}
"""Each form field's label, as the pages show it."""

_CHOSEN: Final = frozenset({"gender", "ethnicity", "education", "unit_code"})
"""Fields picked from a list rather than typed: a blank one is "not chosen"."""
_PASSWORD_RULE: Final = f"密码应为{PASSWORD_CHARACTERS_MIN}至{PASSWORD_CHARACTERS_MAX}个字符，且同时包含字母和数字"
_WRONG: Final[Mapping[str, str]] = {
    "name": f"姓名应为{NAME_CHARACTERS_MIN}至{NAME_CHARACTERS_MAX}个字符",
    "id_number": "请填写有效的18位居民身份证号码（最后一位可以是X）",
    "password": _PASSWORD_RULE,
    "password_confirm": "两次输入的密码不一致",
    "gender": "请选择“男”或“女”",
    "ethnicity": "请从列表中选择民族",
    "phone": "请填写11位中国大陆手机号码，以1开头",
    "email": f"请填写有效的电子邮箱地址，不超过{EMAIL_CHARACTERS_MAX}个字符",
    "native_place": f"籍贯应为1至{NATIVE_PLACE_CHARACTERS_MAX}个字符",
    "education": "请从列表中选择学历",
    "major": f"所学专业应为1至{MAJOR_CHARACTERS_MAX}个字符",
    "school": f"毕业院校应为1至{SCHOOL_CHARACTERS_MAX}个字符",
    "graduated_on": "请填写1900年1月1日至今天之间的日期（年-月-日）",
    "unit_code": "请重新选择您所在的单位",
    "title": f"职称应为1至{TITLE_CHARACTERS_MAX}个字符；没有职称请填写“{TITLE_NONE}”",
    "title_since": "请填写1900年1月1日至今天之间的日期（年-月-日）",
    "old_password": "原密码不正确",
    "new_password": _PASSWORD_RULE,
    "new_password_confirm": "两次输入的新密码不一致",
    "token": "请填写重置链接中的重置码",
    "subject": f"主题应为1至{SUBJECT_CHARACTERS_MAX}个字符，不能换行，不能含控制字符",
    "text": f"反馈内容应为1至{TEXT_CHARACTERS_MAX}个字符，不能含控制字符",
}
_UNREADABLE: Final = "表单无法读取，请返回上一页重新填写后提交。"


async def read_form(request: web.Request, *, body_bytes_max: int = FORM_BODY_BYTES_MAX) -> MultiDictProxy[str]:
    """The posted form's fields without its token; ``body_bytes_max`` is for a form of long texts.

    Raises ``PageRefused``: 400 for a body that is no form in UTF-8 or holds too many fields, 413 for
    one over the limit, and 403 when the form's token is missing or not this browser's and session's.
    """
    if request.content_type != FORM_CONTENT_TYPE:
        raise PageRefused(400, "无法提交", _UNREADABLE)
    if request.content_length is not None and request.content_length > body_bytes_max:
        raise PageRefused(413, "内容过长", "提交的内容过长，请精简后重试。")
    body = await request.content.read(body_bytes_max + 1)
    if len(body) > body_bytes_max:
        raise PageRefused(413, "内容过长", "提交的内容过长，请精简后重试。")
    try:
        pairs = parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=FORM_FIELDS_MAX
        )
    except (UnicodeDecodeError, ValueError):
        raise PageRefused(400, "无法提交", _UNREADABLE) from None
    fields = MultiDict(pairs)
    submitted = fields.popall(FORM_TOKEN_FIELD, [])
    expected = expected_form_token(request)
    if len(submitted) != 1 or expected is None or not secrets.compare_digest(submitted[0], expected):
        raise PageRefused(
            403,
            "页面已过期",
            "为保护您的账号安全，本次提交未被受理：页面已过期或来自其他网站。请重新打开该页面后再提交。",
        )
    return MultiDictProxy(fields)


def field_messages(errors: Iterable[FieldError], form: Mapping[str, str]) -> dict[str, str]:
    """The message each field at fault shows, by field name; one about the whole form under ``FORM_LEVEL``."""
    messages: dict[str, str] = {}
    for error in errors:
        label = LABELS.get(error.field)
        if label is None:
            messages.setdefault(FORM_LEVEL, _UNREADABLE)
        elif not form.get(error.field, "").strip():
            messages.setdefault(error.field, f"请选择{label}" if error.field in _CHOSEN else f"请填写{label}")
        else:
            messages.setdefault(error.field, _WRONG[error.field])
    return messages
