"""The per-request context handed to every resolver: database access, loaders, the caller's identity."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.services.ratelimit import client_address
from app.services.tokens import Identity, authenticate
from app.settings import Settings
from schema.loaders import Loaders


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
    loaders: Loaders = field(init=False)
    _identity: tuple[Identity | None] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.sessionmaker)

    def client_address(self) -> str:
        """The caller's network address (see :func:`app.services.ratelimit.client_address`)."""
        return client_address(self.request, trust_forwarded_for=self.settings.trust_forwarded_for)

    async def identity(self) -> Identity | None:
        """The caller's token, checked once per request; None when absent, unknown, revoked or malformed."""
        if self._identity is None:
            identity = None
            header = self.authorization or str((self.connection_params or {}).get("Authorization") or "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                async with self.sessionmaker() as session:
                    identity = await authenticate(session, token.strip())
            self._identity = (identity,)
        return self._identity[0]


Info: TypeAlias = strawberry.Info[Context, None]
