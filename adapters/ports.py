"""What the adapters need from the rest of the hub (who a vendor's learner is), and the small
Protocols every vendor's adapter meets, each the capabilities its vendor offers:

- ``WebhookReceiver``: a webhook the vendor pushes, into a ledger delivery (or an account link);
- ``PagePuller``: the vendor's pages pulled from where the last pull stopped;
- ``BatchFetcher``: one day's batch of records (a daily file), as deliveries;
- ``HeldRecordTranslator``: a record the adapter held, shown to an operator with personal data masked,
  and translated again now (its person may be known since).

The handoff each vendor takes is built from its settings by the gateway's registry of vendors.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol, runtime_checkable

from ledger.model import Command, Delivery, HeldRecord, OutcomeKind, PersonId


class LearnerDirectory(Protocol):
    """Maps a vendor's key for a learner to the hub's person."""

    async def person_for_subject(self, vendor: str, subject: str) -> PersonId | None:
        """The person the hub gave this pairwise ``sub`` for this vendor, or ``None``."""

    async def person_for_id_number(self, id_number: str) -> PersonId | None:
        """The registered person with this (valid, normalised) ID number, or ``None``."""

    async def link_account(self, vendor: str, subject: str, account_id: str) -> bool:
        """Record the vendor's account for a pairwise ``sub``; ``False`` when the hub never issued it."""


@dataclass(frozen=True, slots=True)
class InboundWebhook:
    """A webhook request as it arrived: its headers, its raw body (read within the receiver's
    ``body_bytes_max``), and the content type and charset it declared."""

    headers: Mapping[str, str]
    body: bytes
    content_type: str
    charset: str | None


@dataclass(frozen=True, slots=True)
class AccountLink:
    """The vendor linked its account to a learner the hub handed over."""

    message_id: str
    sub: str
    account_id: str


@runtime_checkable
class WebhookReceiver(Protocol):
    body_bytes_max: int
    """The largest body the vendor may send; the route refuses a larger one before reading it whole."""

    async def receive(self, webhook: InboundWebhook, now: datetime) -> Delivery | AccountLink:
        """What the webhook asks the ledger for. Raises the adapter's ``AdapterError`` for a webhook
        it refuses; stores nothing (but what the vendor's protocol needs, such as a nonce)."""


class PullReport(Protocol):
    """What one pull stored, so far or in all."""

    @property
    def pages(self) -> int: ...

    @property
    def items(self) -> int: ...

    @property
    def outcomes(self) -> Mapping[OutcomeKind, int]: ...

    @property
    def held(self) -> Mapping[str, int]:
        """The held items by reason."""

    @property
    def read_to(self) -> datetime | None:
        """How far the vendor's records have been read (the watermark's time), if anywhere."""


@runtime_checkable
class PagePuller(Protocol):
    async def pull(self, progress: Callable[[PullReport], None] | None = None) -> PullReport:
        """Pull every page from where the last pull stopped, each stored with the new position;
        ``progress`` hears of each page. Raises the adapter's ``AdapterError`` when the vendor
        fails (what was stored stays) and the ledger's ``LedgerUnavailable``."""


@runtime_checkable
class BatchFetcher(Protocol):
    def deliveries(self, day: date) -> AsyncIterator[Delivery]:
        """Every record of the day's batch as a delivery (a malformed one as a hold). Raises the
        adapter's ``AdapterError`` when the batch cannot be read to its end."""


HeldView = Mapping[str, object]
"""A held record's fields as an operator sees them: JSON values, personal data masked."""


@runtime_checkable
class HeldRecordTranslator(Protocol):
    def show_held(self, record: HeldRecord) -> HeldView:
        """The fields of a record the adapter held, personal data masked (an ID number keeps its
        first 6 and last 4 characters, a name its first character)."""

    async def translate_held(self, record: HeldRecord) -> Command:
        """The command a record the adapter held (an unknown person, a malformed record) asks for
        now: a ``Hold`` again while its person is still unknown. Raises ``DeliveryInvalid`` naming
        every field at fault when the record still cannot be read."""
