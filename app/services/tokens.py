"""API tokens: created once and shown once, stored as a hash, revocable.

Tokens are 256 random bits, so a plain SHA-256 of the token is a safe thing to store and to look up by
(no salt or slow hash is needed against guessing a random 256-bit value). The lookup compares hashes,
and the final comparison is constant-time, so response times tell nothing about a token's characters.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utc_now
from app.models import ApiToken
from app.models.enums import TokenScope
from app.services.oidc import OidcVerifier, looks_like_jwt

TOKEN_PREFIX = "vk_"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class TokenError(ValueError):
    """A token operation that cannot be done, with a sentence saying why."""


@dataclass(frozen=True)
class Identity:
    """Who is calling: the name of their token and what it may do."""

    name: str
    scope: TokenScope

    @property
    def can_write(self) -> bool:
        return self.scope is TokenScope.WRITE


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(session: AsyncSession, *, name: str, scope: TokenScope) -> str:
    """Store a new token and return it; it cannot be shown again."""
    if not NAME_PATTERN.match(name):
        raise TokenError(f"{name!r} is not a token name: use letters, digits, '.', '_' or '-' (at most 100)")
    if await session.scalar(select(ApiToken.id).where(ApiToken.name == name)) is not None:
        raise TokenError(f"a token named {name!r} exists already; revoke it or choose another name")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, scope=scope, token_hash=_hash(token), created_at=utc_now()))
    await session.flush()
    return token


async def list_tokens(session: AsyncSession) -> Sequence[ApiToken]:
    return (await session.scalars(select(ApiToken).order_by(ApiToken.name))).all()


async def revoke_token(session: AsyncSession, *, name: str) -> None:
    token = await session.scalar(select(ApiToken).where(ApiToken.name == name))
    if token is None:
        raise TokenError(f"there is no token named {name!r}")
    if token.revoked_at is None:
        token.revoked_at = utc_now()
        await session.flush()


async def authenticate(session: AsyncSession, token: str) -> Identity | None:
    """The identity of a valid, unrevoked token; None for anything else."""
    digest = _hash(token)
    row = await session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.token_hash, digest):
        return None
    return Identity(name=row.name, scope=row.scope)


async def authenticate_header(
    session: AsyncSession | None, authorization: str | None, *, oidc: OidcVerifier | None = None
) -> Identity | None:
    """The identity behind an ``Authorization: Bearer <token>`` header; None when absent or not valid.

    The token is an API token, or, when ``oidc`` is given (OIDC configured), an identity provider's JWT
    (:mod:`app.services.oidc`): the caller is then its ``sub``, with the scope its scope claim grants.
    ``session`` may be None only for a JWT (an API token is looked up in the database).
    """
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    if oidc is not None and not token.startswith(TOKEN_PREFIX) and looks_like_jwt(token):
        verified = await oidc.authenticate(token)
        return None if verified is None else Identity(name=verified[0], scope=verified[1])
    if session is None:
        return None
    return await authenticate(session, token)
