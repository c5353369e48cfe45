"""Running alembic from the service: upgrade, downgrade, current revision, and first-start bootstrap."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
from collections.abc import AsyncIterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

import migrations

MIGRATIONS_DIR = Path(migrations.__file__).parent
# Any constant works; it only has to be the same for every instance of this service.
_BOOTSTRAP_LOCK_KEY = 0x5653_5600  # "VSV"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(connection: AsyncConnection) -> str | None:
    return await connection.run_sync(_current)


async def _run(engine: AsyncEngine, action: str, revision: str) -> None:
    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)

    async with engine.connect() as connection:
        await connection.run_sync(run)
        await connection.commit()
        if connection.dialect.name == "sqlite":
            # env.py switched foreign keys off for SQLite's table copies; this pooled connection is reused.
            await connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            await connection.commit()


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    await _run(engine, "upgrade", revision)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    await _run(engine, "downgrade", revision)


@contextlib.asynccontextmanager
async def bootstrap_lock(engine: AsyncEngine) -> AsyncIterator[None]:
    """Serialise first-start work (migrate, load) between instances started at the same moment.

    PostgreSQL: a session-level advisory lock, held on a connection of its own. SQLite: an exclusive
    ``flock`` on a file beside the database (SQLite instances share a host by construction).
    """
    url = make_url(str(engine.url))
    if url.get_backend_name() == "postgresql":
        async with engine.connect() as lock_connection:
            await lock_connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _BOOTSTRAP_LOCK_KEY})
            try:
                yield
            finally:
                await lock_connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": _BOOTSTRAP_LOCK_KEY}
                )
                await lock_connection.commit()
        return
    database = url.database
    if not database or database == ":memory:":
        yield
        return
    lock_file = await asyncio.to_thread(open, f"{database}.lock", "w")
    try:
        # Waiting for another instance's bootstrap must not block this process's event loop.
        await asyncio.to_thread(fcntl.flock, lock_file, fcntl.LOCK_EX)
        yield
    finally:
        lock_file.close()  # closing releases the lock
