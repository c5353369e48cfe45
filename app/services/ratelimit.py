"""Rate limits by query cost: per token, and per client address for callers without one.

Counted with the ``limits`` library's sliding-window counter, whose cost is one counter update per
operation whatever its cost (its moving window would store one entry per unit of cost). The counters live in
Redis when ``VEERKRACHT_REDIS_URL`` is set, so that every instance of the service draws on one budget per
caller; otherwise in this process's memory.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string
from redis.asyncio import ConnectionPool

from app.services.tokens import Identity
from app.settings import Settings

log = logging.getLogger(__name__)


def client_address(request: Any, *, trust_forwarded_for: bool) -> str:
    """The caller's network address: the connection's peer, or behind a trusted proxy the address that
    proxy appended to ``X-Forwarded-For`` (the last entry: earlier ones are whatever the client sent)."""
    if request is None:
        return "unknown"
    if trust_forwarded_for:
        forwarded = [part.strip() for part in request.headers.get("x-forwarded-for", "").split(",")]
        if forwarded[-1]:
            return str(forwarded[-1])
    client = getattr(request, "client", None)
    return str(client.host) if client is not None else "unknown"


@dataclass(frozen=True)
class Refusal:
    retry_after: int
    """Whole seconds until the caller's budget allows this operation again (at least 1)."""
    limit: int
    caller_kind: str


class RateLimiter:
    def __init__(self, settings: Settings) -> None:
        storage: Storage
        self._pool: ConnectionPool | None = None
        if settings.redis_url:
            scheme, _, rest = settings.redis_url.partition("://")
            # Our own pool, so that shutdown can close it; short socket timeouts, so that when Redis is
            # down requests fail open quickly instead of waiting on it.
            self._pool = ConnectionPool.from_url(
                settings.redis_url, socket_connect_timeout=0.5, socket_timeout=0.5
            )
            found = storage_from_string(
                f"async+{scheme}://{rest}",
                implementation="redispy",
                key_prefix=settings.redis_key_prefix,
                connection_pool=self._pool,  # type: ignore[arg-type]
            )
            assert isinstance(found, Storage)
            storage = found
        else:
            storage = MemoryStorage()
        self.storage = storage
        self.shared = settings.redis_url is not None
        self.limiter = SlidingWindowCounterRateLimiter(storage)
        self.per_token = RateLimitItemPerMinute(settings.rate_limit_per_minute, namespace="veerkracht")
        self.per_address = RateLimitItemPerMinute(
            settings.anonymous_rate_limit_per_minute, namespace="veerkracht"
        )
        self._last_warning = 0.0

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()

    async def charge(
        self, request: Any, identity: Identity | None, cost: int, *, trust_forwarded_for: bool
    ) -> Refusal | None:
        """Charge ``cost`` to the caller: its token, or without one its address."""
        if identity is not None:
            return await self.spend(identity.name, anonymous=False, cost=cost)
        address = client_address(request, trust_forwarded_for=trust_forwarded_for)
        return await self.spend(address, anonymous=True, cost=cost)

    async def spend(self, caller: str, *, anonymous: bool, cost: int) -> Refusal | None:
        """Charge ``cost`` to ``caller``'s budget; a :class:`Refusal` when it does not allow it.

        An operation costs at least 1, and at most the whole budget (so that one maximal query, allowed by
        ``max_query_cost``, is possible once a minute rather than never). When Redis cannot be reached the
        operation is allowed and a warning logged (at most once a minute): the limits protect the service,
        they should not take it down with them.
        """
        item = self.per_address if anonymous else self.per_token
        charge = min(max(cost, 1), item.amount)
        key = f"{'address' if anonymous else 'token'}:{caller}"
        try:
            if await self.limiter.hit(item, key, cost=charge):
                return None
            stats = await self.limiter.get_window_stats(item, key)
        except Exception as exc:  # redis' ConnectionError, TimeoutError, ...
            now = time.monotonic()
            if now - self._last_warning > 60:
                self._last_warning = now
                log.warning("rate limiting is off: its storage failed (%s: %s)", type(exc).__name__, exc)
            return None
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        return Refusal(
            retry_after=retry_after, limit=item.amount, caller_kind="address" if anonymous else "token"
        )
