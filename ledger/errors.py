"""Errors of the ledger.

LedgerError                  an expected refusal, with a stable ``code``
├── InvalidCommand           a command failed validation; ``errors`` lists every field at fault
├── NoRulesForYear           the training year of a command has no rules configured
├── RecordsDiffer            credits of an upload differ from the stored credits of their records;
│                            ``stored`` holds those entries; nothing was written
├── LedgerUnavailable        the store cannot be reached or keeps failing; retry later
├── ExportNotFound           no finished export has this id
├── HoldNotFound             no held record has this id
├── HoldAlreadyDecided       the held record was released or rejected before
├── EntryNotCurrent          a replacement names a credit that is no longer its record's current one
└── WriteConflict            the database asked for a retry (serialisation, deadlock, lock);
                             the service retries it and never lets it escape

LedgerCorrupted              a broken invariant found while reading (a bug or tampering);
                             not a LedgerError: nothing below the edge catches it
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ledger.model import Entry  # the model imports these errors: a type, not a module, is needed here


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


class RecordsDiffer(LedgerError):
    """Credits that differ from the credits already stored for their records. Nothing was written.

    ``stored`` holds the stored entries, one per differing record, in the order of the commands.
    """

    code = "records_differ"
    title = "The records differ from those already counted"

    def __init__(self, stored: Sequence[Entry]) -> None:
        self.stored = tuple(stored)
        super().__init__(f"{len(self.stored)} record(s) differ from the credits already counted for them")


class LedgerUnavailable(LedgerError):
    """The store cannot take the command now; the caller may retry."""

    code = "ledger_unavailable"
    title = "The ledger cannot store anything right now"


class HoldNotFound(LedgerError):
    """No held record has the id asked for."""

    code = "hold_not_found"
    title = "No such held record"

    def __init__(self, held_id: int) -> None:
        self.held_id = held_id
        super().__init__(f"no held record has the id {held_id}")


class HoldAlreadyDecided(LedgerError):
    """The held record was decided before; a decision is made once. Nothing was written."""

    code = "hold_already_decided"
    title = "The held record was already decided"

    def __init__(self, held_id: int, decision: str) -> None:
        self.held_id = held_id
        super().__init__(f"the held record {held_id} was already {decision}")


class EntryNotCurrent(LedgerError):
    """A replacement names a credit that its record no longer counts by. Nothing was written."""

    code = "entry_not_current"
    title = "The stored entry changed"

    def __init__(self, replaces_seq: int, current_seq: int | None) -> None:
        self.replaces_seq = replaces_seq
        now = "no credit" if current_seq is None else f"entry {current_seq}"
        super().__init__(f"entry {replaces_seq} is no longer the record's current credit (it now has {now})")


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
