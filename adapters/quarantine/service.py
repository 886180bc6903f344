"""Quarantine review's use cases: list the held records with what they hold (a conflicting version
beside the ledger's stored entry), release one into the ledger, or reject one with a reason.

A release translates the held record again through its vendor's adapter (the learner may be known
now, the year may have rules now): a record whose learner is still unknown, or that still cannot be
read, is refused and nothing changes. A conflicting version is released as a replacement: the
ledger reverses the stored credit and counts the held version. The ledger records each decision in
the transaction that acts on it, so a record is decided once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from adapters.errors import DeliveryInvalid
from adapters.ports import HeldRecordTranslator, HeldView
from adapters.quarantine.errors import PersonStillUnknown, RecordStillInvalid, VendorNotConfigured
from adapters.quarantine.model import encode_cursor
from ledger.errors import HoldAlreadyDecided
from ledger.model import (
    Credit,
    Entry,
    HeldId,
    HeldQuery,
    HeldRecord,
    Hold,
    HoldReason,
    Outcome,
    Quarantined,
    Replacement,
    Reversal,
    Source,
    format_hours,
)
from ledger.service import Ledger, held_credit


@dataclass(frozen=True, slots=True)
class QuarantineItem:
    """A held record, what it holds as an operator may see it, and for a conflicting version the
    ledger's entry it conflicts with."""

    held: Quarantined
    view: HeldView
    stored: Entry | None


@dataclass(frozen=True, slots=True)
class QuarantinePage:
    items: tuple[QuarantineItem, ...]
    next_cursor: str | None


class Quarantine:
    """The operators' review of held records."""

    def __init__(self, ledger: Ledger, translators: Mapping[Source, HeldRecordTranslator]) -> None:
        self._ledger = ledger
        self._translators = translators

    async def page(self, query: HeldQuery) -> QuarantinePage:
        """The held records of the query, oldest first. Raises ``LedgerUnavailable``."""
        found = await self._ledger.held_page(dataclasses.replace(query, limit=query.limit + 1))
        items = tuple([await self._item(held) for held in found[: query.limit]])
        return QuarantinePage(items, encode_cursor(items[-1].held.id) if len(found) > query.limit else None)

    async def item(self, held_id: HeldId) -> QuarantineItem:
        """One held record; raises ``HoldNotFound``."""
        return await self._item(await self._ledger.held(held_id))

    async def release(self, held_id: HeldId, *, actor: str, reason: str | None) -> tuple[QuarantineItem, Outcome]:
        """Take the held record into the ledger, recorded as ``actor``'s.

        Raises ``HoldNotFound``, ``HoldAlreadyDecided``, ``PersonStillUnknown``, ``RecordStillInvalid``,
        ``VendorNotConfigured``, and the ledger's ``NoRulesForYear``, ``EntryNotCurrent`` and
        ``LedgerUnavailable``; nothing changes then.
        """
        held = await self._ledger.held(held_id)
        if held.decision is not None:  # checked again, under the ledger's lock, as the release is written
            raise HoldAlreadyDecided(held_id, held.decision.decision.value)
        command = await self._command(held, actor)
        outcome, _decision = await self._ledger.release(held_id, command, actor=actor, reason=reason)
        return await self.item(held_id), outcome

    async def reject(self, held_id: HeldId, *, actor: str, reason: str) -> QuarantineItem:
        """Dismiss the held record with a reason. Raises ``HoldNotFound``, ``HoldAlreadyDecided``."""
        await self._ledger.reject(held_id, actor=actor, reason=reason)
        return await self.item(held_id)

    async def _command(self, held: Quarantined, actor: str) -> Credit | Reversal | Replacement:
        record = held.record
        if record.reason == HoldReason.CONFLICT.value and record.existing_seq is not None:
            credit = dataclasses.replace(held_credit(record), actor=actor)
            return Replacement(credit, record.existing_seq, f"replaced by the version held as {held.id}")
        try:
            command = await self._translator(record).translate_held(record)
        except DeliveryInvalid as invalid:
            raise RecordStillInvalid(invalid.errors) from None
        if isinstance(command, Hold):
            if command.reason is HoldReason.UNKNOWN_PERSON:
                raise PersonStillUnknown(f"the learner of held record {held.id} is still nobody the hub knows")
            raise RecordStillInvalid([])
        if isinstance(command, Replacement):  # a bug: adapters translate records, the ledger replaces
            raise TypeError("an adapter translated a held record into a replacement")
        return dataclasses.replace(command, actor=actor)

    def _translator(self, record: HeldRecord) -> HeldRecordTranslator:
        translator = self._translators.get(record.source)
        if translator is None:
            raise VendorNotConfigured(f"{record.source.value} is not configured: its held records cannot be read")
        return translator

    async def _item(self, held: Quarantined) -> QuarantineItem:
        record = held.record
        if record.reason == HoldReason.CONFLICT.value:
            stored = None if record.existing_seq is None else await self._ledger.entry(record.existing_seq)
            return QuarantineItem(held, credit_view(held_credit(record)), stored)
        translator = self._translators.get(record.source)
        view: HeldView = {} if translator is None else translator.show_held(record)
        return QuarantineItem(held, view, None)


def credit_view(credit: Credit) -> HeldView:
    """A credit's fields as an operator compares them with a stored entry."""
    return {
        "person_id": credit.person_id,
        "course_code": credit.course_code,
        "course_title": credit.course_title,
        "subject": credit.subject.value,
        "hours": format_hours(credit.hours),
        "completed_at": credit.completed_at.isoformat(),
        "year": credit.year,
    }
