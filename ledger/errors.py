"""Errors of the ledger.

LedgerError                  an expected refusal, with a stable ``code``
├── InvalidCommand           a command failed validation; ``errors`` lists every field at fault
├── NoRulesForYear           the training year of a command has no rules configured
├── LedgerUnavailable        the store cannot be reached or keeps failing; retry later
├── ExportNotFound           no finished export has this id
└── WriteConflict            the database asked for a retry (serialisation, deadlock, lock);
                             the service retries it and never lets it escape

LedgerCorrupted              a broken invariant found while reading (a bug or tampering);
                             not a LedgerError: nothing below the edge catches it
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldError:
    """One field at fault and why, in words fit for the person who sent it."""

    field: str
    message: str


class LedgerError(Exception):
    """An expected refusal of the ledger."""

    code = "ledger_error"
    title = "The ledger refused the command"


class InvalidCommand(LedgerError):
    """A command that fails validation. Nothing was written."""

    code = "invalid_command"
    title = "The command is not valid"

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(f"{error.field}: {error.message}" for error in errors))


class NoRulesForYear(LedgerError):
    """The training year has no rules, so no hours can be counted in it."""

    code = "no_rules_for_year"
    title = "No rules for the training year"

    def __init__(self, year: int) -> None:
        self.year = year
        super().__init__(f"the training year {year} has no rules configured")


class LedgerUnavailable(LedgerError):
    """The store cannot take the command now; the caller may retry."""

    code = "ledger_unavailable"
    title = "The ledger cannot store anything right now"


class LedgerCorrupted(Exception):
    """A broken invariant: the stored ledger contradicts itself."""

    code = "ledger_corrupted"
    title = "The ledger is inconsistent"


class ExportNotFound(LedgerError):
    """No finished export has this id: it never began, is still being written, or broke off."""

    code = "export_not_found"
    title = "No finished export has this id"


class WriteConflict(LedgerError):
    """The database refused a transaction that may succeed when tried again."""

    code = "write_conflict"
    title = "A concurrent write got in the way"
