"""Logging: redaction of secrets and ID numbers, JSON lines or console output."""

import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import structlog

from config import configure_logging, redact_secrets

ID_NUMBER = "11010519491231002X"
ID_NUMBER_MASKED = "110105********002X"
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


class Terminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.reset_defaults()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def look_up_person() -> None:
    raise LookupError(f"no person {ID_NUMBER}")


def redact(**event: object) -> dict[str, object]:
    return dict(redact_secrets(None, "info", event))


def json_lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


# ---------------------------------------------------------------- redaction


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "new_password_confirm",
        "client_secret",
        "webhook_secrets",
        "access_token",
        "Authorization",
        "api_key",
        "X-Api-Key",
        "appsecret",
        "sign",
        "Cookie",
        "Set-Cookie",
        "id_number",
        "idNumber",
        "idcard",
        "private_key",
        "data_key",
        "signing_key",
        "session_id",
    ],
)
def test_values_of_secret_keys_are_redacted(key: str) -> None:
    assert redact(event="called", **{key: "value-to-hide"})[key] == "[redacted]"


@pytest.mark.parametrize("key", ["event", "person_id", "idempotency_key", "key_id", "vendor", "signed_at"])
def test_values_of_other_keys_are_kept(key: str) -> None:
    assert redact(**{key: "kept"})[key] == "kept"


def test_secret_keys_are_redacted_at_any_depth() -> None:
    redacted = redact(
        event="request_sent",
        request={"headers": {"Authorization": "Basic abc"}, "body": [{"appsecret": "s"}]},
    )

    assert redacted["request"] == {
        "headers": {"Authorization": "[redacted]"},
        "body": [{"appsecret": "[redacted]"}],
    }


def test_id_numbers_are_masked_inside_any_string() -> None:
    redacted = redact(
        event=f"person {ID_NUMBER} registered",
        details={"note": f"id={ID_NUMBER.lower()};", "list": [f"({ID_NUMBER})"]},
    )

    assert redacted["event"] == f"person {ID_NUMBER_MASKED} registered"
    assert redacted["details"] == {
        "note": f"id={ID_NUMBER_MASKED.lower()};",
        "list": [f"({ID_NUMBER_MASKED})"],
    }


@pytest.mark.parametrize(
    "text",
    [
        "order 1101051949123100211",  # 19 digits: not an ID number
        "order 11010519491231002",  # 17 digits
        "phone 13800138000",
    ],
)
def test_other_digit_runs_are_kept(text: str) -> None:
    assert redact(event=text)["event"] == text


def test_bearer_tokens_are_masked_inside_any_string() -> None:
    redacted = redact(
        event="calling with Bearer eyJhbGciOi.eyJzdWIi.c2lnbmF0dXJl",
        header="bearer abc.def-ghi_jkl~",
    )

    assert redacted["event"] == "calling with Bearer [redacted]"
    assert redacted["header"] == "bearer [redacted]"


def test_other_objects_are_rendered_as_masked_text() -> None:
    error = ValueError(f"no person {ID_NUMBER}")

    assert redact(error=error)["error"] == f"no person {ID_NUMBER_MASKED}"


def test_numbers_and_none_are_kept() -> None:
    assert redact(count=3, ratio=0.5, done=True, missing=None) == {
        "count": 3,
        "ratio": 0.5,
        "done": True,
        "missing": None,
    }


# ---------------------------------------------------------------- output


def test_json_lines_when_the_stream_is_not_a_terminal() -> None:
    stream = io.StringIO()
    configure_logging(stream=stream)

    structlog.get_logger("hub.test").info("person_registered", id_number=ID_NUMBER, note=f"for {ID_NUMBER}")

    [line] = json_lines(stream)
    assert line["event"] == "person_registered"
    assert line["level"] == "info"
    assert line["logger"] == "hub.test"
    assert line["id_number"] == "[redacted]"
    assert line["note"] == f"for {ID_NUMBER_MASKED}"
    assert ID_NUMBER not in stream.getvalue()


def test_timestamps_are_iso_utc() -> None:
    stream = io.StringIO()
    configure_logging(stream=stream)
    before = datetime.now(UTC)

    structlog.get_logger().info("ticked")

    [line] = json_lines(stream)
    stamp = str(line["timestamp"])
    assert stamp.endswith("Z")
    moment = datetime.fromisoformat(stamp)
    assert moment.utcoffset() is not None
    assert before <= moment <= datetime.now(UTC)


def test_a_readable_console_format_on_a_terminal() -> None:
    stream = Terminal()
    configure_logging(stream=stream)

    structlog.get_logger().info("entry_appended", token="abc", person="p-1")

    output = ANSI_ESCAPE.sub("", stream.getvalue())
    assert "entry_appended" in output
    assert "person=p-1" in output
    assert "token=[redacted]" in output
    with pytest.raises(json.JSONDecodeError):
        json.loads(output)


def test_json_output_can_be_forced_on_a_terminal() -> None:
    stream = Terminal()
    configure_logging(json_output=True, stream=stream)

    structlog.get_logger().info("entry_appended")

    assert json_lines(stream)[0]["event"] == "entry_appended"


def test_console_output_can_be_forced_off_a_terminal() -> None:
    stream = io.StringIO()
    configure_logging(json_output=False, stream=stream)

    structlog.get_logger().info("entry_appended")

    assert "entry_appended" in stream.getvalue()
    with pytest.raises(json.JSONDecodeError):
        json.loads(stream.getvalue())


def test_standard_library_logs_are_rendered_and_redacted_too() -> None:
    stream = io.StringIO()
    configure_logging(stream=stream)

    logging.getLogger("somelibrary").warning("GET with Authorization: Bearer %s for %s", "eyJ.secret.sig", ID_NUMBER)

    [line] = json_lines(stream)
    assert line["logger"] == "somelibrary"
    assert line["level"] == "warning"
    assert line["event"] == (f"GET with Authorization: Bearer [redacted] for {ID_NUMBER_MASKED}")


def test_tracebacks_are_redacted() -> None:
    stream = io.StringIO()
    configure_logging(stream=stream)

    try:
        look_up_person()
    except LookupError:
        structlog.get_logger().exception("lookup_failed")

    [line] = json_lines(stream)
    assert "LookupError: no person " + ID_NUMBER_MASKED in str(line["exception"])
    assert ID_NUMBER not in stream.getvalue()


def test_events_below_the_level_are_dropped() -> None:
    stream = io.StringIO()
    configure_logging("warning", stream=stream)

    structlog.get_logger().info("quiet")
    logging.getLogger("somelibrary").info("quiet too")
    structlog.get_logger().warning("loud")

    assert [line["event"] for line in json_lines(stream)] == ["loud"]


def test_an_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="level must be one of"):
        configure_logging("verbose", stream=io.StringIO())
