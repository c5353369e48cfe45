"""Running compiled statements: on PostgreSQL through asyncpg directly, on SQLite through the engine.

Why not the SQLAlchemy engine on PostgreSQL too (measured on the bench's 10x database, 2 cores, ten
concurrent callers, one small compiled statement each, `/tmp`-style microbenchmark recorded in
bench/README.md "The prepared read path"):

    engine.connect() + execute(), pool_pre_ping            433 us per statement   (what the API did)
    engine.connect() + execute(), no pre-ping              324 us
    engine.connect() + the driver connection's fetchval    241 us / 121 us without pre-ping
    asyncpg pool, fetchval, no reset on release             86 us

The statements here are read-only single SELECTs (no transaction, no session state: no SET, LISTEN,
cursor or advisory lock), so a connection needs no reset when it goes back to the pool, and the engine's
per-statement work (execution context, result processing, a greenlet switch per call) buys nothing. Each
statement is compiled once to asyncpg's positional form (list parameters are one array, ``= ANY($n)``,
so the text does not depend on a list's length); asyncpg prepares it once per connection and reuses it.

A database restart: asyncpg's pool notices a connection the server closed and opens a new one on the next
acquire, without a round trip per checkout (the engine needs its pre-ping for that). A statement that fails
anyway raises :class:`RunFailed`; the caller then answers through the resolvers, which use the engine.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

import asyncpg
from sqlalchemy import Select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.db import CONNECT_TIMEOUT_SECONDS, POOL_TIMEOUT_SECONDS
from app.observability import COMPILED_FALLBACKS, count_statement
from app.services.audit import DATA_VERSION
from schema.compiled.prepared import Lru, PreparedReads
from schema.compiled.sql import DIALECTS, Dialect, sqlite_b64, sqlite_cursor

logger = logging.getLogger("veerkracht.compiled")

POOL_SIZE = 10
"""asyncpg connections per process for compiled reads, besides the engine's pool (app/db.py)."""


_DATABASE_ERRORS = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    # A connection the server closed while a statement was being sent (a restart): "cannot switch to
    # state 12; another operation is in progress" (seen in tests/test_faults.py).
    asyncpg.exceptions.InternalClientError,
    OSError,
    TimeoutError,
)


_FAILED = COMPILED_FALLBACKS.labels("statement_failed")


class RunFailed(Exception):
    """The database did not answer a compiled statement (it is away, restarting, or the statement failed)."""


class Connection(Protocol):
    async def version(self) -> int:
        """The data version: ``change_counter.last_sequence`` (see app/services/audit.py)."""

    async def fetch(self, statement: Select[Any], params: dict[str, Any]) -> str | None:
        """The one text value ``statement`` returns (the JSON of a root field), or None."""


class _Positional:
    """A statement compiled once for asyncpg: its SQL text and the order of its parameters."""

    __slots__ = ("compiled", "order", "sql")

    def __init__(self, statement: Select[Any], dialect: Any) -> None:
        self.compiled = statement.compile(dialect=dialect)
        self.sql = str(self.compiled)
        self.order = tuple(self.compiled.positiontup or ())

    def arguments(self, params: dict[str, Any]) -> list[Any]:
        # construct_params adds the values the statement carries itself (constants in its conditions).
        values = self.compiled.construct_params(params)
        return [values[name] for name in self.order]


class _AsyncpgConnection:
    def __init__(self, connection: asyncpg.Connection, runner: CompiledRunner) -> None:
        self.connection = connection
        self.runner = runner

    async def _fetchval(self, sql: str, arguments: list[Any]) -> Any:
        count_statement()
        for listener in self.runner.statement_listeners:
            listener(sql)
        try:
            return await self.connection.fetchval(sql, *arguments)
        except _DATABASE_ERRORS as error:
            self.runner.statement_failed(sql, error)
            raise RunFailed(str(error)) from error

    async def version(self) -> int:
        positional = self.runner.positional(DATA_VERSION)
        return int(await self._fetchval(positional.sql, positional.arguments({})) or 0)

    async def fetch(self, statement: Select[Any], params: dict[str, Any]) -> str | None:
        positional = self.runner.positional(statement)
        value = await self._fetchval(positional.sql, positional.arguments(params))
        return None if value is None else str(value)


class _EngineConnection:
    def __init__(self, connection: AsyncConnection, runner: CompiledRunner) -> None:
        self.connection = connection
        self.runner = runner

    async def version(self) -> int:
        try:
            return int((await self.connection.execute(DATA_VERSION)).scalar() or 0)
        except SQLAlchemyError as error:
            raise RunFailed(str(error)) from error

    async def fetch(self, statement: Select[Any], params: dict[str, Any]) -> str | None:
        try:
            value = (await self.connection.execute(statement, params)).scalar()
        except SQLAlchemyError as error:
            self.runner.statement_failed(str(statement), error)
            raise RunFailed(str(error)) from error
        return None if value is None else str(value)


