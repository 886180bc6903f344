"""Pulls as the command line, the scheduler and the demo run them: a day's batch stored in batches
of deliveries, and what a pull stored, counted and said in one line."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Final

from adapters.ports import BatchFetcher, PullReport
from ledger.model import Delivery, Outcome, OutcomeKind

if TYPE_CHECKING:
    from ledger.service import Ledger

DAILY_RECORDS_PER_BATCH: Final = 500
OUTCOME_WORDS: Final = {
    "appended": "appended",
    "duplicate": "duplicate",
    "pending": "pending (a revocation waiting for its completion)",
    "held:conflict": "held (conflict)",
    "held:unknown_person": "held (unknown person)",
    "held:malformed": "held (malformed)",
}
"""How each outcome label is printed, in the order printed."""

DayCounts = Counter[str]


def outcome_label(outcome: Outcome) -> str:
    """``appended``, ``duplicate``, ``pending``, or ``held:<reason>``."""
    return outcome.kind.value if outcome.held is None else f"held:{outcome.held.reason}"


async def store_daily_file(
    ledger: Ledger, files: BatchFetcher, day: date, on_stored: Callable[[int], None] | None = None
) -> DayCounts:
    """Store every record of one day's file; the counts of what the ledger made of them.

    Raises the adapter's error when the file cannot be read to its end (the batches before the
    break stay stored) and the ledger's errors when it cannot store.
    """
    counts: DayCounts = Counter()
    batch: list[Delivery] = []
    async for delivery in files.deliveries(day):
        batch.append(delivery)
        if len(batch) == DAILY_RECORDS_PER_BATCH:
            counts.update(outcome_label(outcome) for outcome in await ledger.receive(batch))
            if on_stored is not None:
                on_stored(len(batch))
            batch = []
    if batch:
        counts.update(outcome_label(outcome) for outcome in await ledger.receive(batch))
        if on_stored is not None:
            on_stored(len(batch))
    return counts


def describe(counts: DayCounts) -> str:
    """``3 records: 2 appended, 1 held (malformed)``."""
    total = sum(counts.values())
    parts = [f"{counts[label]} {words}" for label, words in OUTCOME_WORDS.items() if counts[label]]
    noun = "record" if total == 1 else "records"
    return f"{total} {noun}" + (": " + ", ".join(parts) if parts else "")


def pull_counts(report: PullReport) -> DayCounts:
    """A pull's report in the labels ``describe`` prints."""
    counts: DayCounts = Counter(
        {kind.value: report.outcomes.get(kind, 0) for kind in OutcomeKind if kind is not OutcomeKind.HELD}
    )
    counts.update({f"held:{reason}": count for reason, count in report.held.items()})
    return counts


def describe_pull(report: PullReport) -> str:
    """``5 records: 4 appended, 1 held (unknown person) in 2 pages; read to 2021-06-01T02:00:05Z``."""
    read_to = "" if report.read_to is None else f"; read to {report.read_to:%Y-%m-%dT%H:%M:%SZ}"
    pages = "page" if report.pages == 1 else "pages"
    return f"{describe(pull_counts(report))} in {report.pages} {pages}{read_to}"
