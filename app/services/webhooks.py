"""Webhooks: every committed change, POSTed to each endpoint that asked for its type, signed, in order.

The change log is the outbox. Each webhook keeps ``delivered_sequence`` (how far it has got) in the
database; the delivery loop (one per process, started in the app's lifespan) POSTs the next change after
it, and moves it forward in the same transaction that logs the attempt. So delivery is at least once (a
crash between the receiver's answer and that commit sends the change again), in sequence order per
endpoint (the next is sent only once the one before it was accepted), and survives a restart.

Only one loop delivers to a webhook at a time: on PostgreSQL, whichever instance holds the webhook's
advisory lock (``pg_try_advisory_lock``; the others skip it); on SQLite, whichever worker process holds
the webhook's byte-range lock on ``<database>-webhooks.lock``. A failed delivery (no 2xx answer, an error, a timeout) is retried
after ``webhook_backoff_seconds``, doubled on each further failure up to ``webhook_backoff_max_seconds``.

The signature follows Stripe's scheme: header ``Veerkracht-Signature: t=<unix time>,v1=<hex>``, the hex
being HMAC-SHA256 with the webhook's secret over ``"<t>." + body`` (docs/webhooks.md).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import fcntl
import functools
import hashlib
import hmac
import ipaddress
import logging
import os
import secrets
import socket
import time
import urllib.parse
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import orjson
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.db import as_utc, create_engine, create_sessionmaker, utc_now
from app.models import Change, Webhook, WebhookDelivery
from app.services.audit import last_sequence
from app.services.changes import ChangeBroker
from app.services.feed import feed_entry, global_id
from app.services.text import storable
from app.settings import Settings

log = logging.getLogger("veerkracht.webhooks")

SIGNATURE_HEADER = "Veerkracht-Signature"
ENTITY_TYPES = ("Municipality", "Organization", "Initiative", "Involvement", "Fusion", "SourceDocument")
"""What the change log records (app.services.audit), as in ``Change.entityType``."""
MAX_URL = 2000
_ADVISORY_CLASS = 0x5657  # "VW": the first key of the webhooks' advisory locks (the second is the webhook id)
_BATCH = 100
"""Changes read per step of one webhook's queue."""
_CONCURRENCY = 8
"""Webhooks served at once by one process (each holds a database connection while it sends)."""
KEPT_DELIVERIES = 1000
"""Attempts kept in each webhook's delivery log; older ones are dropped as new ones are logged."""
_MAX_ERROR = 500
"""Characters of an error message kept in the delivery log."""


class AddressRefused(Exception):
    """The webhook's host is not an address this service delivers to."""


