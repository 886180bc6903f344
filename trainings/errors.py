"""Errors of offline trainings and continuing education.

TrainingsError                  an expected refusal, with a stable ``code`` and a ``title``
├── FilingInvalid               a filing form with fields at fault; ``errors`` names every one
├── FilingNotFound              no filing has this number
├── FilingAlreadyDecided        the filing was approved or rejected already
├── AttendanceNotOpen           attendance of a filing that is not approved, or whose training is not over
├── ImportNotFound              no import has this id
├── QueryInvalid                the parameters of a listing; ``errors`` names every one at fault
└── FileRefused                 an uploaded file that is imported whole or not at all, and was not;
    │                           ``errors`` names the file (``file``) or each bad line (``line 4: hours``)
    ├── FileTooLarge            over its size limit (refused before it is read whole)
    ├── FileUnreadable          not a CSV in UTF-8 or GB18030 nor an .xlsx sheet, or without the columns
    └── RowsInvalid             rows at fault: every bad row with its line and reason

Messages name fields, lines and reasons, never a value that was sent: a file's cells are ID
numbers and names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from ledger.errors import FieldError

__all__ = [
    "AttendanceNotOpen",
    "FieldError",
    "FileRefused",
    "FileTooLarge",
    "FileUnreadable",
    "FilingAlreadyDecided",
    "FilingInvalid",
    "FilingNotFound",
    "ImportNotFound",
    "QueryInvalid",
    "RowsInvalid",
    "TrainingsError",
]


class TrainingsError(Exception):
    """The base of the refusals of offline trainings and continuing education."""

    code: ClassVar[str] = "trainings_error"
    title: ClassVar[str] = "The training request was refused"


class FilingInvalid(TrainingsError):
    """A filing form that does not validate; ``errors`` lists every field at fault."""

    code = "filing_invalid"
    title = "The filing is not valid"

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(f"{error.field}: {error.message}" for error in self.errors))


class FilingNotFound(TrainingsError):
    code = "filing_not_found"
    title = "Not found"

    def __init__(self) -> None:
        super().__init__("there is no offline training with this number")


class FilingAlreadyDecided(TrainingsError):
    code = "filing_already_decided"
    title = "The filing was decided already"

    def __init__(self, number: str, status: str) -> None:
        super().__init__(f"the offline training {number} is {status} already")


class AttendanceNotOpen(TrainingsError):
    """Attendance is taken only for an approved filing, from the last day of its training on."""

    code = "attendance_not_open"
    title = "Attendance cannot be uploaded now"


class ImportNotFound(TrainingsError):
    code = "import_not_found"
    title = "Not found"

    def __init__(self) -> None:
        super().__init__("there is no import with this id")


class QueryInvalid(TrainingsError):
    code = "query_invalid"
    title = "Invalid parameters"

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(f"{error.field}: {error.message}" for error in self.errors))


class FileRefused(TrainingsError):
    """An uploaded file that was not imported; ``errors`` says why, line by line where it can."""

    code = "file_refused"
    title = "The file was not imported"

    def __init__(self, detail: str, errors: Sequence[FieldError] = ()) -> None:
        self.errors = tuple(errors)
        super().__init__(detail)


class FileTooLarge(FileRefused):
    code = "file_too_large"
    title = "The file is too large"

    def __init__(self, limit_bytes: int) -> None:
        super().__init__(f"the file is over {limit_bytes} bytes; nothing was imported")


class FileUnreadable(FileRefused):
    code = "file_unreadable"
    title = "The file cannot be read"

    def __init__(self, message: str) -> None:
        super().__init__(f"{message}; nothing was imported", [FieldError("file", message)])


class RowsInvalid(FileRefused):
    code = "rows_invalid"
    title = "The file has bad rows"

    def __init__(self, errors: Sequence[FieldError]) -> None:
        lines = {error.field.partition(":")[0] for error in errors}
        super().__init__(f"{len(lines)} bad row(s); nothing was imported", errors)
