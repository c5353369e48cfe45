"""Operations behaviour that needs a real server process: graceful shutdown, JSON logs, metrics summed over
worker processes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.servers import ROOT, servers
from tests.test_operations import CREATE, NEW, writers_locked_out


def _token(url: str) -> str:
    created = subprocess.run(
        [sys.executable, "-m", "app", "token", "create", "--name", "editor", "--scope", "write"],
        cwd=ROOT, env={**os.environ, "VEERKRACHT_DATABASE_URL": url}, capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    return created.stdout.strip().splitlines()[-1]


def _json_lines(text: str) -> list[dict[str, Any]]:
    lines = []
    for line in text.splitlines():
        line = line.strip()
        if line:
            lines.append(json.loads(line))  # every line is JSON: a non-JSON line fails the test here
    return lines


async def test_sigterm_finishes_in_flight_requests_and_logs_json(fresh_url: str) -> None:
    with servers(fresh_url, env={"VEERKRACHT_LOG_FORMAT": "json"}) as (server,):
        token = _token(fresh_url)
        request_id = f"shutdown-{uuid.uuid4().hex[:8]}"
        with ThreadPoolExecutor(1) as pool:
            async with writers_locked_out(fresh_url):
                # A mutation that waits for the write lock: in flight when the server is told to stop.
                in_flight = pool.submit(
                    httpx.post,
                    server.url,
                    json={"query": CREATE, "variables": {"input": NEW}, "operationName": "Create"},
                    headers={"Authorization": f"Bearer {token}", "X-Request-ID": request_id},
                    timeout=30,
                )
                await asyncio.sleep(1.0)
                assert not in_flight.done()
                server.process.send_signal(signal.SIGTERM)
                await asyncio.sleep(1.0)
                # No new connections once shutdown has begun; the in-flight request is still waiting.
                async with httpx.AsyncClient() as fresh:
                    with pytest.raises(httpx.TransportError):
                        await fresh.get(f"http://127.0.0.1:{server.port}/healthz", timeout=2)
                assert not in_flight.done()
            response = await asyncio.wrap_future(in_flight)  # the lock is released: it completes
        assert response.status_code == 200
        assert response.json()["data"]["createInitiative"]["errors"] == []
        # uvicorn re-raises the signal once shut down, as a process without handlers would end.
        assert server.process.wait(timeout=20) in (0, -signal.SIGTERM)
        logged = _json_lines(server.log())

    access = [line for line in logged if line.get("request_id") == request_id]
    assert len(access) == 1, logged
    line = access[0]
    assert line["logger"] == "veerkracht.access"
    assert (line["operation"], line["operation_type"], line["status"], line["outcome"]) == (
        "Create", "mutation", 200, "ok",
    )  # fmt: skip
    assert line["duration_ms"] >= 1000
    assert line["sql_statements"] >= 3
    assert line["cost"] == 1
    assert {"time", "level", "message"} <= line.keys()
    assert not [entry for entry in logged if "color_message" in entry], "no terminal colour codes in the log"
    # The startup's "GraphiQL: ..." line goes through the log format too (issue 12).
    (started,) = [entry for entry in logged if entry["logger"] == "veerkracht.serve"]
    assert started["message"] == f"GraphiQL: http://127.0.0.1:{server.port}/graphql"
    assert started["url"] == f"http://127.0.0.1:{server.port}/graphql"


def test_metrics_are_summed_over_worker_processes(fresh_url: str) -> None:
    with servers(fresh_url, workers=[2]) as (server,):
        name = f"Counted{uuid.uuid4().hex[:8]}"
        query = f"query {name} {{ municipalities(first: 2) {{ nodes {{ code }} }} }}"
        for _ in range(40):  # a new connection each time, so that both workers answer some
            assert httpx.post(server.url, json={"query": query}, timeout=10).status_code == 200
        deadline = time.monotonic() + 10
        seen = []
        for _ in range(10):
            exposition = httpx.get(f"http://127.0.0.1:{server.port}/metrics", timeout=10).text
            sample = f'veerkracht_requests_total{{operation="{name}",outcome="ok"}}'
            values = [
                float(line.rsplit(" ", 1)[1]) for line in exposition.splitlines() if line.startswith(sample)
            ]
            seen.append(sum(values))
            assert time.monotonic() < deadline
        # Whichever worker answers the scrape reports all 40 (one process would know only its own share).
        assert seen == [40.0] * 10


def test_two_server_processes_share_a_rate_limit_through_redis(fresh_url: str) -> None:
    """As the compose stack runs them: two instances, one Redis; a caller's budget is spent on either."""
    from tests.test_operations import REDIS_URL, _redis_or_skip

    asyncio.run(_redis_or_skip())
    env = {
        "VEERKRACHT_REDIS_URL": REDIS_URL,
        "VEERKRACHT_REDIS_KEY_PREFIX": f"veerkracht-test-{uuid.uuid4().hex}",
        "VEERKRACHT_ANONYMOUS_RATE_LIMIT_PER_MINUTE": "10",
    }
    query = "{ municipalities(first: 3) { nodes { code } } }"  # costs 4
    with servers(fresh_url, 2, env=env) as (one, two):
        assert httpx.post(one.url, json={"query": query}, timeout=10).status_code == 200
        assert httpx.post(two.url, json={"query": query}, timeout=10).status_code == 200
        refused = httpx.post(one.url, json={"query": query}, timeout=10)
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert httpx.post(two.url, json={"query": query}, timeout=10).status_code == 429
