"""Feedback, pure: the forms staff and supervisors send, and feedback as it is kept.

Feedback is about one institution (the sender's own unless they name another). Supervisors see what
was written and about which institution, never who wrote it: a report on a violation should not
expose its sender to the unit it is about. A person may send ``FEEDBACK_PER_WINDOW_MAX`` feedback in
``FEEDBACK_WINDOW_SECONDS``; each has at most one answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final, NewType

from ledger.model import PersonId
from sso.access.model import TokenId
from supervision.errors import FieldError, InvalidSupervisionRequest
from supervision.model import (
    MESSAGE_BODY_CHARACTERS_MAX,
    StaffMessage,
    StaffMessageKind,
    form_text,
    unknown_fields,
)

__all__ = [
    "ANSWER_CHARACTERS_MAX",
    "FEEDBACK_PER_WINDOW_MAX",
    "FEEDBACK_WINDOW_SECONDS",
    "SUBJECT_CHARACTERS_MAX",
    "TEXT_CHARACTERS_MAX",
    "Answer",
    "Feedback",
    "FeedbackForm",
    "FeedbackId",
    "FeedbackPage",
    "FeedbackStatus",
    "answer_message",
    "parse_answer",
    "parse_feedback",
]

FeedbackId = NewType("FeedbackId", int)

SUBJECT_CHARACTERS_MAX: Final = 100
TEXT_CHARACTERS_MAX: Final = 2000
ANSWER_CHARACTERS_MAX: Final = 2000
INSTITUTION_CODE_CHARACTERS_MAX: Final = 40
FEEDBACK_PER_WINDOW_MAX: Final = 5
FEEDBACK_WINDOW_SECONDS: Final = 24 * 3600
ANSWER_MESSAGE_TITLE: Final = "您的反馈已有答复"
ANSWER_LINK: Final = "/me/feedback"
ELLIPSIS: Final = "…"


class FeedbackStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"


@dataclass(frozen=True, slots=True)
class FeedbackForm:
    """Validated feedback: a subject, a text, and the institution it is about when the sender named one."""

    subject: str
    text: str
    institution: str | None

    def __repr__(self) -> str:
        return "FeedbackForm(…)"


@dataclass(frozen=True, slots=True)
class Answer:
    """A supervisor's answer: its text, when, and the token of the supervisor who gave it."""

    text: str
    answered_at: datetime
    answered_by: TokenId

    def __repr__(self) -> str:
        return f"Answer(answered_at={self.answered_at!r}, answered_by={self.answered_by!r})"


@dataclass(frozen=True, slots=True)
class Feedback:
    """Feedback as kept; ``person_id`` is shown to no supervisor."""

    id: FeedbackId
    person_id: PersonId
    institution: str
    subject: str
    text: str
    submitted_at: datetime
    answer: Answer | None

    @property
    def status(self) -> FeedbackStatus:
        return FeedbackStatus.OPEN if self.answer is None else FeedbackStatus.ANSWERED

    def __repr__(self) -> str:
        # What people write stays out of tracebacks and logs.
        return f"Feedback(id={self.id!r}, institution={self.institution!r}, status={self.status.value!r})"


@dataclass(frozen=True, slots=True)
class FeedbackPage:
    """Feedback newest first, and the id the next page continues below (``None`` after the last)."""

    items: tuple[Feedback, ...]
    next_before: FeedbackId | None


def parse_feedback(form: Mapping[str, object]) -> FeedbackForm:
    """Feedback from a JSON form of ``subject``, ``text`` and optionally ``institution`` (a code).

    Raises ``InvalidSupervisionRequest`` listing every field at fault.
    """
    errors = unknown_fields(form, frozenset({"subject", "text", "institution"}))
    subject = form_text(form.get("subject"), "subject", SUBJECT_CHARACTERS_MAX, errors, multiline=False)
    text = form_text(form.get("text"), "text", TEXT_CHARACTERS_MAX, errors, multiline=True)
    institution = form.get("institution")
    if institution is not None and (
        not isinstance(institution, str) or not 0 < len(institution) <= INSTITUTION_CODE_CHARACTERS_MAX
    ):
        errors.append(FieldError("institution", "must be the code of an institution, or left out for your own"))
    if errors or subject is None or text is None:
        raise InvalidSupervisionRequest(errors)
    return FeedbackForm(subject, text, institution if isinstance(institution, str) else None)


def parse_answer(form: Mapping[str, object]) -> str:
    """The text of an answer from a JSON form of ``text``. Raises ``InvalidSupervisionRequest``."""
    errors = unknown_fields(form, frozenset({"text"}))
    text = form_text(form.get("text"), "text", ANSWER_CHARACTERS_MAX, errors, multiline=True)
    if errors or text is None:
        raise InvalidSupervisionRequest(errors)
    return text


def answer_message(feedback: Feedback) -> StaffMessage:
    """The message that tells the sender their feedback was answered, with as much of the answer as fits."""
    if feedback.answer is None:
        raise ValueError("only answered feedback has an answer to tell of")
    body = f"关于“{feedback.subject}”的反馈已有答复：{feedback.answer.text}"
    if len(body) > MESSAGE_BODY_CHARACTERS_MAX:
        body = body[: MESSAGE_BODY_CHARACTERS_MAX - len(ELLIPSIS)] + ELLIPSIS
    return StaffMessage(feedback.person_id, StaffMessageKind.FEEDBACK_ANSWERED, ANSWER_MESSAGE_TITLE, body, ANSWER_LINK)
