"""Declarative base, engine and session factories for SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Index, MetaData, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names, so that migrations can refer to them on both dialects.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def only_on(dialect: str, index: Index) -> Index:
    """``index`` exists on ``dialect`` only: created there (``ddl_if``), and left out of alembic's
    comparison of the models with other databases (``include_object``, which does not read ``ddl_if``)."""
    index.info["only_on"] = dialect
    return index.ddl_if(dialect=dialect)


def include_object(dialect: str) -> Any:
    """Alembic's ``include_object`` for a database of ``dialect``: leaves out what exists elsewhere only."""

    def include(obj: Any, _name: str | None, type_: str, reflected: bool, _compare_to: Any) -> bool:
        only = getattr(obj, "info", {}).get("only_on") if type_ == "index" and not reflected else None
        return only is None or only == dialect

    return include


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_utc(moment: dt.datetime) -> dt.datetime:
    """SQLite hands back timestamps without their offset; they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # SQLite enforces foreign keys (and ON DELETE CASCADE) only when asked, per connection.
    cursor.execute("PRAGMA foreign_keys=ON")
    # Readers do not block the writer nor the writer readers (write-ahead log; kept in the file).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


# How long opening a PostgreSQL connection may take. asyncpg's default is 60 s: a database host that drops
# packets would hold every request (and /readyz, and the start-up bootstrap) that long.
CONNECT_TIMEOUT_SECONDS = 5.0
# How long a request waits for a pooled connection when all are in use. SQLAlchemy's default is 30 s; while
# the database is slow or down, a request that cannot get a connection soon should fail with an error
# rather than pile up behind the others until the client gives up.
POOL_TIMEOUT_SECONDS = 5.0


def session_settings(
    statement_timeout_seconds: float | None = None, random_page_cost: float | None = None
) -> dict[str, str]:
    """PostgreSQL settings for every session the service opens, sent in the startup packet.

    ``statement_timeout_seconds``: PostgreSQL cancels any statement running longer than this (SQLSTATE
    57014, query_canceled), so that one runaway query cannot hold a connection and a request for ever.
    None or 0 sets no limit, which is what migrations and the first-start load want.

    ``random_page_cost``: the planner's cost of reading a page out of order (PostgreSQL's default 4 models
    a spinning disk). With the default it reads a small table (participant: 288 rows at the bench's 100x)
    whole for each of 2,100 lookups in the nested shape rather than use its primary key: 26.8 ms against
    9.3 ms with 1.1, the value PostgreSQL's documentation gives for storage with cheap random reads or a
    cached database (bench/README.md, "The prepared read path"). None keeps the server's value.
    """
    settings: dict[str, str] = {}
    if statement_timeout_seconds:
        settings["statement_timeout"] = str(max(1, round(statement_timeout_seconds * 1000)))
    if random_page_cost is not None:
        settings["random_page_cost"] = repr(float(random_page_cost))
    return settings


def create_engine(
    url: str,
    *,
    echo: bool = False,
    statement_timeout_seconds: float | None = None,
    random_page_cost: float | None = None,
    pool_size: int = 10,
    max_overflow: int = 10,
) -> AsyncEngine:
    """The async engine for ``url``, with :func:`session_settings` on PostgreSQL (SQLite has neither: it
    runs in-process, one writer at a time, and plans by its own rules)."""
    kwargs: dict[str, Any] = {"echo": echo}
    if is_sqlite(url):
        kwargs["connect_args"] = {"timeout": 30}  # a writer waits up to 30 s for another's turn
    else:
        connect_args: dict[str, Any] = {"timeout": CONNECT_TIMEOUT_SECONDS}
        server_settings = session_settings(statement_timeout_seconds, random_page_cost)
        if server_settings:
            # Sent in the startup packet, so they hold for every statement on every pooled connection.
            connect_args["server_settings"] = server_settings
        kwargs.update(
            connect_args=connect_args,
            # A database restart leaves every pooled connection dead. The pre-ping on checkout notices,
            # and SQLAlchemy then discards the whole pool (every connection older than the failure) and
            # connects afresh, so requests recover as soon as the database is back instead of each
            # stumbling over one more dead connection. A connection that dies mid-statement (a fast
            # shutdown terminates sessions) is invalidated at once: the asyncpg dialect counts an error
            # on a closed connection as a disconnect, which likewise discards the rest of the pool.
            pool_pre_ping=True,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=POOL_TIMEOUT_SECONDS,
        )
    engine = create_async_engine(url, **kwargs)
    if is_sqlite(url):
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
