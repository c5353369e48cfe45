"""Stage 2, identify the caller: who sends this request, from its credential, checked once per request.

:func:`authenticate` is the one place a credential becomes an :class:`~app.services.tokens.Identity`:
the pipeline calls it for every HTTP request, and the resolvers' context (schema/context.py) calls it
for a websocket's ``connection_init`` and for any request the pipeline did not identify. Another kind of
credential (an OIDC token, say) is added here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.services.tokens import Identity, authenticate_header


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling."""

    identity: Identity | None
    """The identity behind the credential; None without one, or when it was refused."""
    presented: bool
    """Whether the request carried a credential (``Authorization``)."""

    @property
    def refused(self) -> bool:
        """A credential was presented and did not authenticate: only Strawberry's resolvers answer such a
        request (with their error where one is due), never the prepared path or the cache."""
        return self.presented and self.identity is None

    @property
    def access(self) -> str:
        """The access level an answer depends on: ``anonymous``, ``read`` or ``write`` (a cache key part)."""
        return self.identity.scope.value if self.identity is not None else "anonymous"


ANONYMOUS = Caller(identity=None, presented=False)


async def authenticate(sessionmaker: async_sessionmaker[AsyncSession], authorization: str) -> Identity | None:
    """The identity behind a credential (``Authorization: Bearer <API token>``); None when not valid."""
    async with sessionmaker() as session:
        return await authenticate_header(session, authorization)


async def identify(sessionmaker: async_sessionmaker[AsyncSession], authorization: str | None) -> Caller:
    """The caller of a request with this ``Authorization`` header (no database query without one)."""
    if not authorization:
        return ANONYMOUS
    return Caller(identity=await authenticate(sessionmaker, authorization), presented=True)
