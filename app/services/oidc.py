"""OpenID Connect access tokens (JWT bearer tokens), accepted next to the API tokens.

Provincial tools sign their users in through an identity provider and call the API with the access token
it issues: ``Authorization: Bearer <JWT>``. A JWT is accepted when

- its signature verifies with a key of the provider's JWKS (``VEERKRACHT_OIDC_JWKS_URL``), found by the
  token's ``kid``, with RS256 or ES256 only (``alg: none``, HS256 and every other algorithm are refused, and
  the algorithm must be the key's own, so an RSA public key can never be used as an HMAC secret);
- ``iss`` is ``VEERKRACHT_OIDC_ISSUER`` and ``aud`` (a string or a list) holds ``VEERKRACHT_OIDC_AUDIENCE``;
- ``exp`` is in the future and ``nbf``, when present, in the past (with ``oidc_leeway_seconds`` of clock
  skew), and ``sub`` is there;
- its scope claim (``VEERKRACHT_OIDC_SCOPE_CLAIM``, default ``scope``: space-separated as OAuth 2.0 writes
  it, or a list) grants ``read`` and/or ``write``.

The caller is then named by its ``sub`` (the actor of its writes in the change feed), with the write scope
when the claim holds ``write``, else read. Anything else is no identity, answered like an unknown API token
(``UNAUTHENTICATED``); the reason is logged for the operator.

The verification is PyJWT's (``jwt.decode`` and ``PyJWKClient``), a well-kept library that does the JOSE
details (key parsing, algorithm binding, claim checks) so that we don't. ``PyJWKClient`` fetches the JWKS,
keeps it for ``oidc_jwks_cache_seconds`` and, for a ``kid`` it does not know (the provider rotated its keys),
fetches it again at once, but at most once per ``oidc_jwks_refetch_seconds``: a flood of tokens with made-up
``kid``s costs the provider one request per interval, not one per token. When the provider cannot be
reached, the keys of its last answer stay trusted (a rotation is picked up once it answers again), and no
new attempt is made until the refetch interval has passed, so requests do not queue behind timeouts. Fetching uses blocking urllib, so it
runs in a worker thread; a key found in the cached set is used on the event loop without one.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from dataclasses import dataclass
from typing import Any

import jwt
from jwt import PyJWK, PyJWKClient

from app.models.enums import TokenScope

log = logging.getLogger("veerkracht.oidc")

ALGORITHMS = ("RS256", "ES256")
MAX_SUBJECT_LENGTH = 100
"""The change log keeps an actor's name in 100 characters; a longer ``sub`` is refused, not cut."""
MAX_KEYS = 50
"""Most keys a JWKS may hold; a provider publishes a handful (current and next), so more is a mistake."""


class TokenRefused(Exception):
    """A JWT that is not accepted; the message says why (for the log, never for the caller)."""


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    audience: str
    jwks_url: str
    scope_claim: str = "scope"
    jwks_cache_seconds: float = 300.0
    jwks_refetch_seconds: float = 30.0
    leeway_seconds: float = 30.0
    timeout_seconds: float = 5.0


def looks_like_jwt(token: str) -> bool:
    """Three base64url parts separated by dots: a JWS compact serialisation (API tokens have no dots)."""
    return token.count(".") == 2