async def _prepare_sqlite(connection: AsyncConnection) -> None:
    """Register the base64 helpers on this SQLite connection (once per pooled connection)."""
    raw = await connection.get_raw_connection()
    if raw.info.get("veerkracht_base64"):
        return
    driver = raw.driver_connection
    assert driver is not None
    await driver.create_function("vk_b64", 1, sqlite_b64, deterministic=True)
    await driver.create_function("vk_cursor", 1, sqlite_cursor, deterministic=True)
    raw.info["veerkracht_base64"] = True


async def _no_reset(_connection: asyncpg.Connection) -> None:
    """Nothing to reset: compiled reads leave no session state behind (see the module's docstring)."""


class _Checkout:
    """``async with runner.connect()``: a class rather than a generator-based context manager, which costs
    measurably more on this path (it runs on every compiled read)."""

    __slots__ = ("_acquired", "_engine_connection", "runner")

    def __init__(self, runner: CompiledRunner) -> None:
        self.runner = runner
        self._acquired: Any = None
        self._engine_connection: AsyncConnection | None = None

    async def __aenter__(self) -> Connection:
        runner = self.runner
        if not runner.postgresql:
            try:
                self._engine_connection = connection = await runner.engine.connect()
                await _prepare_sqlite(connection)
            except SQLAlchemyError as error:
                await self._close_engine_connection()
                raise RunFailed(str(error)) from error
            return _EngineConnection(connection, runner)
        pool = runner._pool
        if pool is None:
            raise RunFailed("not started")
        # An idle connection is there to take: no wait, so no timer (asyncio's timeout costs a few percent
        # of this path's CPU). Otherwise wait at most as long as for one of the engine's.
        timeout = None if pool.get_idle_size() else POOL_TIMEOUT_SECONDS
        try:
            self._acquired = pool.acquire(timeout=timeout)
            connection = await self._acquired.__aenter__()
        except _DATABASE_ERRORS as error:
            self._acquired = None
            raise RunFailed(str(error)) from error
        return _AsyncpgConnection(connection, runner)

    async def _close_engine_connection(self) -> None:
        if self._engine_connection is not None:
            connection, self._engine_connection = self._engine_connection, None
            await connection.close()

    async def __aexit__(self, *exc_info: object) -> None:
        if self._acquired is not None:
            acquired, self._acquired = self._acquired, None
            try:
                await acquired.__aexit__(None, None, None)
            except _DATABASE_ERRORS as error:
                # asyncpg discards a connection it cannot reset; the request's answer does not depend on it.
                logger.warning("a compiled read's connection could not go back to its pool: %r", error)
        await self._close_engine_connection()


class CompiledRunner:
    """One per app: where compiled statements run, and the connections they run on."""

    def __init__(self, engine: AsyncEngine, *, server_settings: dict[str, str] | None = None) -> None:
        self.engine = engine
        self.dialect = engine.dialect
        self.compiler: Dialect | None = DIALECTS.get(engine.dialect.name)
        """How statements are built for this database; None: no compiled reads here."""
        self.prepared = PreparedReads()
        self.statement_listeners: list[Callable[[str], None]] = []
        """Called with each statement's SQL (the tests and the benchmark count statements with it)."""
        self.postgresql = engine.dialect.name == "postgresql"
        self.server_settings = dict(server_settings or {})
        """PostgreSQL session settings (app.db.session_settings), as the engine's connections have them."""
        self._pool: asyncpg.Pool | None = None
        self._compiled = Lru()
        """statement -> its _Positional form."""
        self.failed_statements = 0
        """Compiled statements the database failed (each answered by the resolvers instead): a bug in the
        compiled path or an outage; tests/test_differential.py keeps it at zero."""
        self.recent_failures: deque[str] = deque(maxlen=10)
        """The last failures' errors (for the tests' messages; the log has the statements)."""

    def statement_failed(self, sql: str, error: BaseException) -> None:
        """Count and log a statement the database failed: its fallback to the resolvers must not go unseen."""
        self.failed_statements += 1
        self.recent_failures.append(f"{type(error).__name__}: {str(error)[:300]}")
        _FAILED.inc()
        logger.warning(
            "a compiled statement failed (%s: %s); the resolvers answer instead. Statement: %.2000s",
            type(error).__name__,
            error,
            sql,
        )

    def positional(self, statement: Select[Any]) -> _Positional:
        positional: _Positional = self._compiled.get_or(
            statement, lambda: _Positional(statement, self.dialect)
        )
        return positional

    async def start(self) -> None:
        """Create the asyncpg pool (PostgreSQL). It connects nothing yet (``min_size=0``): a server whose
        database is away at start still starts (app/bootstrap.py)."""
        if not self.postgresql or self._pool is not None:
            return
        self._pool = await asyncpg.create_pool(
            self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False),
            min_size=0,
            max_size=POOL_SIZE,
            timeout=CONNECT_TIMEOUT_SECONDS,
            reset=_no_reset,
            server_settings=self.server_settings,
        )

    def connect(self) -> _Checkout:
        """A connection for one request's compiled statements (``async with``); RunFailed when none can be had."""
        return _Checkout(self)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
