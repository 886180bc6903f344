"""Logging: structlog for the hub and the standard library alike, with redaction.

Every event, whether logged through structlog or through `logging` by a library,
passes `redact_secrets` just before it is rendered: JSON lines when the output
is not a terminal, a readable console format when it is.
"""

import functools
import logging
import re
import sys
from collections.abc import Mapping
from typing import TextIO

import structlog
from structlog.types import EventDict, Processor, WrappedLogger

REDACTED = "[redacted]"
NESTING_DEPTH_MAX = 16
LEVELS = ("debug", "info", "warning", "error", "critical")

# Words that name a secret wherever they appear in a key: `client_secret`,
# `access_token`, `Set-Cookie`, `sign`.
_SECRET_WORDS = frozenset(
    {
        "authorization",
        "cookie",
        "cookies",
        "credential",
        "credentials",
        "jwk",
        "passphrase",
        "passwd",
        "password",
        "pem",
        "secret",
        "secrets",
        "session",
        "sign",
        "signature",
        "token",
        "tokens",
    }
)
# Run together, these name a secret however the key is spelled: `api_key`,
# `X-Api-Key`, `appsecret`, `idNumber`, `id_card`.
_SECRET_FRAGMENTS = ("apikey", "appsecret", "idnumber", "idcard", "password", "secret")
# `key` is a secret beside one of these (`private_key`, `data_key`), not alone
# (`idempotency_key`, `key_id`).
_KEY_MATERIAL_WORDS = frozenset({"data", "encryption", "material", "private", "secret", "signing"})
_WORD_BOUNDARY = re.compile(r"[^a-z0-9]+")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
# 17 digits and a check character, not inside a longer run of digits.
_ID_NUMBER = re.compile(r"(?<![0-9])([0-9]{6})[0-9]{8}([0-9]{3}[0-9Xx])(?![0-9])")
_BEARER_TOKEN = re.compile(r"\b(bearer\s+)[^\s\"',;]+", re.IGNORECASE)
# Keys structlog and the logging bridge use for their own objects.
_MACHINERY_KEYS = frozenset({"_record", "_from_structlog", "exc_info"})


def configure_logging(
    level: str = "info",
    *,
    json_output: bool | None = None,
    stream: TextIO | None = None,
) -> None:
    """Send structlog and standard-library logs, redacted, to `stream`.

    `stream` defaults to standard error; `json_output` None means JSON lines
    unless the stream is a terminal. Timestamps are ISO 8601 in UTC.

    Raises ValueError for a level that is not one of `LEVELS`.
    """
    if level.lower() not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}")
    output = sys.stderr if stream is None else stream
    use_json = not output.isatty() if json_output is None else json_output
    renderer: Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if use_json
        else structlog.dev.ConsoleRenderer(colors=output.isatty())
    )
    gathering = _gathering_processors()
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *gathering,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,  # so that a second configuration takes effect
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=gathering, processors=_rendering_processors(renderer)
    )
    _replace_root_handler(output, formatter, level.upper())


def _replace_root_handler(output: TextIO, formatter: logging.Formatter, level: str) -> None:
    handler = logging.StreamHandler(output)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for previous in list(root.handlers):
        root.removeHandler(previous)
    root.addHandler(handler)
    root.setLevel(level)
    # httpx logs every request's URL at INFO, and signed query strings (hnou's) carry nonces and signatures.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Alembic names each plugin it sets up at INFO on its import, which a command makes after this (gateway.cli).
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def _gathering_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]


def _rendering_processors(renderer: Processor) -> list[Processor]:
    return [
        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
        # Tracebacks become text first, so that redaction reaches them too.
        structlog.processors.format_exc_info,
        redact_secrets,
        renderer,
    ]


def redact_secrets(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """A structlog processor that hides secrets and ID numbers in an event.

    The value of every key that names a secret becomes `[redacted]`, at any
    depth; in every string, an 18-character ID number keeps only its first six
    and last four characters and a bearer token becomes `Bearer [redacted]`.
    Other objects are rendered as text and masked the same way.
    """
    return {key: value if key in _MACHINERY_KEYS else _redacted(key, value, 0) for key, value in event_dict.items()}


def _redacted(key: object, value: object, depth: int) -> object:
    if isinstance(key, str) and is_secret_key(key):
        return REDACTED
    return _redacted_value(value, depth)


def _redacted_value(value: object, depth: int) -> object:
    if value is None or isinstance(value, bool | int | float):
        return value
    if depth >= NESTING_DEPTH_MAX:
        return REDACTED
    if isinstance(value, Mapping):
        return {key: _redacted(key, item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted_value(item, depth + 1) for item in value]
    return mask_text(value if isinstance(value, str) else str(value))


@functools.lru_cache(maxsize=4096)  # events reuse a small set of key names; this runs per key per event
def is_secret_key(key: str) -> bool:
    """Whether a key's name says its value is a secret (`api_key`, `Cookie`, …)."""
    words = _WORD_BOUNDARY.split(_CAMEL_BOUNDARY.sub("_", key).lower())
    joined = "".join(words)
    if _SECRET_WORDS.intersection(words):
        return True
    if any(fragment in joined for fragment in _SECRET_FRAGMENTS):
        return True
    return "key" in words and not _KEY_MATERIAL_WORDS.isdisjoint(words)


def mask_text(text: str) -> str:
    """Mask ID numbers and bearer tokens in `text`."""
    text = _ID_NUMBER.sub(r"\1********\2", text)
    return _BEARER_TOKEN.sub(rf"\1{REDACTED}", text)
