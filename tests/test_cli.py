"""The veerkracht command, as a user runs it: real processes, real servers."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy import func, select

from app.db import create_engine, create_sessionmaker
from app.models import DatasetLoad, Participant
from tests.servers import servers

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
    with servers(fresh_url, 2, workers=[1, 2]) as started:
        for server in started:
            body = httpx.post(
                server.url,
                json={"query": '{ municipalities(filter: {activeOn: "2022-01-01"}) { totalCount } }'},
                timeout=10,
            ).json()
            assert body["data"] == {"municipalities": {"totalCount": 56}}
        loads, participants = asyncio.run(_loads_and_participants(fresh_url))
        assert loads == 1, "the dataset was loaded exactly once"
        assert participants == 88
