"""docker-compose.yml (Docker is not on the CI machine: its structure is checked, its commands are real)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from app.cli import cli

ROOT = Path(__file__).parent.parent
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text("utf-8"))


def test_services_and_healthchecks() -> None:
    services = COMPOSE["services"]
    assert set(services) >= {"postgres", "migrate", "api"}
    assert "healthcheck" in services["postgres"]
    assert "healthcheck" in services["api"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_compose_commands_are_cli_commands() -> None:
    """Every command the compose file runs parses with the real CLI (``--help`` appended, so nothing runs)."""
    runner = CliRunner()
    for name in ("migrate", "api"):
        command = COMPOSE["services"][name]["command"]
        assert command[0] == "veerkracht"
        result = runner.invoke(cli, [*command[1:], "--help"])
        assert result.exit_code == 0, f"{name}: {result.output}"
