"""Notices, pure: what a supervisor tells the staff of a unit they oversee, and a notice as kept.

A notice goes to every active person of the institutions under the unit that the supervisor's scope
reaches, as a staff message each. One supervisor's token sends at most ``NOTICES_PER_WINDOW_MAX`` in
``NOTICES_WINDOW_SECONDS``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final, NewType

from sso.access.model import TokenId
from supervision.errors import FieldError, InvalidSupervisionRequest
from supervision.model import MESSAGE_BODY_CHARACTERS_MAX, MESSAGE_TITLE_CHARACTERS_MAX, form_text, unknown_fields

__all__ = [
    "NOTICES_PER_WINDOW_MAX",
    "NOTICES_WINDOW_SECONDS",
    "Notice",
    "NoticeForm",
    "NoticeId",
    "NoticePage",
    "parse_notice",
]

NoticeId = NewType("NoticeId", int)

NOTICES_PER_WINDOW_MAX: Final = 10
NOTICES_WINDOW_SECONDS: Final = 24 * 3600
UNIT_CODE_CHARACTERS_MAX: Final = 40


@dataclass(frozen=True, slots=True)
class NoticeForm:
    """A validated notice: its title and body, and the unit it goes to when the supervisor named one."""

    title: str
    body: str
    unit: str | None


@dataclass(frozen=True, slots=True)
class Notice:
    """A notice as kept: who sent it (their scope's unit and token), to which unit, what, when, and how many
    people it has reached so far."""

    id: NoticeId
    scope_code: str
    unit_code: str
    title: str
    body: str
    sent_at: datetime
    sent_by: TokenId
    recipients: int


@dataclass(frozen=True, slots=True)
class NoticePage:
    """Notices newest first, and the id the next page continues below (``None`` after the last)."""

    items: tuple[Notice, ...]
    next_before: NoticeId | None


def parse_notice(form: Mapping[str, object]) -> NoticeForm:
    """A notice from a JSON form of ``title``, ``body`` and optionally ``unit`` (a code).

    Raises ``InvalidSupervisionRequest`` listing every field at fault.
    """
    errors = unknown_fields(form, frozenset({"title", "body", "unit"}))
    title = form_text(form.get("title"), "title", MESSAGE_TITLE_CHARACTERS_MAX, errors, multiline=False)
    body = form_text(form.get("body"), "body", MESSAGE_BODY_CHARACTERS_MAX, errors, multiline=True)
    unit = form.get("unit")
    if unit is not None and (not isinstance(unit, str) or not 0 < len(unit) <= UNIT_CODE_CHARACTERS_MAX):
        errors.append(FieldError("unit", "must be the code of a unit you oversee, or left out for your own"))
    if errors or title is None or body is None:
        raise InvalidSupervisionRequest(errors)
    return NoticeForm(title, body, unit if isinstance(unit, str) else None)
