"""Stage 4, charge the cost: an operation's cost against its caller's rate limit, once per request.

The cost is known at different moments depending on the plan: a prepared document's before anything runs
(``PreparedRead.cost``, the pipeline's ``_answer_prepared``), a cached answer's from the cache entry, an operation Strawberry runs from its
validated document (``QueryCost`` in schema/limits.py, which charges through the resolvers' context).
Whoever learns it first charges it through the request's :class:`Meter`; an HTTP request is one operation
(batching is off), so a later charge of the same request (a prepared read handed on to Strawberry, a cached
answer over the limit that Strawberry then refuses) gets the first charge's outcome instead of spending the
budget twice. A websocket's meter charges every operation (a connection carries many subscriptions).
"""

from __future__ import annotations

from typing import Any

from app.services.ratelimit import RateLimiter, Refusal
from app.services.tokens import Identity


class Meter:
    """The rate-limit charges of one HTTP request (or of one websocket connection)."""

    __slots__ = ("_outcome", "cost", "limiter", "once", "request", "trust_forwarded_for")

    def __init__(
        self, limiter: RateLimiter | None, request: Any, *, trust_forwarded_for: bool, once: bool
    ) -> None:
        self.limiter = limiter
        self.request = request
        self.trust_forwarded_for = trust_forwarded_for
        self.once = once
        self.cost: int | None = None
        """The cost charged (or asked to be), once known: a cache entry records it."""
        self._outcome: tuple[Refusal | None] | None = None

    async def charge(self, identity: Identity | None, cost: int) -> Refusal | None:
        """Charge ``cost`` to the caller (its token, or without one its address); a Refusal when its budget
        does not allow it. Within one HTTP request only the first charge spends anything."""
        if self._outcome is not None:
            return self._outcome[0]
        self.cost = cost
        if self.limiter is None:
            return None
        refusal = await self.limiter.charge(
            self.request, identity, cost, trust_forwarded_for=self.trust_forwarded_for
        )
        if self.once:
            self._outcome = (refusal,)
        return refusal
