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

from app.models import Change
from app.services.audit import NOTIFY_CHANNEL, last_sequence

log = logging.getLogger("veerkracht.changes")

BATCH = 500


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
        while True:
            try:
                connection = await asyncpg.connect(dsn)
                closed = asyncio.Event()
                connection.add_termination_listener(lambda _connection, closed=closed: closed.set())
                try:
                    await connection.add_listener(NOTIFY_CHANNEL, lambda *_args: self.wake())
                    self.listening.set()
                    self.wake()  # catch up on anything committed while not listening
                    await closed.wait()
                finally:
                    self.listening.clear()
                    await connection.close()
            except asyncio.CancelledError:
                raise
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("change listener lost its connection (%s); reconnecting", exc)
                await asyncio.sleep(1)


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
