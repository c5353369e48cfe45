"""Input that used to crash or hold a connection (issue 11, item 6): deep JSON, the 413 answer, slow
headers. Through the real ASGI app, real server processes and the real command."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.conftest import Api
from tests.servers import Server, servers

ROOT = Path(__file__).parent.parent
ENTITIES = "query($r: [_Any!]!) { _entities(representations: $r) { __typename } }"


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [65, 2000, 100_000])
async def test_deeply_nested_variables_are_a_clear_400(api: Api, depth: int) -> None:
    body = '{"query": "' + ENTITIES.replace('"', '\\"') + '", "variables": {"r": [' + _nested(depth) + "]}}"
    response = await api.client.post("/graphql", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert "nested more than 64 levels deep" in response.text
    if depth > 10_000:
        return  # too long for a URL
    response = await api.client.get(
        "/graphql", params={"query": ENTITIES, "variables": '{"r": [' + _nested(depth) + "]}"}
    )
    assert response.status_code == 400
    assert "nested more than 64 levels deep" in response.text


async def test_variables_nested_a_little_still_work(api: Api) -> None:
    representation = {"__typename": "Municipality", "code": "GM0879", "extra": [[[{"a": [1]}]]]}
    data = await api.data(ENTITIES, {"r": [representation]})
    assert data["_entities"] == [{"__typename": "Municipality"}]


def test_importing_a_deeply_nested_file_is_a_clear_error(tmp_path: Path, seeded_url: str) -> None:
    for depth in (100, 5000):
        path = tmp_path / f"deep-{depth}.json"
        path.write_text(
            '{"format": "veerkracht-export", "version": 1, "municipalities": ' + _nested(depth) + "}"
        )
        result = subprocess.run(
            [sys.executable, "-m", "app", "import", str(path), "--database-url", seeded_url],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
            env={**os.environ, "COLUMNS": "400", "NO_COLOR": "1"},
        )
        assert result.returncode == 1, result.stderr
        assert "is nested more than 64 levels deep" in result.stderr
        assert "Traceback" not in result.stderr
        assert "RecursionError" not in result.stderr


async def test_a_413_carries_its_request_id_once(api: Api) -> None:
    declared = await api.client.post(
        "/graphql", content=b"x" * 1_000_001, headers={"content-type": "application/json"}
    )

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: refused while it streams in
        for _ in range(11):
            yield b" " * 100_000

    streamed = await api.client.post(
        "/graphql", content=chunks(), headers={"content-type": "application/json"}
    )
    for response in (declared, streamed):
        assert response.status_code == 413
        assert len(response.headers.get_list("x-request-id")) == 1, response.headers


@pytest.fixture(scope="module")
def strict_server(seeded_url: str) -> Iterator[Server]:
    env = {"VEERKRACHT_HEADER_TIMEOUT_SECONDS": "1", "VEERKRACHT_KEEP_ALIVE_SECONDS": "1"}
    with servers(seeded_url, env=env) as (server,):
        yield server


def _closed_within(server: Server, send: list[bytes], pause: float, limit: float) -> tuple[float, bytes]:
    """Send ``send`` one piece every ``pause`` s until the server closes: (seconds until closed, answer)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=limit) as connection:
        started = time.monotonic()
        answer = b""
        connection.settimeout(pause)
        pieces = iter(send)
        while time.monotonic() - started < limit:
            piece = next(pieces, None)
            try:
                if piece is not None:
                    connection.sendall(piece)
                chunk = connection.recv(65536)
            except TimeoutError:
                continue
            except (ConnectionResetError, BrokenPipeError):
                return time.monotonic() - started, answer
            if not chunk:
                return time.monotonic() - started, answer
            answer += chunk
        return time.monotonic() - started, answer


async def test_slow_headers_and_idle_connections_are_closed(strict_server: Server) -> None:
    slow = [b"GET /healthz HTTP/1.1\r\n"] + [b"x-slow: 1\r\n"] * 100
    elapsed, answer = await asyncio.to_thread(_closed_within, strict_server, slow, 0.3, 15)
    assert elapsed < 8, "a client sending a header line every 0.3 s is cut off"
    assert answer.startswith(b"HTTP/1.1 408"), answer
    elapsed, answer = await asyncio.to_thread(_closed_within, strict_server, [], 0.3, 15)
    assert elapsed < 8, "a connection that sends nothing is closed"
    # Keep-alive: after an answer, an idle connection is closed too.
    request = b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n"
    elapsed, answer = await asyncio.to_thread(_closed_within, strict_server, [request], 0.3, 15)
    assert answer.startswith(b"HTTP/1.1 200"), answer
    assert elapsed < 8


async def test_oversized_headers_are_refused(strict_server: Server) -> None:
    huge = [b"GET /healthz HTTP/1.1\r\n" + b"x-big: " + b"a" * 70_000 + b"\r\n\r\n"]
    _elapsed, answer = await asyncio.to_thread(_closed_within, strict_server, huge, 0.3, 15)
    assert answer.startswith(b"HTTP/1.1 431"), answer[:100]
    # An ordinary request is answered as usual.
    _elapsed, answer = await asyncio.to_thread(
        _closed_within, strict_server, [b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n"], 0.3, 15
    )
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1] or b"{}") is not None
