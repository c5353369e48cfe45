"""Migrations: they build exactly the models' schema, on both databases, and downgrade to nothing."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from app.db import Base, create_engine, include_object
from app.migrate import alembic_config, current_revision, downgrade, head_revision, upgrade


def _differences(connection: Connection) -> list[object]:
    options = {"compare_type": True, "include_object": include_object(connection.dialect.name)}
    context = MigrationContext.configure(connection, opts=options)
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


async def test_the_word_search_can_use_a_trigram_index_on_postgresql(fresh_url: str) -> None:
    """Migration 0004: `search_folded LIKE '%word%'` need not read every initiative (bench/README.md)."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    engine = create_engine(fresh_url)
    try:
        await upgrade(engine)
        async with engine.connect() as connection:
            if make_url(fresh_url).get_backend_name() == "sqlite":
                assert "ix_initiative_search_folded_trgm" not in {
                    index["name"] for index in await connection.run_sync(_indexes, "initiative")
                }
                return
            await connection.execute(text("SET LOCAL enable_seqscan = off"))
            plan = (
                await connection.execute(
                    text("EXPLAIN SELECT count(*) FROM initiative WHERE search_folded LIKE '%energie%'")
                )
            ).scalars()
            assert "ix_initiative_search_folded_trgm" in "\n".join(plan)
    finally:
        await engine.dispose()


def _indexes(connection: Connection, table: str) -> list[dict[str, object]]:
    return list(inspect(connection).get_indexes(table))  # type: ignore[arg-type]
