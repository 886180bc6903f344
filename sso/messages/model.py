"""Staff messages, pure: their kinds, a message to send, a message as stored, and a listing's query.

Another area adds a kind of message by adding a member to ``MessageKind`` and sending a
``NewMessage`` (through ``Messages.send``, or ``insert_messages`` inside a transaction of its own
so that the message and what it tells of are written together). Titles and bodies are the hub's
own words, in Chinese, and hold no personal data beyond what the person may see of themselves.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from ledger.model import PersonId
from sso.messages.errors import FieldError, InvalidMessageQuery

__all__ = [
    "BODY_CHARACTERS_MAX",
    "LINK_CHARACTERS_MAX",
    "MESSAGES_PAGE_SIZE_DEFAULT",
    "MESSAGES_PAGE_SIZE_MAX",
    "TITLE_CHARACTERS_MAX",
    "Message",
    "MessageKind",
    "MessagePage",
    "MessageQuery",
    "NewMessage",
    "ReadState",
    "decode_cursor",
    "encode_cursor",
    "parse_message_query",
]

TITLE_CHARACTERS_MAX: Final = 100
BODY_CHARACTERS_MAX: Final = 1000
LINK_CHARACTERS_MAX: Final = 300
MESSAGES_PAGE_SIZE_DEFAULT: Final = 20
MESSAGES_PAGE_SIZE_MAX: Final = 100
QUERY_VALUE_CHARACTERS_MAX: Final = 64
_QUERY_NAMES: Final = frozenset({"status", "cursor", "limit"})
_CURSOR: Final = re.compile(r"[A-Za-z0-9_-]{1,32}", re.ASCII)


class MessageKind(StrEnum):
    """What a message is about; a stable code clients may switch on."""

    CERTIFICATE_ISSUED = "certificate_issued"
    CERTIFICATE_REVOKED = "certificate_revoked"
    SUPERVISOR_NOTICE = "supervisor_notice"
    FEEDBACK_ANSWERED = "feedback_answered"


class ReadState(StrEnum):
    """Which messages a listing shows."""

    UNREAD = "unread"
    READ = "read"
    ALL = "all"


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to send to a person; ``link`` is a path or URL to what it tells of, if any.

    Raises ``ValueError`` for a title, body or link over its limit (a bug of the sender).
    """

    person_id: PersonId
    kind: MessageKind
    title: str
    body: str
    link: str | None = None

    def __post_init__(self) -> None:
        if not 0 < len(self.title) <= TITLE_CHARACTERS_MAX:
            raise ValueError(f"a message's title has 1 to {TITLE_CHARACTERS_MAX} characters")
        if not 0 < len(self.body) <= BODY_CHARACTERS_MAX:
            raise ValueError(f"a message's body has 1 to {BODY_CHARACTERS_MAX} characters")
        if self.link is not None and not 0 < len(self.link) <= LINK_CHARACTERS_MAX:
            raise ValueError(f"a message's link has 1 to {LINK_CHARACTERS_MAX} characters")


@dataclass(frozen=True, slots=True)
class Message:
    """A message as stored; unread while ``read_at`` is None."""

    id: int
    person_id: PersonId
    kind: MessageKind
    title: str
    body: str
    link: str | None
    created_at: datetime
    read_at: datetime | None

    @property
    def read(self) -> bool:
        return self.read_at is not None


@dataclass(frozen=True, slots=True)
class MessageQuery:
    """A page of a person's messages, newest first: those of ``state``, below the id ``before_id``."""

    state: ReadState = ReadState.ALL
    before_id: int | None = None
    limit: int = MESSAGES_PAGE_SIZE_DEFAULT


@dataclass(frozen=True, slots=True)
class MessagePage:
    """Messages newest first; ``next_cursor`` fetches older ones (``None`` at the end); ``unread``
    counts every unread message of the person, listed or not."""

    messages: tuple[Message, ...]
    next_cursor: str | None
    unread: int


def parse_message_query(parameters: Mapping[str, str]) -> MessageQuery:
    """The query in URL parameters (``status``, ``cursor``, ``limit``).

    Raises ``InvalidMessageQuery`` listing every parameter at fault, unknown ones included.
    """
    errors = [
        FieldError(name[:QUERY_VALUE_CHARACTERS_MAX], "is not a parameter of this query")
        for name in parameters
        if name not in _QUERY_NAMES
    ]
    state = ReadState.ALL
    status = parameters.get("status")
    if status is not None:
        try:
            state = ReadState(status)
        except ValueError:
            errors.append(FieldError("status", f"must be one of {', '.join(member.value for member in ReadState)}"))
    before_id = None
    cursor = parameters.get("cursor")
    if cursor is not None:
        before_id = decode_cursor(cursor)
        if before_id is None:
            errors.append(FieldError("cursor", "must be a next_cursor this endpoint gave"))
    limit = MESSAGES_PAGE_SIZE_DEFAULT
    text = parameters.get("limit")
    if text is not None:
        if text.isascii() and text.isdigit() and 1 <= int(text) <= MESSAGES_PAGE_SIZE_MAX:
            limit = int(text)
        else:
            errors.append(FieldError("limit", f"must be a whole number from 1 to {MESSAGES_PAGE_SIZE_MAX}"))
    if errors:
        raise InvalidMessageQuery(errors)
    return MessageQuery(state=state, before_id=before_id, limit=limit)


def encode_cursor(message_id: int) -> str:
    """An opaque cursor that continues below (before) this message."""
    return base64.urlsafe_b64encode(f"message:{message_id}".encode("ascii")).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> int | None:
    """The message id in a cursor ``encode_cursor`` made, or ``None`` for anything else."""
    if _CURSOR.fullmatch(cursor) is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        return None
    prefix, _, number = text.partition(":")
    if prefix != "message" or not number.isdigit() or encode_cursor(int(number)) != cursor:
        return None
    return int(number)
