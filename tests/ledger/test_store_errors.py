"""Database errors become the ledger's own, whichever way a statement ran (SQLAlchemy or the driver)."""

from __future__ import annotations

import asyncpg
import pytest

from ledger.errors import LedgerUnavailable, WriteConflict
from ledger.store import translated_errors


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (asyncpg.UniqueViolationError("duplicate key value"), WriteConflict),
        (asyncpg.DeadlockDetectedError("deadlock detected"), WriteConflict),
        (asyncpg.SerializationError("could not serialize access"), WriteConflict),
        (asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"), LedgerUnavailable),
        (asyncpg.InternalClientError("cannot switch to state 15"), LedgerUnavailable),
        (asyncpg.AdminShutdownError("terminating connection due to administrator command"), LedgerUnavailable),
        (asyncpg.CannotConnectNowError("the database system is starting up"), LedgerUnavailable),
        (ConnectionResetError("reset by peer"), LedgerUnavailable),
    ],
)
async def test_a_driver_error_a_caller_can_act_on_becomes_the_ledgers_own(
    error: Exception, expected: type[Exception]
) -> None:
    with pytest.raises(expected):
        async with translated_errors():
            raise error


async def test_a_driver_error_that_is_a_bug_is_not_disguised() -> None:
    with pytest.raises(asyncpg.PostgresSyntaxError):
        async with translated_errors():
            raise asyncpg.PostgresSyntaxError("syntax error at or near")
