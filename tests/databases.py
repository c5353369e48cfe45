"""Creating and dropping real test databases on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

BACKENDS = ("sqlite", "postgresql")
POSTGRES_ADMIN_URL = os.environ.get(
    "VEERKRACHT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


async def _admin_connection() -> asyncpg.Connection:
    url = make_url(POSTGRES_ADMIN_URL)
    return await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password, database=url.database
    )


_postgres_checked: list[bool] = []


async def require_postgres() -> None:
    """Skip PostgreSQL tests where no server runs, except in CI, where that is a failure."""
    if not _postgres_checked:
        try:
            connection = await _admin_connection()
            await connection.close()
            _postgres_checked.append(True)
        except (OSError, asyncpg.PostgresError) as exc:
            _postgres_checked.append(False)
            message = f"PostgreSQL at {POSTGRES_ADMIN_URL} is unreachable: {exc}"
            if in_ci():
                pytest.fail(f"{message} (CI=true: PostgreSQL tests must run)", pytrace=False)
            pytest.skip(message)
    if not _postgres_checked[0]:
        if in_ci():
            pytest.fail(f"PostgreSQL at {POSTGRES_ADMIN_URL} is unreachable (CI=true)", pytrace=False)
        pytest.skip(f"PostgreSQL at {POSTGRES_ADMIN_URL} is unreachable")


class DatabaseFactory:
    """Makes fresh, empty databases and drops them at the end."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.postgres_databases: list[str] = []

    async def create(self, backend: str) -> str:
        name = f"veerkracht_test_{uuid.uuid4().hex[:12]}"
        if backend == "sqlite":
            return f"sqlite+aiosqlite:///{self.directory / name}.db"
        await require_postgres()
        connection = await _admin_connection()
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        self.postgres_databases.append(name)
        url = make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql+asyncpg", database=name)
        return url.render_as_string(hide_password=False)

    async def drop_all(self) -> None:
        if not self.postgres_databases:
            return
        connection = await _admin_connection()
        try:
            for name in self.postgres_databases:
                await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()
