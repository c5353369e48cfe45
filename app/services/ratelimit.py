"""Rate limits by query cost: per token, and per client address for callers without one.

Counted with the ``limits`` library's sliding-window counter, whose cost is one counter update per
operation whatever its cost (its moving window would store one entry per unit of cost). The counters live in
Redis when ``VEERKRACHT_REDIS_URL`` is set, so that every instance of the service draws on one budget per
caller; otherwise in this process's memory, in :class:`LocalSlidingWindow`: the same counter and the same
arithmetic as ``limits``' on a plain dict. ``limits``' own in-memory storage is asynchronous (an error
wrapper, a lock and an expiry task behind every operation); in the benchmark it cost 11 % of the node
lookup's throughput (bench/README.md, "The prepared read path").
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


class LocalSlidingWindow:
    """``limits``' SlidingWindowCounterRateLimiter over its MemoryStorage, for one process, synchronously.

    Windows are aligned to multiples of their length (as ``limits`` keys them); an operation is allowed when
    ``floor(previous × share of the previous window still inside the sliding window + current) + cost`` is
    within the limit. ``tests/test_ratelimit.py`` checks it against ``limits`` decision by decision.
    """

    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, int, int]] = {}
        """key -> (window number, count in the window before it, count in it)."""
        self._pruned = 0

    def hit(self, key: str, limit: int, window: int, cost: int, now: float) -> float | None:
        """Count ``cost`` for ``key`` and return None, or refuse: the seconds until the budget frees up
        (``limits``' ``get_window_stats(...).reset_time - now``)."""
        number = int(now / window)
        previous, current = 0, 0
        found = self._counts.get(key)
        if found is not None:
            if found[0] == number:
                previous, current = found[1], found[2]
            elif found[0] == number - 1:
                previous = found[2]
        previous_ttl = (1 - (((now - window) / window) % 1)) * window if previous else 0.0
        weighted = previous * previous_ttl / window + current
        if cost > limit or math.floor(weighted) + cost > limit:
            previous_reset = previous_ttl % (window / previous) if previous else math.inf
            current_reset = ((1 - ((now / window) % 1)) * window + window) % window if current else math.inf
            return min(previous_reset, current_reset) if previous or current else 0.0
        self._counts[key] = (number, previous, current + cost)
        if number > self._pruned:  # once per window: forget callers not seen in the last two
            self._pruned = number
            self._counts = {k: v for k, v in self._counts.items() if v[0] >= number - 1}
        return None


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
        self._local = None if self.shared else LocalSlidingWindow()
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
        if self._local is not None:
            now = time.time()
            reset_in = self._local.hit(key, item.amount, item.get_expiry(), charge, now)
            if reset_in is None:
                return None
            return Refusal(
                retry_after=max(1, math.ceil(reset_in)),
                limit=item.amount,
                caller_kind="address" if anonymous else "token",
            )
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
