"""Migrations: they build exactly the models' schema, on both databases, and downgrade to nothing."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from app.db import Base, create_engine
from app.migrate import alembic_config, current_revision, downgrade, head_revision, upgrade


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


async def test_single_head() -> None:
    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1


async def test_models_and_migrations_agree_and_downgrade_works(fresh_url: str) -> None:
    engine = create_engine(fresh_url)
    try:
        await upgrade(engine)
        async with engine.connect() as connection:
            assert await current_revision(connection) == head_revision()
            assert await connection.run_sync(_differences) == []
            assert await connection.run_sync(_tables) == set(Base.metadata.tables)
        await downgrade(engine, "base")
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) == set()
            assert await current_revision(connection) is None
        await upgrade(engine)  # and up again
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await engine.dispose()


async def test_constraints_live_in_the_database(fresh_url: str) -> None:
    """Checks, uniqueness and foreign keys are enforced by the database itself, not only in Python."""
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    engine = create_engine(fresh_url)
    try:
        await upgrade(engine)
        bad_statements = [
            "INSERT INTO participant (id, type, name, name_folded) VALUES (1, 'castle', 'X', 'x')",
            "INSERT INTO fusion (name, kind, effective_on) VALUES ('X', 'ANNEXATION', '2020-01-01')",
            "INSERT INTO involvement (initiative_id, participant_id, role) VALUES (999, 999, 'PARTNER')",
        ]
        for statement in bad_statements:
            async with engine.connect() as connection:
                with pytest.raises(IntegrityError):
                    await connection.execute(text(statement))
                await connection.rollback()
        async with engine.connect() as connection:
            await connection.execute(
                text(
                    "INSERT INTO participant (id, type, name, name_folded) VALUES (1, 'municipality', 'A', 'a')"
                )
            )
            await connection.execute(
                text(
                    "INSERT INTO participant (id, type, name, name_folded) VALUES (2, 'municipality', 'B', 'b')"
                )
            )
            await connection.execute(
                text("INSERT INTO municipality (id, code, province) VALUES (1, 'GM0001', 'Noord-Brabant')")
            )
            for statement in [
                "INSERT INTO municipality (id, code, province) VALUES (2, 'GM0001', 'Noord-Brabant')",
                "INSERT INTO municipality (id, code, province) VALUES (2, 'XX12', 'Noord-Brabant')",
                "INSERT INTO municipality (id, code, province, founded_on, dissolved_on) "
                "VALUES (2, 'GM0002', 'Noord-Brabant', '2020-01-01', '2019-01-01')",
            ]:
                savepoint = await connection.begin_nested()
                with pytest.raises(IntegrityError):
                    await connection.execute(text(statement))
                await savepoint.rollback()
            await connection.rollback()
    finally:
        await engine.dispose()
