"""Following the change log: the feed query, and waking subscribers when changes commit.

PostgreSQL: every writing transaction sends ``NOTIFY veerkracht_changes`` (app.services.audit), delivered
on commit to every instance's listener, so a subscriber on any instance hears of a change made on any
other. SQLite: one process owns the file; a write in this process wakes its subscribers directly. Either
way notifications only wake; what committed is read from the log, so none can be lost or reordered, and a
slow poll covers a listener that was down for a moment.

One reader per process fans out (issue 11): on each wake the broker reads the new rows once, with one
connection, and hands them to every subscriber's queue. A waiting subscription holds no database
connection; before, every subscriber read the log itself on every wake, and 30 sockets x 100
subscriptions took the whole pool (2,990 "QueuePool limit" errors, ordinary queries waiting 16 s). A
subscriber reads the log itself only to catch up (``afterSequence``) or after falling more than
``QUEUE_LIMIT`` rows behind, a page at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field

import asyncpg
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import CONNECT_TIMEOUT_SECONDS
from app.models import Change
from app.services.audit import NOTIFY_CHANNEL, last_sequence
from app.services.tokens import authenticate_header

log = logging.getLogger("veerkracht.changes")

BATCH = 500
RECONNECT_SECONDS = 1.0
"""Pause between attempts to get the LISTEN connection back (a connection attempt is cheap)."""
QUEUE_LIMIT = 2 * 500
"""Rows a subscriber may have waiting; one further behind reads the log itself instead (bounded memory)."""
TOKEN_RECHECK_SECONDS = 1.0
"""How old a subscription's token check may be when a change is delivered."""
TOKEN_CACHE_ENTRIES = 1000
KEEPALIVE_SECONDS = 10.0
"""How often an idle LISTEN connection is checked, and how long the check (or closing it) may take."""


async def changes_after(session: AsyncSession, *, after_sequence: int, first: int) -> Sequence[Change]:
    rows = await session.scalars(
        select(Change).where(Change.sequence > after_sequence).order_by(Change.sequence).limit(first)
    )
    return rows.all()


class TooManySubscriptions(Exception):
    """A client has as many subscriptions open on this instance as it may."""


@dataclass(eq=False)
class Subscriber:
    """One subscription's queue of committed rows, filled by the broker's reader."""

    rows: deque[Change] = field(default_factory=deque)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    overflowed: bool = False
    """It fell more than QUEUE_LIMIT rows behind: its queue was dropped, it reads the log itself."""


