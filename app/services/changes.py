"""Following the change log: the feed query, and waking subscribers when changes commit.

PostgreSQL: every writing transaction sends ``NOTIFY veerkracht_changes`` (app.services.audit), delivered
on commit to every instance's listener, so a subscriber on any instance hears of a change made on any
other. SQLite: one process owns the file; a write in this process wakes its subscribers directly. Either
way a subscriber then reads the log itself, after the last sequence it delivered: notifications only wake
it, so none can be lost or reordered, and a slow poll covers a listener that was down for a moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator, Sequence

import asyncpg
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import CONNECT_TIMEOUT_SECONDS
from app.models import Change
from app.services.audit import NOTIFY_CHANNEL, last_sequence

log = logging.getLogger("veerkracht.changes")

BATCH = 500
RECONNECT_SECONDS = 1.0
"""Pause between attempts to get the LISTEN connection back (a connection attempt is cheap)."""
KEEPALIVE_SECONDS = 10.0
"""How often an idle LISTEN connection is checked, and how long the check (or closing it) may take."""


async def changes_after(session: AsyncSession, *, after_sequence: int, first: int) -> Sequence[Change]:
    rows = await session.scalars(
        select(Change).where(Change.sequence > after_sequence).order_by(Change.sequence).limit(first)
    )
    return rows.all()


class ChangeBroker:
    """Wakes this instance's subscribers when changes commit (on any instance, for PostgreSQL)."""

    def __init__(self, database_url: str, *, poll_seconds: float = 5.0) -> None:
        self.poll_seconds = poll_seconds
        url = make_url(database_url)
        self._postgres_dsn = (
            url.set(drivername="postgresql").render_as_string(hide_password=False)
            if url.get_backend_name() == "postgresql"
            else None
        )
        self._waiters: set[asyncio.Event] = set()
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()
        self._down_since: float | None = None
        """When the listener lost its connection (loop time); None while it listens."""

    def wake(self) -> None:
        for waiter in self._waiters:
            waiter.set()

    @contextlib.contextmanager
    def subscription(self) -> Iterator[asyncio.Event]:
        waiter = asyncio.Event()
        self._waiters.add(waiter)
        try:
            yield waiter
        finally:
            self._waiters.discard(waiter)

    async def start(self) -> None:
        if self._postgres_dsn is None:
            self.listening.set()
        else:
            self._task = asyncio.create_task(self._listen_forever(self._postgres_dsn))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _listen_forever(self, dsn: str) -> None:
        """Keep a LISTEN connection, reconnecting for as long as the app runs.

        The connection is lost when PostgreSQL restarts or the network drops it. Any error is retried: a
        listener that gave up would leave subscribers on the slow poll for good, silently. While it is
        down, the poll (``poll_seconds``) still delivers; on reconnecting, every subscriber is woken to
        catch up on what committed meanwhile. An outage is logged once when it starts and once when it ends.
        """
        while True:
            try:
                await self._listen(dsn)
                reason = "connection closed"
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                reason = f"{type(exc).__name__}: {exc}"
            if self._down_since is None:  # the first failure of this outage
                log.warning("change listener lost its connection (%s); reconnecting", reason)
                self._down_since = asyncio.get_running_loop().time()
            await asyncio.sleep(RECONNECT_SECONDS)

    async def _listen(self, dsn: str) -> None:
        """Listen on one connection until it closes (returns) or fails (raises)."""
        connection = await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT_SECONDS)
        closed = asyncio.Event()
        connection.add_termination_listener(lambda _connection: closed.set())
        try:
            await connection.add_listener(NOTIFY_CHANNEL, lambda *_args: self.wake())
            self.listening.set()
            if self._down_since is not None:
                elapsed = asyncio.get_running_loop().time() - self._down_since
                log.info("change listener listening again after %.1f s", elapsed)
                self._down_since = None
            self.wake()  # catch up on anything committed while not listening
            while not closed.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(closed.wait(), timeout=KEEPALIVE_SECONDS)
                    return
                # A peer that vanished without closing the connection (a host that died, a network
                # partition) shows only when the connection is used: without this, the listener would
                # wait on a dead socket for as long as the kernel keeps it.
                await connection.execute("SELECT 1", timeout=KEEPALIVE_SECONDS)
        finally:
            self.listening.clear()
            try:
                await connection.close(timeout=KEEPALIVE_SECONDS)
            except Exception:
                connection.terminate()  # closing politely failed; drop the socket


async def follow(
    sessionmaker: async_sessionmaker[AsyncSession],
    broker: ChangeBroker,
    *,
    after_sequence: int | None,
    entity_types: Sequence[str] | None,
) -> AsyncIterator[Change]:
    """Every change after ``after_sequence`` (from now when None), then each new one as it commits."""
    with broker.subscription() as wake:
        if after_sequence is None:
            async with sessionmaker() as session:
                after_sequence = await last_sequence(session)
        while True:
            wake.clear()
            async with sessionmaker() as session:
                rows = await changes_after(session, after_sequence=after_sequence, first=BATCH)
            for row in rows:
                after_sequence = row.sequence
                if entity_types is None or row.entity_type in entity_types:
                    yield row
            if len(rows) == BATCH:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=broker.poll_seconds)