def signing_secret(key: str, salt: str) -> str:
    """A webhook's secret: derived from the service's key and the webhook's salt (never stored)."""
    digest = hmac.new(key.encode(), f"veerkracht-webhook-secret:{salt}".encode(), hashlib.sha256).digest()
    return "whsec_" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def new_salt() -> str:
    return secrets.token_hex(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Veerkracht-Signature`` header's value for ``body`` sent at ``timestamp`` (Unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def url_problem(url: str, *, allow_private: bool) -> str | None:
    """Why ``url`` cannot be a webhook's, in words a person can act on; None when it can."""
    if len(url) > MAX_URL:
        return f"The URL is longer than {MAX_URL} characters."
    if not storable(url) or any(character.isspace() or not character.isprintable() for character in url):
        return "The URL contains a space or a control character; percent-encode it."
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"{url[:100]!r} is not a URL ({exc})."
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{url[:100]!r} is not an http:// or https:// URL with a host."
    if parts.username or parts.password:
        return "Leave credentials out of the URL; verify deliveries by their signature instead."
    if port == 0:
        return "Port 0 is not a port to deliver to."
    if not allow_private:
        try:
            address = ipaddress.ip_address(parts.hostname)
        except ValueError:
            return None  # a name: checked against what it resolves to, at every delivery
        if not _public(address):
            return (
                f"{parts.hostname} is not a public address; this service delivers only to public ones "
                "(its operators can allow others with VEERKRACHT_WEBHOOK_ALLOW_PRIVATE_ADDRESSES)."
            )
    return None


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


async def _pinned_address(host: str, port: int, *, allow_private: bool) -> str:
    """The address to connect to for ``host``: resolved once, checked, and then used for the connection
    itself (so a name cannot resolve to a public address for the check and a private one for the POST)."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise AddressRefused(f"cannot resolve {host}: {exc}") from exc
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not addresses:
        raise AddressRefused(f"{host} resolves to no address")
    if not allow_private and not all(_public(address) for address in addresses):
        raise AddressRefused(f"{host} resolves to a non-public address; delivery to it is not allowed")
    return str(addresses[0])


@dataclass
class Outcome:
    succeeded: bool
    status_code: int | None
    error: str | None
    duration_ms: int


class WebhookDispatcher:
    """The delivery loop of one process (see the module docstring)."""

    def __init__(self, settings: Settings, broker: ChangeBroker) -> None:
        self.settings = settings
        self.broker = broker
        self._postgres = make_url(settings.database_url).get_backend_name() == "postgresql"
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._running: dict[int, asyncio.Task[bool]] = {}
        self._slots = asyncio.Semaphore(_CONCURRENCY)
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        self._engine: AsyncEngine | None = None
        self._sessionmaker: async_sessionmaker[AsyncSession] | None = None
        self._lock_file: int | None = None
        self._stopping = False

    @property
    def engine(self) -> AsyncEngine:
        assert self._engine is not None, "started"
        return self._engine

    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        assert self._sessionmaker is not None, "started"
        return self._sessionmaker

    async def start(self) -> None:
        if not self.settings.webhook_deliveries:
            return
        # Its own connections, so that deliveries, which wait on receivers, never hold the requests' pool:
        # two kept open; at most two per webhook being served (its lock, its session), _CONCURRENCY at once.
        self._engine = create_engine(
            self.settings.database_url,
            statement_timeout_seconds=self.settings.database_statement_timeout_seconds,
            pool_size=2,
            max_overflow=2 * _CONCURRENCY,
        )
        self._sessionmaker = create_sessionmaker(self._engine)
        database = make_url(self.settings.database_url).database
        if not self._postgres and database and database != ":memory:":
            # Kept open while the loop runs: closing any descriptor of the file drops this process's locks.
            self._lock_file = os.open(f"{database}-webhooks.lock", os.O_RDWR | os.O_CREAT, 0o600)
        self._client = httpx.AsyncClient(
            timeout=self.settings.webhook_timeout_seconds,
            follow_redirects=False,  # a redirect could lead anywhere, private addresses included
            trust_env=False,  # no proxy from the environment: the address check must see the real target
            headers={"User-Agent": "Veerkracht-Webhooks/1"},
        )
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Start no more deliveries; let those under way finish (their answer recorded, so that a restart
        does not send them again), for at most the delivery timeout; then close."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        running = list(self._running.values())
        if running:
            _done, pending = await asyncio.wait(running, timeout=self.settings.webhook_timeout_seconds + 2)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._client is not None:
            await self._client.aclose()
        if self._engine is not None:
            await self._engine.dispose()
        if self._lock_file is not None:
            os.close(self._lock_file)
            self._lock_file = None

    async def _run(self) -> None:
        with self.broker.subscription() as wake:
            while True:
                wake.clear()
                try:
                    pause = await self._start_due()
                except asyncio.CancelledError:
                    raise
                except (OSError, DBAPIError) as exc:
                    # The database is away or not migrated yet: an operator's condition, said in one line
                    # (as the change listener does), not a traceback every poll.
                    log.warning("webhook deliveries wait for the database (%s: %s)", type(exc).__name__, exc)
                    pause = self.settings.change_poll_seconds
                except Exception:
                    log.exception("webhook delivery loop failed; trying again")
                    pause = self.settings.change_poll_seconds
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), timeout=pause)

    async def _start_due(self) -> float:
        """Start serving each webhook that has something due; the seconds until the next retry is due."""
        now = utc_now()
        async with self.sessionmaker() as session:
            head = await last_sequence(session)
            pending = (
                await session.execute(
                    select(Webhook.id, Webhook.next_attempt_at).where(
                        Webhook.active, Webhook.delivered_sequence < head
                    )
                )
            ).all()
        pause = self.settings.change_poll_seconds
        for webhook_id, next_attempt_at in pending:
            if next_attempt_at is not None and as_utc(next_attempt_at) > now:
                pause = min(pause, (as_utc(next_attempt_at) - now).total_seconds())
            elif webhook_id not in self._running:
                task = asyncio.create_task(self._serve(webhook_id))
                self._running[webhook_id] = task
                task.add_done_callback(functools.partial(self._done, webhook_id))
        return max(pause, 0.05)

    def _done(self, webhook_id: int, task: asyncio.Task[bool]) -> None:
        self._running.pop(webhook_id, None)
        if task.cancelled():
            return
        if task.exception() is not None:
            log.error("delivering to webhook %s failed", webhook_id, exc_info=task.exception())
        elif task.result():
            # Look again: more may have committed meanwhile, or a retry fall due. Not when another instance
            # holds the webhook: it delivers, and waking at once would only try its lock again and again.
            self.broker.wake()

    @contextlib.asynccontextmanager
    async def _claim(self, webhook_id: int) -> AsyncIterator[bool]:
        """Whether this process may deliver to the webhook now (and holds it until the block ends)."""
        async with self._locks[webhook_id]:
            if not self._postgres:
                with self._file_lock(webhook_id) as mine:
                    yield mine
                return
            async with self.engine.connect() as connection:
                got = await connection.scalar(
                    text("SELECT pg_try_advisory_lock(:class, :id)"),
                    {"class": _ADVISORY_CLASS, "id": webhook_id},
                )
                await connection.commit()  # a session-level lock: it outlives the transaction
                try:
                    yield bool(got)
                finally:
                    if got:
                        await connection.execute(
                            text("SELECT pg_advisory_unlock(:class, :id)"),
                            {"class": _ADVISORY_CLASS, "id": webhook_id},
                        )
                        await connection.commit()

    @contextlib.contextmanager
    def _file_lock(self, webhook_id: int) -> Iterator[bool]:
        """SQLite: the worker processes of one ``serve --workers N`` share the database file; a byte-range
        lock on a file beside it (byte ``webhook_id``; released by the kernel if the process dies) lets one
        of them deliver to a webhook at a time. Non-blocking: a process that does not get it skips it."""
        if self._lock_file is None:
            yield True
            return
        try:
            fcntl.lockf(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, webhook_id)
        except OSError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.lockf(self._lock_file, fcntl.LOCK_UN, 1, webhook_id)

    async def _serve(self, webhook_id: int) -> bool:
        """Deliver what is due to the webhook; whether this process held it (another may have)."""
        async with self._slots, self._claim(webhook_id) as mine:
            if mine:
                while await self._step(webhook_id):
                    pass
            return mine

    async def _step(self, webhook_id: int) -> bool:
        """Deliver the next batch of the webhook's queue; whether to go on at once."""
        async with self.sessionmaker() as session:
            webhook = await session.get(Webhook, webhook_id)
            if webhook is None or not webhook.active:
                return False
            if webhook.next_attempt_at is not None and as_utc(webhook.next_attempt_at) > utc_now():
                return False
            rows = (
                await session.scalars(
                    select(Change)
                    .where(Change.sequence > webhook.delivered_sequence)
                    .order_by(Change.sequence)
                    .limit(_BATCH)
                )
            ).all()
        if not rows:
            return False
        for row in rows:
            if self._stopping:
                return False
            if webhook.entity_types is not None and row.entity_type not in webhook.entity_types:
                continue  # passed over: the next delivery (or the advance below) moves past it
            outcome = await self._post(webhook, row)
            if not await self._record(webhook, row.sequence, outcome) or not outcome.succeeded:
                return False
        if webhook.delivered_sequence != rows[-1].sequence:  # the rest were of types it did not ask for
            await self._advance(webhook, rows[-1].sequence)
        return len(rows) == _BATCH

    async def _post(self, webhook: Webhook, row: Change) -> Outcome:
        assert self._client is not None
        key = self.settings.webhook_key
        started = time.monotonic()

        def outcome(succeeded: bool, status: int | None, error: str | None) -> Outcome:
            elapsed = round((time.monotonic() - started) * 1000)
            return Outcome(succeeded, status, None if error is None else error[:_MAX_ERROR], elapsed)

        if key is None:
            return outcome(False, None, "the service has no VEERKRACHT_WEBHOOK_KEY to sign with")
        body = orjson.dumps(feed_entry(row))
        secret = signing_secret(key.get_secret_value(), webhook.secret_salt)
        parts = urllib.parse.urlsplit(webhook.url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            address = await _pinned_address(
                host, port, allow_private=self.settings.webhook_allow_private_addresses
            )
        except AddressRefused as exc:
            return outcome(False, None, str(exc))
        literal = f"[{address}]" if ":" in address else address
        target = parts._replace(netloc=f"{literal}:{port}").geturl()
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "Host": parts.netloc.rpartition("@")[2],
            SIGNATURE_HEADER: signature(secret, timestamp, body),
            "Veerkracht-Webhook-Id": global_id("Webhook", webhook.id),
            "Veerkracht-Sequence": str(row.sequence),
        }
        extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
        try:
            response = await self._client.post(target, content=body, headers=headers, extensions=extensions)
        except httpx.TimeoutException:
            return outcome(False, None, f"no answer within {self.settings.webhook_timeout_seconds:g} s")
        except httpx.HTTPError as exc:
            return outcome(False, None, f"{type(exc).__name__}: {exc}")
        succeeded = 200 <= response.status_code < 300
        return outcome(succeeded, response.status_code, None if succeeded else response.text[:200] or None)

    async def _record(self, webhook: Webhook, sequence: int, outcome: Outcome) -> bool:
        """Log the attempt and move the webhook on (or back off); False when the webhook changed meanwhile
        (deleted, or rewound by a redelivery): the loop then reads it afresh."""
        now = utc_now()
        attempt = webhook.failures + 1
        if outcome.succeeded:
            values: dict[str, object] = {
                "delivered_sequence": sequence,
                "failures": 0,
                "next_attempt_at": None,
            }
        else:
            delay = min(
                self.settings.webhook_backoff_seconds * 2 ** (attempt - 1),
                self.settings.webhook_backoff_max_seconds,
            )
            values = {
                "failures": attempt,
                "next_attempt_at": now + dt.timedelta(seconds=delay),
            }
            log.warning(
                "webhook %s: delivery of change %s failed (attempt %s: %s); retrying in %.0f s",
                webhook.id, sequence, attempt, outcome.error or outcome.status_code, delay,
            )  # fmt: skip
        async with self.sessionmaker() as session, session.begin():
            moved = await session.execute(
                update(Webhook)
                .where(Webhook.id == webhook.id, Webhook.delivered_sequence == webhook.delivered_sequence)
                .values(**values)
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                return False
            await session.execute(
                insert(WebhookDelivery).values(
                    webhook_id=webhook.id, sequence=sequence, attempt=attempt, at=now,
                    succeeded=outcome.succeeded, status_code=outcome.status_code, error=outcome.error,
                    duration_ms=outcome.duration_ms,
                )
            )  # fmt: skip
            # Bounded log: the oldest attempts beyond KEPT_DELIVERIES go (the index on (webhook_id, id)
            # finds the cut-off and the rows before it).
            cutoff = (
                select(WebhookDelivery.id)
                .where(WebhookDelivery.webhook_id == webhook.id)
                .order_by(WebhookDelivery.id.desc())
                .offset(KEPT_DELIVERIES)
                .limit(1)
                .scalar_subquery()
            )
            await session.execute(
                delete(WebhookDelivery).where(
                    WebhookDelivery.webhook_id == webhook.id, WebhookDelivery.id <= cutoff
                )
            )
        if outcome.succeeded:
            webhook.delivered_sequence = sequence
        webhook.failures = 0 if outcome.succeeded else attempt
        return True

    async def _advance(self, webhook: Webhook, sequence: int) -> None:
        async with self.sessionmaker() as session, session.begin():
            await session.execute(
                update(Webhook)
                .where(Webhook.id == webhook.id, Webhook.delivered_sequence == webhook.delivered_sequence)
                .values(delivered_sequence=sequence)
            )
