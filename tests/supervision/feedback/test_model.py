"""The feedback and answer forms: every field at fault named, limits on every text."""

from __future__ import annotations

import pytest

from supervision.errors import InvalidSupervisionRequest
from supervision.feedback.model import parse_answer, parse_feedback


def _faults(form: dict[str, object]) -> list[tuple[str, str]]:
    with pytest.raises(InvalidSupervisionRequest) as refused:
        parse_feedback(form)
    return [(error.field, error.message) for error in refused.value.errors]


def test_feedback_has_a_subject_a_text_and_perhaps_an_institution() -> None:
    own = parse_feedback({"subject": " 单位强制指定学习平台 ", "text": "本单位要求全体职工\n只能在一家平台学习。"})
    other = parse_feedback({"subject": "强制平台", "text": "……", "institution": "430100-0001"})

    assert (own.subject, own.text, own.institution) == (
        "单位强制指定学习平台",
        "本单位要求全体职工\n只能在一家平台学习。",
        None,
    )
    assert other.institution == "430100-0001"
    assert "强制" not in repr(own)


def test_feedback_names_every_field_at_fault() -> None:
    assert _faults({"text": "x" * 2001, "institution": 7, "name": "张三"}) == [
        ("name", "is not a field of this form"),
        ("subject", "is required: a text of 1 to 100 characters"),
        ("text", "is required: a text of 1 to 2000 characters"),
        ("institution", "must be the code of an institution, or left out for your own"),
    ]
    assert _faults({"subject": "  ", "text": "ok", "institution": ""}) == [
        ("subject", "is required: a text of 1 to 100 characters"),
        ("institution", "must be the code of an institution, or left out for your own"),
    ]


def test_a_subject_is_one_line_and_no_text_holds_control_or_broken_characters() -> None:
    assert _faults({"subject": "two\nlines", "text": "bell\x07 and \ud800"}) == [
        ("subject", "must not hold control characters, line breaks or broken characters"),
        ("text", "must not hold control characters or broken characters"),
    ]
    # A full-width space is a space: Chinese texts have them.
    assert parse_feedback({"subject": "平台\u3000问题", "text": "第一行\r\n\t第二行"}).subject == "平台\u3000问题"


def test_an_answer_is_one_text() -> None:
    assert parse_answer({"text": "已责令整改。"}) == "已责令整改。"
    with pytest.raises(InvalidSupervisionRequest) as refused:
        parse_answer({"text": "", "status": "closed"})
    assert [error.field for error in refused.value.errors] == ["status", "text"]
