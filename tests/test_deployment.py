"""docker-compose.yml: Docker is not on the CI machine, so its structure is checked and its topology is
run without Docker (the same commands, two API processes on one PostgreSQL, a client alternating)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from app.cli import cli
from tests.servers import ROOT, servers
from tests.test_subscriptions import CREATE, _prepare

COMPOSE: dict[str, Any] = __import__("yaml").safe_load((ROOT / "docker-compose.yml").read_text("utf-8"))
NGINX = (ROOT / "deploy" / "nginx.conf").read_text("utf-8")


def _without(command: list[str], *options: str) -> list[str]:
    """``command`` without the given options and their values (the test sets host and port itself)."""
    kept, skip = [], False
    for word in command:
        if skip:
            skip = False
        elif word in options:
            skip = True
        else:
            kept.append(word)
    return kept


def test_services_and_healthchecks() -> None:
    services = COMPOSE["services"]
    assert set(services) == {"postgres", "redis", "migrate", "api", "proxy"}
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no healthcheck"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["api"]["deploy"]["replicas"] == 2
    assert "ports" not in services["api"], "the replicas are reached through the proxy only"
    assert services["proxy"]["ports"] == ["127.0.0.1:8080:8080"]
    assert services["proxy"]["depends_on"]["api"]["condition"] == "service_healthy"
    environment = services["api"]["environment"]
    assert environment["VEERKRACHT_REDIS_URL"] == "redis://redis:6379/0", "replicas share rate limits"
    assert environment["VEERKRACHT_TRUST_FORWARDED_FOR"] == "true", "behind the proxy, limits are per client"
    assert services["api"]["depends_on"]["redis"]["condition"] == "service_healthy"


def test_the_proxy_forwards_http_and_websockets_to_the_replicas() -> None:
    assert "server api:8000" in NGINX
    assert "listen 8080;" in NGINX
    assert "proxy_set_header Upgrade $http_upgrade;" in NGINX
    assert "./deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro" in COMPOSE["services"]["proxy"]["volumes"]


def test_compose_commands_are_cli_commands() -> None:
    """Every command the compose file runs parses with the real CLI (``--help`` appended, so nothing runs)."""
    runner = CliRunner()
    for name in ("migrate", "api"):
        command = COMPOSE["services"][name]["command"]
        assert command[0] == "veerkracht"
        result = runner.invoke(cli, [*command[1:], "--help"])
        assert result.exit_code == 0, f"{name}: {result.output}"
    healthcheck = COMPOSE["services"]["migrate"]["healthcheck"]["test"]
    assert runner.invoke(cli, [*healthcheck[2:], "--help"]).exit_code == 0


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_the_topology_without_docker(backend: str, fresh_url: str) -> None:
    """migrate runs once; two API processes (compose's command) share one PostgreSQL; a client alternates."""
    migrate = COMPOSE["services"]["migrate"]["command"]
    await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "app", *migrate[1:], "--database-url", fresh_url],
        check=True, cwd=ROOT, capture_output=True, timeout=120,
    )  # fmt: skip
    token = await _prepare(fresh_url)
    serve = _without(COMPOSE["services"]["api"]["command"][1:], "--host", "--port")
    assert "--no-bootstrap" in serve, "the replicas rely on the migrate step"
    with servers(fresh_url, 2, serve_args=serve) as replicas:
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(timeout=15) as client:
            for number in range(6):
                writer, reader = replicas[number % 2], replicas[(number + 1) % 2]
                slug = f"topology-{number}"
                created = await client.post(
                    writer.url, json={"query": CREATE, "variables": {"slug": slug}}, headers=headers
                )
                assert created.json()["data"]["createOrganization"]["errors"] == []
                read = await client.post(
                    reader.url, json={"query": f'{{ organization(slug: "{slug}") {{ slug version }} }}'}
                )
                assert read.json()["data"]["organization"] == {"slug": slug, "version": 1}, (
                    "read-your-write on the other replica"
                )
            feeds = []
            for replica in replicas:
                body = (
                    await client.post(
                        replica.url,
                        json={
                            "query": "{ changes(afterSequence: 0, first: 1000) { nodes { sequence entityId } } }"
                        },
                    )
                ).json()
                feeds.append(body["data"]["changes"]["nodes"])
        assert feeds[0] == feeds[1], "both replicas serve the same change log"
        assert [node["sequence"] for node in feeds[0]] == list(range(1, len(feeds[0]) + 1))


def test_dockerfile_installs_what_compose_runs() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text("utf-8")
    for path in ("app", "schema", "migrations"):
        assert f"COPY {path} ./{path}" in dockerfile
    assert Path(ROOT / ".dockerignore").exists()
