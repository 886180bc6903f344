"""Everything the reliability scenarios leave behind (log files, databases, exports) and the
personal data and secrets that must never be found in it, for the scan that ends the suite.

Scenarios ``keep_*`` what they make; ``scan`` reads every place and names each needle it finds, and
every whole, valid ID number in a log or an export, known in advance or not.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import inspect, make_url, text

from gateway.database import create_engine
from sso.errors import InvalidIdNumber
from sso.id_numbers import normalise_id_number

# 17 digits and a check character, not inside a longer run of digits.
_ID_NUMBER_SHAPE = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")


@dataclass(slots=True)
class Evidence:
    """What to scan, and what must not be in it."""

    logs: list[Path] = field(default_factory=list)
    databases: list[str] = field(default_factory=list)
    exports: list[Path] = field(default_factory=list)
    needles: dict[str, str] = field(default_factory=dict)
    """Each secret, token or ID number, and what it is (never printed whole)."""

    def keep_log(self, path: Path) -> None:
        self.logs.append(path)

    def keep_database(self, url: str) -> None:
        if url not in self.databases:
            self.databases.append(url)

    def keep_export(self, path: Path) -> None:
        self.exports.append(path)

    def secret(self, value: str, kind: str) -> None:
        self.needles[value] = kind

    def id_number(self, id_number: str) -> None:
        """An ID number as it could leak: whole with either case of x, and without its check character."""
        for needle in {id_number.upper(), id_number.lower(), id_number[:17]}:
            self.needles[needle] = "ID number"

    @property
    def places(self) -> int:
        return len(self.logs) + len(self.databases) + len(self.exports)


@dataclass(frozen=True, slots=True)
class Finding:
    place: str
    kind: str
    excerpt: str
    """The needle masked but for its ends, so that the report leaks nothing itself."""


def _masked(needle: str) -> str:
    return needle[:3] + "…" + needle[-2:] if len(needle) > 8 else "…"


async def _database_text(url: str) -> dict[str, str]:
    """Every row of every table, every column as text, by table name; for SQLite also its raw files."""
    engine = create_engine(url)
    dump: dict[str, str] = {}
    try:
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
            for name in names:
                # The names come from the database's own catalogue.
                rows = (await connection.execute(text(f'SELECT * FROM "{name}"'))).all()  # noqa: S608
                dump[f"{make_url(url).database} table {name}"] = "\n".join(
                    " | ".join(str(value) for value in row) for row in rows
                )
    finally:
        await engine.dispose()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        for path in Path(parsed.database).parent.glob(Path(parsed.database).name + "*"):
            dump[f"file {path}"] = path.read_bytes().decode("latin-1")
    return dump


def whole_id_numbers(text_: str) -> set[str]:
    """Every valid GB 11643 ID number written whole in a text."""
    found = set()
    for candidate in _ID_NUMBER_SHAPE.findall(text_):
        try:
            found.add(normalise_id_number(candidate))
        except InvalidIdNumber:
            continue
    return found


async def scan(evidence: Evidence) -> tuple[list[Finding], dict[str, int]]:
    """Each needle found in each place, then each valid ID number in a log or an export; and how
    much was read (places and bytes)."""
    texts: dict[str, str] = {}
    for path in evidence.logs + evidence.exports:
        if path.exists():
            texts[f"{'log' if path in evidence.logs else 'export'} {path.name}"] = path.read_text(
                encoding="utf-8", errors="replace"
            )
    free_texts = dict(texts)
    for url in evidence.databases:
        texts.update(await _database_text(url))
    findings = [
        Finding(place, kind, _masked(needle))
        for place, content in texts.items()
        for needle, kind in evidence.needles.items()
        if needle in content
    ]
    findings += [
        Finding(place, "ID number (not known in advance)", _masked(id_number))
        for place, content in free_texts.items()
        for id_number in whole_id_numbers(content)
        if id_number not in evidence.needles
    ]
    read = {"places": len(texts), "bytes": sum(len(content) for content in texts.values())}
    return findings, read


class LogTail:
    """The log lines written to a JSON-lines file since the tail was made."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0

    def text(self) -> str:
        with self.path.open("rb") as log:
            log.seek(self.offset)
            return log.read().decode("utf-8", errors="replace")

    def events(self) -> list[dict[str, object]]:
        events = []
        for line in self.text().splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                events.append(event)
        return events