class ChangeBroker:
    """Wakes this instance's subscribers when changes commit (on any instance, for PostgreSQL), and hands
    them the new rows, read once per wake by one reader."""

    def __init__(
        self,
        database_url: str,
        *,
        poll_seconds: float = 5.0,
        sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        self.poll_seconds = poll_seconds
        self.sessionmaker = sessionmaker
        url = make_url(database_url)
        self._postgres_dsn = (
            url.set(drivername="postgresql").render_as_string(hide_password=False)
            if url.get_backend_name() == "postgresql"
            else None
        )
        self._subscribers: set[Subscriber] = set()
        self._waiters: set[asyncio.Event] = set()
        self._position: int | None = None
        """The last sequence handed to the subscribers; None while there are none."""
        self._fresh = asyncio.Event()
        self._position_lock = asyncio.Lock()
        self._per_client: dict[str, int] = {}
        self._tokens: dict[str, tuple[float, bool]] = {}
        self._task: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()
        self._down_since: float | None = None
        """When the listener lost its connection (loop time); None while it listens."""

    def wake(self) -> None:
        """Something committed: the reader reads the log after its position; wake listeners are woken."""
        self._fresh.set()
        for waiter in self._waiters:
            waiter.set()

    @contextlib.contextmanager
    def subscription(self) -> Iterator[asyncio.Event]:
        """An event set at every wake, for a listener that reads the log itself (the webhook dispatcher, one
        per process); subscriptions use :meth:`feed`."""
        waiter = asyncio.Event()
        self._waiters.add(waiter)
        try:
            yield waiter
        finally:
            self._waiters.discard(waiter)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    @contextlib.asynccontextmanager
    async def feed(self, client: str = "", limit: int | None = None) -> AsyncIterator[Subscriber]:
        """A queue that receives every row committed after it was opened; at most ``limit`` per ``client``
        (TooManySubscriptions beyond)."""
        if limit is not None and self._per_client.get(client, 0) >= limit:
            raise TooManySubscriptions
        self._per_client[client] = self._per_client.get(client, 0) + 1
        try:
            if self._position is None:
                async with self._position_lock:
                    if self._position is None:
                        assert self.sessionmaker is not None
                        async with self.sessionmaker() as session:
                            self._position = await last_sequence(session)
            subscriber = Subscriber()
            self._subscribers.add(subscriber)  # from here on it receives every row after _position
            try:
                yield subscriber
            finally:
                self._subscribers.discard(subscriber)
                if not self._subscribers:
                    self._position = None  # nobody to read for: start afresh with the next subscriber
        finally:
            left = self._per_client[client] - 1
            if left:
                self._per_client[client] = left
            else:
                del self._per_client[client]

    def _fan_out(self, rows: Sequence[Change]) -> None:
        if not rows or self._position is None:
            return
        self._position = rows[-1].sequence
        for subscriber in self._subscribers:
            subscriber.rows.extend(rows)
            if len(subscriber.rows) > QUEUE_LIMIT:
                subscriber.rows.clear()
                subscriber.overflowed = True
            subscriber.ready.set()

    async def _read_forever(self) -> None:
        """The one reader: on each wake (or every ``poll_seconds``), the rows after the position, once."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._fresh.wait(), timeout=self.poll_seconds)
            self._fresh.clear()
            try:
                while self._subscribers and self._position is not None and self.sessionmaker is not None:
                    position = self._position
                    async with self.sessionmaker() as session:
                        rows = await changes_after(session, after_sequence=position, first=BATCH)
                    if self._position != position:  # everyone left meanwhile
                        break
                    self._fan_out(rows)
                    if len(rows) < BATCH:
                        break
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is away: the poll tries again
                log.warning("reading the change log failed (%s: %s); retrying", type(exc).__name__, exc)
                await asyncio.sleep(RECONNECT_SECONDS)

    async def token_valid(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        header: str,
        authenticate: Callable[[async_sessionmaker[AsyncSession], str], Awaitable[object | None]]
        | None = None,
    ) -> bool:
        """Whether a subscription's token still authenticates. Checked before each change is delivered,
        answered from a cache of ``TOKEN_RECHECK_SECONDS`` (one query per token per second however many
        subscriptions use it); the cache holds at most ``TOKEN_CACHE_ENTRIES`` tokens' answers."""
        now = asyncio.get_running_loop().time()
        known = self._tokens.get(header)
        if known is not None and now - known[0] < TOKEN_RECHECK_SECONDS:
            return known[1]
        if authenticate is not None:  # the context's: API tokens and OIDC tokens alike
            valid = await authenticate(sessionmaker, header) is not None
        else:
            async with sessionmaker() as session:
                valid = await authenticate_header(session, header) is not None
        if len(self._tokens) >= TOKEN_CACHE_ENTRIES:
            self._tokens.clear()
        self._tokens[header] = (now, valid)
        return valid

    async def start(self) -> None:
        if self._postgres_dsn is None:
            self.listening.set()
        else:
            self._task = asyncio.create_task(self._listen_forever(self._postgres_dsn))
        if self.sessionmaker is not None:
            self._reader = asyncio.create_task(self._read_forever())

    async def stop(self) -> None:
        for task in (self._task, self._reader):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

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
    client: str = "",
    limit: int | None = None,
) -> AsyncIterator[Change]:
    """Every change after ``after_sequence`` (from now when None), then each new one as it commits.

    Waiting holds no connection: new rows come from the broker's one reader. The log is read here only to
    catch up, a page at a time. Raises TooManySubscriptions when ``client`` has ``limit`` open already.
    """
    async with broker.feed(client, limit) as subscriber:
        catching_up = after_sequence is not None
        if after_sequence is None:
            async with sessionmaker() as session:
                after_sequence = await last_sequence(session)
        delivered = after_sequence
        while True:
            if catching_up or subscriber.overflowed:
                subscriber.overflowed = False
                while True:
                    async with sessionmaker() as session:
                        rows = await changes_after(session, after_sequence=delivered, first=BATCH)
                    for row in rows:
                        delivered = row.sequence
                        if entity_types is None or row.entity_type in entity_types:
                            yield row
                    if len(rows) < BATCH:
                        break
                catching_up = False
            subscriber.ready.clear()
            while subscriber.rows:
                row = subscriber.rows.popleft()
                if row.sequence <= delivered:  # read already while catching up
                    continue
                delivered = row.sequence
                if entity_types is None or row.entity_type in entity_types:
                    yield row
            if not subscriber.overflowed:
                await subscriber.ready.wait()
