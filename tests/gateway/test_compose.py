"""compose.yaml must run what the program really offers, configured the way the settings read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from config import load_settings
from gateway.cli import app

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    return document


def _hub_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: service for name, service in compose["services"].items() if service.get("build") == "."}


def test_the_services_of_the_design_are_there(compose: dict[str, Any]) -> None:
    services = compose["services"]
    commands = {name: service.get("command") for name, service in _hub_services(compose).items()}

    assert services["postgres"]["image"].startswith("postgres:")
    assert commands["migrate"] == ["migrate"]
    assert commands["web"][:1] == ["serve"]
    assert "--no-scheduler" in commands["web"]
    assert services["web"]["deploy"]["replicas"] >= 2
    assert commands["scheduler"] == ["scheduler"]


def test_every_command_parses_with_the_real_program(compose: dict[str, Any]) -> None:
    for name, service in _hub_services(compose).items():
        command: Any = typer.main.get_command(app)
        arguments = list(service["command"])
        while hasattr(command, "commands"):  # a group: descend to the named command
            sub_name, *arguments = arguments
            assert sub_name in command.commands, f"{name}: hub has no command {sub_name}"
            command = command.commands[sub_name]
        # Parsing raises a usage error for any option or value the program does not take.
        context = command.make_context(name, arguments)
        assert context.params, name


def test_the_environment_names_real_settings(compose: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "empty.toml").write_text("", encoding="utf-8")
    for name, service in _hub_services(compose).items():
        environment = dict(service["environment"])
        assert environment.pop("HUB_CONFIG") == "/etc/hub/hub.toml"
        mounted = [volume for volume in service["volumes"] if volume.endswith(":/etc/hub/hub.toml:ro")]
        assert mounted, name
        source = ROOT / mounted[0].split(":")[0]
        settings = load_settings(source, environ=environment)
        assert settings.hub.database_url == environment["HUB__HUB__DATABASE_URL"], name
        assert settings.hub.base_url == environment["HUB__HUB__BASE_URL"], name
        assert str(settings.hub.data_key_file) == environment["HUB__HUB__DATA_KEY_FILE"], name
