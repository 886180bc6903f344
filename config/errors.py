"""Errors raised while reading the hub's configuration.

    ConfigError                 base: a machine `code` and a human `title`
    └── SettingsError           a setting is missing or invalid, or the file cannot
                                be read; str() is one line naming every offending key

A message names keys (`hub.base_url`), files and environment variables, never the
value that was given: it may be a secret.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class SettingProblem:
    """One offending setting.

    `key` is the dotted path of the setting (`rules.2021.hours_per_day`), or the
    file or environment variable at fault; `message` says what is wrong with it.
    """

    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


class ConfigError(Exception):
    """Base of every configuration error."""

    code: ClassVar[str] = "config_error"
    title: ClassVar[str] = "Configuration error"


class SettingsError(ConfigError):
    """Missing or invalid settings: start-up stops with one line naming them all."""

    code: ClassVar[str] = "invalid_settings"
    title: ClassVar[str] = "Invalid settings"

    def __init__(self, problems: Sequence[SettingProblem]) -> None:
        if not problems:
            raise ValueError("a SettingsError needs at least one problem")
        self.problems: tuple[SettingProblem, ...] = tuple(problems)
        super().__init__(_one_line(self.problems))


def _one_line(problems: Sequence[SettingProblem]) -> str:
    text = "invalid setting " + "; ".join(str(problem) for problem in problems)
    return " ".join(text.split())
