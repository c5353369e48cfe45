"""First start: migrate the database and load the bundled dataset if it is empty, once, under a lock.

``serve`` runs the bootstrap before it starts serving. When the database does not answer then, it serves
anyway (``/readyz`` says the database is unreachable) and each app process retries the bootstrap in the
background until the database answers (:func:`bootstrap_until_done`): a database that starts after the
service, or is briefly down while the service is deployed, must not send the service into a crash loop.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator

import asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.data.loader import database_is_empty, load_dataset, read_dataset
from app.db import create_engine, create_sessionmaker
from app.migrate import bootstrap_lock, upgrade
from app.services.audit import lock_change_log

log = logging.getLogger("veerkracht.bootstrap")


async def seed(engine: AsyncEngine) -> bool:
    """Load the bundled dataset in one transaction. False when this exact content was loaded before."""
    dataset = read_dataset()  # validates everything before a single row is written
    async with create_sessionmaker(engine)() as session, session.begin():
        session.info["actor"] = "seed"
        await lock_change_log(session)
        return await load_dataset(session, dataset)


async def bootstrap(engine: AsyncEngine) -> None:
    """Bring the database to the newest migration and, when it holds no data yet, load the dataset.

    Safe when several instances start at once against one database: the work runs under a lock, and the
    second instance finds the migrations applied and the data present.
    """
    async with bootstrap_lock(engine):
        await upgrade(engine)
        async with create_sessionmaker(engine)() as session:
            empty = await database_is_empty(session)
        if empty:
            loaded = await seed(engine)
            log.info("loaded the bundled dataset" if loaded else "bundled dataset already loaded")


# Set by ``serve`` when the database did not answer at start: each app process (uvicorn worker) then
# retries the bootstrap in the background. Workers are separate processes; the environment is what they
# share with ``serve``. Not a ``VEERKRACHT_`` setting: nobody is meant to set it by hand.
BOOTSTRAP_PENDING_ENV = "_VEERKRACHT_BOOTSTRAP_PENDING"

# Retry delays: the first soon (a database that is just starting), then doubling up to a few seconds, so
# that the service is ready within seconds of the database coming up, without hammering it meanwhile.
FIRST_RETRY_SECONDS = 0.5
MAX_RETRY_SECONDS = 5.0

# SQLSTATEs that mean "the database is not there (yet)", as opposed to a mistake that no amount of waiting
# fixes (a wrong password, a missing database, a broken migration): class 08, connection exception;
# 57P01-57P03, admin shutdown, crash shutdown, cannot connect now (the server is starting up or shutting
# down); 53300, too many connections.
_UNREACHABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")


def bootstrap_pending() -> bool:
    """Whether ``serve`` left the bootstrap to the app processes (see :data:`BOOTSTRAP_PENDING_ENV`)."""
    return os.environ.get(BOOTSTRAP_PENDING_ENV) == "1"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [getattr(current, "orig", None), current.__cause__, current.__context__]


def database_unreachable(exc: BaseException) -> bool:
    """True when ``exc`` says the database cannot be reached now (worth retrying), not that it is wrong."""
    for cause in _causes(exc):
        if isinstance(cause, OSError | TimeoutError):  # refused, reset, no route, DNS, connect timeout
            return True
        if isinstance(cause, DBAPIError) and cause.connection_invalidated:
            return True
        if isinstance(cause, asyncpg.InterfaceError) and "connection is closed" in str(cause):
            return True
        sqlstate = getattr(cause, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_UNREACHABLE_SQLSTATES):
            return True
    return False


def describe(exc: BaseException) -> str:
    """One line for a log message: the driver's error, without SQLAlchemy's statement and help link."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0]}" if lines else type(cause).__name__


async def bootstrap_until_done(
    database_url: str,
    *,
    first_delay: float = FIRST_RETRY_SECONDS,
    max_delay: float = MAX_RETRY_SECONDS,
) -> None:
    """Run :func:`bootstrap` until the database answers, waiting longer between attempts up to ``max_delay``.

    Each failed attempt is one warning line (no traceback: an unreachable database is a condition, not a
    bug). An error that waiting cannot fix (e.g. a failing migration) is raised after being logged.
    The engine is this function's own, without a statement timeout: migrations and waiting for another
    instance's bootstrap under the lock may legitimately take longer than any request should.
    """
    delay = first_delay
    attempt = 0
    while True:
        attempt += 1
        engine = create_engine(database_url)
        try:
            await bootstrap(engine)
        except Exception as exc:
            if not database_unreachable(exc):
                log.exception("bootstrap failed; not retrying")
                raise
            log.warning(
                "database unreachable (attempt %d: %s); bootstrap retried in %.1f s",
                attempt,
                describe(exc),
                delay,
            )
        else:
            log.info("database reachable; bootstrap done (attempt %d)", attempt)
            return
        finally:
            await engine.dispose()
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_delay)
