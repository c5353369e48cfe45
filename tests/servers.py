"""Real server processes (``veerkracht serve``) for tests that need them."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
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
    lines: list[str] = field(default_factory=list)
    """What the server wrote to stderr (its log), read as it comes: unread, a full pipe would block the
    server as soon as it logs a line (one per request)."""
    _reader: threading.Thread | None = None

    def __post_init__(self) -> None:
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        with contextlib.suppress(ValueError, OSError):  # closed when the server is stopped
            assert self.process.stderr is not None
            for line in self.process.stderr:
                self.lines.append(line)

    def log(self) -> str:
        """The log so far; all of it once the process has ended."""
        if self.process.poll() is not None and self._reader is not None:
            self._reader.join(timeout=10)
        return "".join(self.lines)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    def wait_ready(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = self.log()
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
