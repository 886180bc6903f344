"""Feedback, pure: the forms staff and supervisors send, and feedback as it is kept.

Feedback is about one institution (the sender's own unless they name another). Supervisors see what
was written and about which institution, never who wrote it: a report on a violation should not
expose its sender to the unit it is about. A person may send ``FEEDBACK_PER_WINDOW_MAX`` feedback in
``FEEDBACK_WINDOW_SECONDS``; each has at most one answer.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final, NewType

from ledger.model import PersonId
from sso.access.model import TokenId
from supervision.errors import FieldError, InvalidSupervisionRequest

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
UNKNOWN_FIELDS_REPORTED_MAX: Final = 10
FIELD_NAME_CHARACTERS_MAX: Final = 40

_LINE_BREAKS: Final = frozenset("\n\r\t")
_REFUSED_CATEGORIES: Final = frozenset({"Cc", "Cs"})
"""Control characters (but line breaks and tabs in a text) and lone surrogates, which no store keeps."""


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
    errors = _unknown_fields(form, {"subject", "text", "institution"})
    subject = _text(form.get("subject"), "subject", SUBJECT_CHARACTERS_MAX, errors, multiline=False)
    text = _text(form.get("text"), "text", TEXT_CHARACTERS_MAX, errors, multiline=True)
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
    errors = _unknown_fields(form, {"text"})
    text = _text(form.get("text"), "text", ANSWER_CHARACTERS_MAX, errors, multiline=True)
    if errors or text is None:
        raise InvalidSupervisionRequest(errors)
    return text


def _unknown_fields(form: Mapping[str, object], known: set[str]) -> list[FieldError]:
    unknown = [name for name in form if name not in known]
    return [
        FieldError(name[:FIELD_NAME_CHARACTERS_MAX], "is not a field of this form")
        for name in unknown[:UNKNOWN_FIELDS_REPORTED_MAX]
    ]


def _text(value: object, name: str, characters_max: int, errors: list[FieldError], *, multiline: bool) -> str | None:
    if not isinstance(value, str) or not value.strip() or len(value) > characters_max:
        errors.append(FieldError(name, f"is required: a text of 1 to {characters_max} characters"))
        return None
    allowed = _LINE_BREAKS if multiline else frozenset()
    if any(unicodedata.category(character) in _REFUSED_CATEGORIES and character not in allowed for character in value):
        breaks = "" if multiline else ", line breaks"
        errors.append(FieldError(name, f"must not hold control characters{breaks} or broken characters"))
        return None
    return value.strip()
