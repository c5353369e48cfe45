"""The per-request context handed to every resolver: database access, loaders, the caller's identity."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.services.ratelimit import Refusal
from app.services.tokens import Identity, authenticate_header
from app.settings import Settings
from schema.loaders import Loaders


class Meter(Protocol):
    """Charges operations to their caller's rate limit (the web layer's, app/web/pipeline/cost.py)."""

    async def charge(self, identity: Identity | None, cost: int) -> Refusal | None: ...


Authenticate = Callable[[async_sessionmaker[AsyncSession], str], Awaitable[Identity | None]]
"""How a credential becomes an identity (the web layer's, app/web/pipeline/identify.py)."""


async def _by_api_token(
    sessionmaker: async_sessionmaker[AsyncSession], authorization: str
) -> Identity | None:
    async with sessionmaker() as session:
        return await authenticate_header(session, authorization)


@dataclass
class Context:
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    request: Any = None
    response: Any = None
    authorization: str | None = None
    """The ``Authorization`` header of an HTTP request."""
    connection_params: dict[str, Any] | None = None
    """A websocket's ``connection_init`` payload; its ``Authorization`` is the token of a subscription."""
    broker: Any = None
    """The app's :class:`app.services.changes.ChangeBroker`."""
    compiled: Any = None
    """The app's :class:`schema.compiled.run.CompiledRunner`: where compiled reads run, and its prepared
    documents; None runs no compiled reads."""
    authenticate: Authenticate = _by_api_token
    """How the caller's credential is checked; the web layer passes its identify stage's."""
    meter: Meter | None = None
    """Where an operation's cost is charged; None charges nothing."""
    on_not_cacheable: Callable[[], None] | None = None
    """Told when an answer must not be stored (the web layer's response cache); see :meth:`not_cacheable`."""
    loaders: Loaders = field(init=False)
    _identity: tuple[Identity | None] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.sessionmaker)

    def token(self) -> str | None:
        """The ``Authorization`` header (HTTP) or connection parameter (websocket); None without one."""
        return self.authorization or str((self.connection_params or {}).get("Authorization") or "") or None

    async def identity(self) -> Identity | None:
        """The caller's token, checked once per request; None when absent, unknown, revoked or malformed.

        A websocket's context lives as long as the socket: there the token is checked again for every
        operation (a token revoked while the socket is open authorises nothing more)."""
        if self._identity is None or self.connection_params is not None:
            header = self.token()
            identity = None
            if header:
                identity = await self.authenticate(self.sessionmaker, header)
            self._identity = (identity,)
        return self._identity[0]

    async def charge(self, cost: int) -> Refusal | None:
        """Charge an operation's ``cost`` to the caller; a Refusal when its budget does not allow it."""
        if self.meter is None:
            return None
        return await self.meter.charge(await self.identity(), cost)

    def not_cacheable(self) -> None:
        """This answer can change without a change-log entry (webhooks: registrations, deliveries), which is
        what the response cache's freshness follows: it must not be stored."""
        if self.on_not_cacheable is not None:
            self.on_not_cacheable()

    def knows_identity(self, identity: Identity | None) -> None:
        """Record the caller's identity, already checked for this request (by the web layer's pipeline)."""
        self._identity = (identity,)


Info: TypeAlias = strawberry.Info[Context, None]
