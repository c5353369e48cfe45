"""Alembic environment: async, for SQLite and PostgreSQL.

Two ways in: the service (``app.migrate``) hands over an open connection in ``config.attributes``; the alembic
CLI gets none, and this file opens one from ``VEERKRACHT_DATABASE_URL``.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

import app.models  # noqa: F401  (registers every table)
from app.db import Base, create_engine, include_object
from app.settings import Settings

target_metadata = Base.metadata


def _configure_and_run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # SQLite alters a table by copying it (batch mode); with foreign keys enforced, dropping the old
        # copy fails. Alembic's advice: switch them off for the migration (before any transaction
        # begins, or SQLite ignores it) and check integrity afterwards.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=sqlite,
        compare_type=True,
        include_object=include_object(connection.dialect.name),
    )
    with context.begin_transaction():
        context.run_migrations()
    if sqlite:
        problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if problems:
            raise RuntimeError(f"the migration left rows with broken foreign keys: {problems[:10]}")
        # The caller switches them on again after the commit (inside a transaction SQLite ignores it).


async def _run_with_new_engine() -> None:
    engine = create_engine(Settings().database_url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_configure_and_run)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
    else:
        asyncio.run(_run_with_new_engine())


if context.is_offline_mode():
    raise SystemExit("Offline (SQL script) migrations are not supported; run them against a database.")
run_migrations_online()
