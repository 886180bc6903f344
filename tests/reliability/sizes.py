"""How big each scenario runs: small under ``make test``, the issue's sizes under ``make soak`` (``--soak``).

One table, so that a scenario added later (or a part of the hub that lands later) takes one more field.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Sizes:
    name: str
    crash_completions: int
    """Completions spread over the three vendors while the hub is killed."""
    crash_kills: int
    fault_completions: int
    """Completions delivered across a PostgreSQL restart."""
    writer_processes: int
    writers: int
    """Writers in all, spread over the processes, each on its own connection."""
    appends_per_writer: int
    same_record_deliveries: int
    storm_completions: int
    storm_copies: int
    fuzz_examples: int
    """Schemathesis examples per operation and role."""
    parser_examples: int
    """Hypothesis examples per vendor format and for ID numbers."""
    load_seconds: float
    load_staff: int


SMALL = Sizes(
    name="small",
    crash_completions=300,
    crash_kills=2,
    fault_completions=60,
    writer_processes=2,
    writers=10,
    appends_per_writer=20,
    same_record_deliveries=20,
    storm_completions=30,
    storm_copies=5,
    fuzz_examples=4,
    parser_examples=150,
    load_seconds=3.0,
    load_staff=4,
)

SOAK = Sizes(
    name="soak",
    crash_completions=10_000,
    crash_kills=10,
    fault_completions=2_000,
    writer_processes=5,
    writers=50,
    appends_per_writer=1_000,
    same_record_deliveries=20,
    storm_completions=500,
    storm_copies=5,
    fuzz_examples=40,
    parser_examples=3_000,
    load_seconds=60.0,
    load_staff=20,
)
