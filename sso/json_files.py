"""Reading a small JSON file strictly: bounded in size, UTF-8, and no object repeating a name.

Nothing of the file's content reaches a message or a chained exception: a key file is secret.
"""

from __future__ import annotations

import json
from pathlib import Path


class JsonFileRefused(ValueError):
    """The file cannot be read as strict JSON; the message says why without quoting it."""

    def __init__(self, message: str, repeated_names: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.repeated_names = repeated_names


def read_json_file(path: Path, bytes_max: int) -> object:
    """The parsed document; raises ``JsonFileRefused``."""
    try:
        with path.open("rb") as file:
            content = file.read(bytes_max + 1)
    except OSError as exc:
        raise JsonFileRefused(f"cannot be read: {exc.strerror}") from None
    if len(content) > bytes_max:
        raise JsonFileRefused(f"over {bytes_max} bytes")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise JsonFileRefused("not UTF-8") from None
    try:
        return json.loads(text, object_pairs_hook=_refuse_repeated_names)
    except json.JSONDecodeError as exc:
        raise JsonFileRefused(f"not JSON (line {exc.lineno}, column {exc.colno})") from None


def _refuse_repeated_names(pairs: list[tuple[str, object]]) -> dict[str, object]:
    document = dict(pairs)
    if len(document) != len(pairs):
        names = [name for name, _ in pairs]
        repeated = tuple(sorted({name for name in names if names.count(name) > 1}))
        raise JsonFileRefused("an object repeats a name", repeated)
    return document
