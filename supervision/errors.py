"""Errors of supervision.

Every one has a stable ``code`` and a human ``title``; no message holds a value that was sent, so
they are safe to log and to show. A target outside the caller's scope is not an error of this
package: the gateway answers it as not found (``sso.access.errors.OutOfReach``).

    SupervisionError                  code, title
    ├── InvalidSupervisionRequest     errors: every field or parameter at fault
    ├── FeedbackNotFound              no feedback has this id
    ├── FeedbackAlreadyAnswered       feedback has one answer, given once
    ├── FeedbackLimitReached          retry_after_seconds: a person sent the most feedback a day allows
    └── NoticeLimitReached            retry_after_seconds: a supervisor sent the most notices a day allows
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger.errors import FieldError

__all__ = [
    "FeedbackAlreadyAnswered",
    "FeedbackLimitReached",
    "FeedbackNotFound",
    "FieldError",
    "InvalidSupervisionRequest",
    "NoticeLimitReached",
    "SupervisionError",
]


class SupervisionError(Exception):
    """The base of the expected errors of supervision."""

    code = "supervision_error"
    title = "Supervision error"


class InvalidSupervisionRequest(SupervisionError):
    """Input that does not validate; ``errors`` lists every field or parameter at fault."""

    code = "invalid_supervision_request"
    title = "Invalid request"

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(f"{error.field}: {error.message}" for error in errors))


class FeedbackNotFound(SupervisionError):
    """No feedback has this id."""

    code = "feedback_not_found"
    title = "Feedback not found"

    def __init__(self, feedback_id: int) -> None:
        self.feedback_id = feedback_id
        super().__init__(f"there is no feedback with id {feedback_id}")


class FeedbackAlreadyAnswered(SupervisionError):
    """The feedback was answered before; its answer stands."""

    code = "feedback_already_answered"
    title = "Feedback already answered"

    def __init__(self, feedback_id: int) -> None:
        self.feedback_id = feedback_id
        super().__init__(f"feedback {feedback_id} has been answered already")


class FeedbackLimitReached(SupervisionError):
    """The person sent as much feedback as a day allows; more is taken after ``retry_after_seconds``."""

    code = "feedback_limit_reached"
    title = "Too much feedback"

    def __init__(self, feedback_max: int, retry_after_seconds: int) -> None:
        self.retry_after_seconds = retry_after_seconds
        super().__init__(f"at most {feedback_max} feedback a day: try again in {retry_after_seconds} seconds")


class NoticeLimitReached(SupervisionError):
    """The supervisor's token sent as many notices as a day allows; more after ``retry_after_seconds``."""

    code = "notice_limit_reached"
    title = "Too many notices"

    def __init__(self, notices_max: int, retry_after_seconds: int) -> None:
        self.retry_after_seconds = retry_after_seconds
        super().__init__(f"at most {notices_max} notices a day: try again in {retry_after_seconds} seconds")
