"""Real server processes (``veerkracht serve``) for tests that need them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    port: int
    process: subprocess.Popen[str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    def wait_ready(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = self.process.stderr.read() if self.process.stderr else ""
                raise AssertionError(f"server exited with {self.process.returncode}: {error}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"server on port {self.port} not ready in time")


@contextmanager
def servers(
    database_url: str,
    count: int = 1,
    *,
    workers: list[int] | None = None,
    env: dict[str, str] | None = None,
    serve_args: list[str] | None = None,
) -> Iterator[list[Server]]:
    """Start ``count`` servers on one database at once; wait until all are ready; stop them after."""
    environment = {**os.environ, "VEERKRACHT_DATABASE_URL": database_url, **(env or {})}
    started = []
    for index in range(count):
        port = free_port()
        arguments = serve_args or ["serve", "--workers", str((workers or [1] * count)[index])]
        process = subprocess.Popen(
            [sys.executable, "-m", "app", *arguments, "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        started.append(Server(port, process))
    try:
        deadline = time.monotonic() + 90
        for server in started:
            server.wait_ready(deadline)
        yield started
    finally:
        for server in started:
            server.process.terminate()
        for server in started:
            server.process.wait(timeout=30)
            if server.process.stderr:
                server.process.stderr.close()
