"""The veerkracht command, as a user runs it: real processes, real servers."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import func, select

from app.db import create_engine, create_sessionmaker
from app.models import DatasetLoad, Participant

ROOT = Path(__file__).parent.parent
VEERKRACHT = [sys.executable, "-m", "app"]


def run(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*VEERKRACHT, *args, "--database-url", url],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ, "COLUMNS": "400", "NO_COLOR": "1"},  # error boxes on one line
    )


def test_db_commands_and_seed(fresh_url: str) -> None:
    assert "none (empty database)" in run("db", "current", url=fresh_url).stdout
    first = run("seed", url=fresh_url)
    assert first.returncode == 0, first.stderr
    assert "loaded the bundled dataset" in first.stdout
    again = run("seed", url=fresh_url)
    assert "already loaded; nothing changed" in again.stdout
    assert "(head)" in run("db", "current", url=fresh_url).stdout
    assert run("db", "downgrade", "base", url=fresh_url).returncode == 0
    assert "none (empty database)" in run("db", "current", url=fresh_url).stdout
    assert run("db", "upgrade", url=fresh_url).returncode == 0


def test_a_bad_database_url_is_refused_clearly() -> None:
    result = run("db", "current", url="mysql://localhost/x")
    assert result.returncode != 0
    assert "not supported" in result.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(port: int, process: subprocess.Popen[str], deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"server exited with {process.returncode}: {process.stderr.read() if process.stderr else ''}"
            )
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"server on port {port} not ready in time")


async def _loads_and_participants(url: str) -> tuple[int, int]:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            loads = await session.scalar(select(func.count()).select_from(DatasetLoad))
            participants = await session.scalar(select(func.count()).select_from(Participant))
            return int(loads or 0), int(participants or 0)
    finally:
        await engine.dispose()


def test_two_servers_starting_at_once_on_an_empty_database(fresh_url: str) -> None:
    """`serve` migrates and loads an empty database first, safely when two instances race."""
    ports = [_free_port(), _free_port()]
    env = {**os.environ, "VEERKRACHT_DATABASE_URL": fresh_url}
    processes = [
        subprocess.Popen(
            [*VEERKRACHT, "serve", "--port", str(port), "--workers", "2" if index else "1"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for index, port in enumerate(ports)
    ]
    try:
        deadline = time.monotonic() + 90
        for port, process in zip(ports, processes, strict=True):
            _wait_ready(port, process, deadline)
        for port in ports:
            body = httpx.post(
                f"http://127.0.0.1:{port}/graphql",
                json={"query": '{ municipalities(filter: {activeOn: "2022-01-01"}) { totalCount } }'},
                timeout=10,
            ).json()
            assert body == {"data": {"municipalities": {"totalCount": 56}}}
        loads, participants = asyncio.run(_loads_and_participants(fresh_url))
        assert loads == 1, "the dataset was loaded exactly once"
        assert participants == 88
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
            if process.stderr:
                process.stderr.close()
