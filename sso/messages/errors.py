"""Errors of staff messages; every one is an ``IdentityError``.

IdentityError (sso.errors)
└── MessageError                code, title, detail
    ├── InvalidMessageQuery     errors: every query parameter at fault
    └── MessageNotFound         no message with this id for this person
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger.errors import FieldError
from sso.errors import IdentityError

__all__ = ["FieldError", "InvalidMessageQuery", "MessageError", "MessageNotFound"]


class MessageError(IdentityError):
    """The base of the errors of staff messages."""

    code = "message_error"
    title = "Message error"


class InvalidMessageQuery(MessageError):
    """A listing asked for with parameters that do not validate; ``errors`` names each one."""

    code = "invalid_message_query"
    title = "Invalid query"

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__("; ".join(f"{error.field}: {error.message}" for error in errors))
        self.errors = tuple(errors)


class MessageNotFound(MessageError):
    """The person has no message with this id (another person's message is not found alike)."""

    code = "message_not_found"
    title = "Message not found"

    def __init__(self) -> None:
        super().__init__("there is no such message")