class OidcVerifier:
    """Checks the JWTs of one identity provider; one per configuration, shared by every request."""

    def __init__(self, config: OidcConfig) -> None:
        self.config = config
        self.client = PyJWKClient(
            config.jwks_url,
            cache_jwk_set=True,
            lifespan=config.jwks_cache_seconds,
            cooldown_duration=config.jwks_refetch_seconds,
            timeout=config.timeout_seconds,
        )
        self._last_good: list[PyJWK] = []
        """The keys of the last successful fetch: trusted while the provider cannot be reached."""
        self._failed_at = float("-inf")

    def _cached_key(self, kid: str) -> PyJWK | None:
        """The key with ``kid`` from the cached JWKS, without any I/O; None when not there (or expired)."""
        cache = self.client.jwk_set_cache
        cached = cache.get() if cache is not None else None
        if cached is None:
            return None
        for key in cached.keys:
            if key.key_id == kid and key.public_key_use in ("sig", None):
                return key
        return None

    def _last_good_key(self, kid: str) -> PyJWK | None:
        for key in self._last_good:
            if key.key_id == kid and key.public_key_use in ("sig", None):
                return key
        return None

    async def signing_key(self, kid: str) -> PyJWK:
        key = self._cached_key(kid)
        if key is not None:
            return key
        if time.monotonic() - self._failed_at < self.config.jwks_refetch_seconds:
            # The provider did not answer a moment ago: no new attempt (each would wait for the timeout,
            # one after the other) until the refetch interval has passed; the keys fetched before still count.
            key = self._last_good_key(kid)
            if key is None:
                raise TokenRefused(f"no key for kid {kid!r}, and the JWKS could not be fetched just now")
            return key
        try:
            # Fetches when the cache is empty or stale, or once per refetch interval for an unknown kid.
            key = await asyncio.to_thread(self.client.get_signing_key, kid)
        except jwt.PyJWKClientConnectionError as exc:
            self._failed_at = time.monotonic()
            log.warning("the JWKS at %s could not be fetched: %s", self.config.jwks_url, exc)
            key = self._last_good_key(kid)  # the provider is away: its last keys stay trusted meanwhile
            if key is None:
                raise TokenRefused(
                    f"the JWKS at {self.config.jwks_url} could not be fetched: {exc}"
                ) from None
            return key
        except jwt.PyJWTError as exc:
            raise TokenRefused(f"no key for kid {kid!r}: {exc}") from None
        cache = self.client.jwk_set_cache
        cached = cache.get() if cache is not None else None
        if cached is not None:
            if len(cached.keys) > MAX_KEYS:
                raise TokenRefused(f"the JWKS holds {len(cached.keys)} keys, more than {MAX_KEYS}")
            self._last_good = list(cached.keys)
        return key

    async def claims(self, token: str) -> dict[str, Any]:
        """The verified claims of ``token``; :class:`TokenRefused` for anything not accepted."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise TokenRefused(f"not a JWT: {exc}") from None
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise TokenRefused(f"algorithm {algorithm!r} is not accepted (only {', '.join(ALGORITHMS)})")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRefused("the token names no key (kid)")
        key = await self.signing_key(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=list(ALGORITHMS),
                audience=self.config.audience,
                issuer=self.config.issuer,
                leeway=self.config.leeway_seconds,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise TokenRefused(f"{type(exc).__name__}: {exc}") from None
        return claims

    def scope(self, claims: dict[str, Any]) -> TokenScope:
        granted = claims.get(self.config.scope_claim)
        if isinstance(granted, str):
            scopes = set(granted.split())
        elif isinstance(granted, list) and all(isinstance(s, str) for s in granted):
            scopes = set(granted)
        else:
            raise TokenRefused(f"the claim {self.config.scope_claim!r} is missing or not a string or list")
        if "write" in scopes:
            return TokenScope.WRITE
        if "read" in scopes:
            return TokenScope.READ
        raise TokenRefused(f"the claim {self.config.scope_claim!r} grants neither read nor write")

    async def authenticate(self, token: str) -> tuple[str, TokenScope] | None:
        """The caller's name (``sub``) and scope; None, with the reason logged, when the token is refused."""
        try:
            claims = await self.claims(token)
            subject = claims["sub"]
            if not isinstance(subject, str) or not 0 < len(subject) <= MAX_SUBJECT_LENGTH:
                raise TokenRefused(f"sub must be a string of 1 to {MAX_SUBJECT_LENGTH} characters")
            return subject, self.scope(claims)
        except TokenRefused as exc:
            log.info("bearer JWT refused: %s", exc)
            return None


@functools.lru_cache(maxsize=8)
def verifier_for(config: OidcConfig) -> OidcVerifier:
    """The verifier of a configuration, one per process, so its key cache is shared by every request."""
    return OidcVerifier(config)


def verifier(settings: Any) -> OidcVerifier | None:
    """The verifier the settings configure; None when OIDC is not configured."""
    if not (settings.oidc_issuer and settings.oidc_audience and settings.oidc_jwks_url):
        return None
    return verifier_for(
        OidcConfig(
            issuer=settings.oidc_issuer,
            audience=settings.oidc_audience,
            jwks_url=settings.oidc_jwks_url,
            scope_claim=settings.oidc_scope_claim,
            jwks_cache_seconds=settings.oidc_jwks_cache_seconds,
            jwks_refetch_seconds=settings.oidc_jwks_refetch_seconds,
            leeway_seconds=settings.oidc_leeway_seconds,
        )
    )
