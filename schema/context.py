"""The per-request context handed to every resolver: database access, loaders, the caller's identity."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.services.tokens import Identity, authenticate_header
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
    compiled: Any = None
    """The app's :class:`schema.compiled.run.CompiledRunner`: where compiled reads run, and its prepared
    documents; None runs no compiled reads."""
    loaders: Loaders = field(init=False)
    _identity: tuple[Identity | None] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.sessionmaker)

    async def identity(self) -> Identity | None:
        """The caller's token, checked once per request; None when absent, unknown, revoked or malformed."""
        if self._identity is None:
            header = self.authorization or str((self.connection_params or {}).get("Authorization") or "")
            identity = None
            if header:
                async with self.sessionmaker() as session:
                    identity = await authenticate_header(session, header)
            self._identity = (identity,)
        return self._identity[0]

    def knows_identity(self, identity: Identity | None) -> None:
        """Record the caller's identity, already checked for this request (by the response cache)."""
        self._identity = (identity,)


Info: TypeAlias = strawberry.Info[Context, None]
