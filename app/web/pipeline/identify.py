"""Stage 2, identify the caller: who sends this request, from its credential, checked once per request.

:func:`authenticate` is the one place a credential becomes an :class:`~app.services.tokens.Identity`:
the pipeline calls it for every HTTP request, and the resolvers' context (schema/context.py) calls it
for a websocket's ``connection_init`` and for any request the pipeline did not identify. Another kind of
credential is added here and nowhere else: an OIDC access token (a JWT, app/services/oidc.py) is, when the
settings configure an identity provider.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.services.oidc import OidcVerifier, looks_like_jwt, verifier
from app.services.tokens import Identity, authenticate_header
from app.settings import Settings
from schema.context import Authenticate


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


async def authenticate(
    sessionmaker: async_sessionmaker[AsyncSession], authorization: str, *, oidc: OidcVerifier | None = None
) -> Identity | None:
    """The identity behind a credential (``Authorization: Bearer <API token or OIDC JWT>``); None when not
    valid. ``oidc``: the identity provider's verifier when OIDC is configured (app/services/oidc.py)."""
    if oidc is not None and looks_like_jwt(authorization.partition(" ")[2].strip()):
        # A JWT is checked against the provider's keys: no database session is needed.
        return await authenticate_header(None, authorization, oidc=oidc)
    async with sessionmaker() as session:
        return await authenticate_header(session, authorization, oidc=oidc)


def authenticator(settings: Settings) -> Authenticate:
    """:func:`authenticate` with the settings' OIDC verifier, as the resolvers' context takes it."""
    return functools.partial(authenticate, oidc=verifier(settings))


async def identify(
    sessionmaker: async_sessionmaker[AsyncSession], authorization: str | None, settings: Settings
) -> Caller:
    """The caller of a request with this ``Authorization`` header (no database query without one)."""
    if not authorization:
        return ANONYMOUS
    identity = await authenticate(sessionmaker, authorization, oidc=verifier(settings))
    return Caller(identity=identity, presented=True)
