"""One pull of webtrn's completions: every page from the watermark to the last, each page stored
together with the new watermark in one transaction.

The watermark is the (``updated_at``, ``id``) of the newest item stored. ``updated_since`` is
inclusive, so a pull asks from the watermark's ``updated_at`` (rounded down to the second): the
items at the watermark come again and are no-ops in the ledger, and nothing after the watermark can
be skipped. A cursor is good within one pull only and is never stored. A pull that stops anywhere
(a crash, a cancelled task, a vendor beyond its retry budget) leaves the watermark of its last
stored page, which is where the next pull starts; the very first starts at ``pull_start``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Protocol

import structlog

from adapters.ports import LearnerDirectory
from adapters.webtrn.errors import PullFailed
from adapters.webtrn.pages import PAGE_ITEMS_MAX, ItemPosition, ItemReader, ReadItem, parse_page
from ledger.model import Command, Delivery, Outcome, OutcomeKind, Source, SourcePosition, canonical_json, utc_text

PAGES_PER_PULL_MAX = 20_000
UPDATED_SINCE_LAYOUT = "%Y-%m-%dT%H:%M:%SZ"

log = structlog.get_logger(__name__)


class PageSource(Protocol):
    """Where pages come from: ``WebtrnClient``, or a fake in tests."""

    async def page(self, parameters: Mapping[str, str]) -> bytes: ...


class Recorder(Protocol):
    """What a pull needs of the ledger (``ledger.service.Ledger``)."""

    async def receive(self, deliveries: list[Delivery], position: SourcePosition | None = None) -> list[Outcome]: ...

    async def position(self, source: Source) -> str | None: ...

    def check(self, command: Command) -> None: ...


@dataclass(frozen=True, slots=True)
class PullReport:
    """What one pull stored, so far or in all."""

    pages: int = 0
    items: int = 0
    outcomes: Mapping[OutcomeKind, int] = field(default_factory=lambda: MappingProxyType({}))
    """How many items the ledger appended, found duplicate, held, or kept pending."""
    held: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    """The held items by reason: unknown_person, malformed, conflict."""
    watermark: ItemPosition | None = None

    def count(self, kind: OutcomeKind) -> int:
        return self.outcomes.get(kind, 0)

    @property
    def read_to(self) -> datetime | None:
        """The ``updated_at`` of the watermark."""
        return None if self.watermark is None else self.watermark.updated_at


Progress = Callable[[PullReport], None]


def utc_now() -> datetime:
    return datetime.now(UTC)


class WebtrnPuller:
    """Pulls webtrn's completions into the ledger."""

    def __init__(
        self,
        source: PageSource,
        ledger: Recorder,
        directory: LearnerDirectory,
        *,
        start: datetime,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if start.utcoffset() is None:
            raise ValueError("the start of the first pull must be an aware time")
        self._source = source
        self._ledger = ledger
        self._reader = ItemReader(directory, ledger.check)
        self._start = start
        self._clock = clock

    async def pull(self, progress: Progress | None = None) -> PullReport:
        """Pull every page from the watermark to the last; ``progress`` hears of each page stored.

        Raises ``PullFailed`` (what was stored before stays stored) and the ledger's
        ``LedgerUnavailable``.
        """
        watermark = read_watermark(await self._ledger.position(Source.WEBTRN))
        since = self._start if watermark is None else watermark.updated_at
        parameters = {"updated_since": updated_since(since), "limit": str(PAGE_ITEMS_MAX)}
        report = PullReport(watermark=watermark)
        for _ in range(PAGES_PER_PULL_MAX):
            page = parse_page(await self._source.page(parameters))
            report = await self._store(page.items, report)
            if progress is not None:
                progress(report)
            if page.next_cursor is None:
                log.info("webtrn_pulled", pages=report.pages, items=report.items, **_counts(report))
                return report
            parameters = {"cursor": page.next_cursor, "limit": str(PAGE_ITEMS_MAX)}
        raise PullFailed(f"webtrn sent more than {PAGES_PER_PULL_MAX} pages in one pull; the next pull goes on")

    async def _store(self, items: tuple[object, ...], report: PullReport) -> PullReport:
        """Store one page's items and the watermark after them, in one transaction."""
        received_at = self._clock()
        read = [await self._reader.read(raw, received_at) for raw in items]
        watermark = newest(report.watermark, read)
        position = None if watermark is None else SourcePosition(Source.WEBTRN, watermark_text(watermark))
        outcomes: list[Outcome] = []
        if read:
            outcomes = await self._ledger.receive([item.delivery for item in read], position)
        log.info("webtrn_page_stored", items=len(read), watermark=None if position is None else position.position)
        return _tally(report, outcomes, watermark)


def newest(watermark: ItemPosition | None, read: list[ReadItem]) -> ItemPosition | None:
    """The watermark after a page: the newest position read, never earlier than before."""
    positions = [item.position for item in read if item.position is not None]
    if watermark is not None:
        positions.append(watermark)
    return max(positions, default=None)


def updated_since(moment: datetime) -> str:
    """``updated_since`` for a time, rounded down to the second: asking earlier is only ever safe."""
    return moment.astimezone(UTC).strftime(UPDATED_SINCE_LAYOUT)


def watermark_text(watermark: ItemPosition) -> str:
    """The watermark as the ledger stores it."""
    return canonical_json({"updated_at": utc_text(watermark.updated_at), "id": watermark.record_id}).decode()


def read_watermark(text: str | None) -> ItemPosition | None:
    """The stored watermark, or ``None`` before the first pull; the hub wrote it, so it must read."""
    if text is None:
        return None
    document = json.loads(text)
    updated_at = datetime.fromisoformat(document["updated_at"])
    record_id = document["id"]
    if updated_at.utcoffset() is None or not isinstance(record_id, int):
        raise ValueError(f"the stored webtrn watermark is not one the hub writes: {text!r}")
    return ItemPosition(updated_at.astimezone(UTC), record_id)


def _tally(report: PullReport, outcomes: list[Outcome], watermark: ItemPosition | None) -> PullReport:
    kinds = Counter(report.outcomes) + Counter(outcome.kind for outcome in outcomes)
    held = Counter(report.held) + Counter(outcome.held.reason for outcome in outcomes if outcome.held is not None)
    return PullReport(
        pages=report.pages + 1,
        items=report.items + len(outcomes),
        outcomes=MappingProxyType(dict(kinds)),
        held=MappingProxyType(dict(held)),
        watermark=watermark,
    )


def _counts(report: PullReport) -> dict[str, int]:
    return {kind.value: report.count(kind) for kind in OutcomeKind}
