"""The hub's configuration: settings read once at start-up, and logging."""

from config.errors import ConfigError, SettingProblem, SettingsError
from config.loading import load_settings
from config.logging import configure_logging, redact_secrets
from config.settings import (
    HnouSettings,
    HubSettings,
    IschineseSettings,
    JwtAlgorithm,
    OrganisationSettings,
    Settings,
    VendorsSettings,
    WebtrnSettings,
    YearRulesSettings,
)

__all__ = [
    "ConfigError",
    "HnouSettings",
    "HubSettings",
    "IschineseSettings",
    "JwtAlgorithm",
    "OrganisationSettings",
    "SettingProblem",
    "Settings",
    "SettingsError",
    "VendorsSettings",
    "WebtrnSettings",
    "YearRulesSettings",
    "configure_logging",
    "load_settings",
    "redact_secrets",
]
