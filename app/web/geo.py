"""``GET /geo/municipalities.geojson``: the municipalities of a date as GeoJSON, for map libraries.

    /geo/municipalities.geojson?on=2019-06-01&initiative=pilot-altena

An RFC 7946 FeatureCollection (docs/maps.md describes its properties), built by
app/services/geo.py. The same door as a GraphQL read: the same token check (``require_token_for_reads``),
the same rate limit (charged one per municipality served), an ``ETag`` from the data version every committed
write advances (as app/web/cache.py's) and 304 for ``If-None-Match`` with it, without building the body.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from app.services.audit import DATA_VERSION
from app.services.geo import initiative_exists, municipalities_geojson
from app.web.cache import etag
from app.web.pipeline.identify import identify
from schema.participants import today

PATH = "/geo/municipalities.geojson"
MEDIA_TYPE = "application/geo+json"
PARAMETERS = ("on", "initiative")
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
CACHE_CONTROL = "no-cache"
"""Store, but ask again each time (an If-None-Match that the data version answers with 304): a write may
change the answer at any moment."""
MUNICIPALITIES_SERVED = 75
"""What a request is charged against the rate limit: about the municipalities of a date (56 to 66)."""


def _refuse(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return PlainTextResponse(message, status_code=status, headers=headers)


async def municipalities(request: Request) -> Response:
    state = request.app.state
    settings = state.settings
    unknown = sorted(set(request.query_params) - set(PARAMETERS))
    if unknown:
        return _refuse(
            400, f"Unknown parameter(s) {', '.join(unknown)}: this endpoint takes `on` and `initiative`."
        )
    raw_on = request.query_params.get("on")
    try:
        on = dt.date.fromisoformat(raw_on) if raw_on else today()
        if raw_on is not None and len(raw_on) != 10:
            raise ValueError(raw_on)
    except ValueError:
        return _refuse(400, f"`on` must be a date as YYYY-MM-DD (e.g. on=2019-06-01), not {raw_on!r}.")
    initiative = request.query_params.get("initiative") or None
    if initiative is not None and not SLUG.fullmatch(initiative):
        return _refuse(
            400,
            f"`initiative` must be an initiative's slug (lower-case words joined by hyphens, e.g. "
            f"initiative=pilot-altena), not {initiative[:100]!r}.",
        )
    try:
        # The caller, as the GraphQL pipeline identifies it (app/web/pipeline/identify.py).
        caller = await identify(state.sessionmaker, request.headers.get("authorization"), settings)
        identity = caller.identity
        async with state.sessionmaker() as session:
            version = int(await session.scalar(DATA_VERSION) or 0)
            if settings.require_token_for_reads and identity is None:
                return _refuse(
                    401,
                    "Authentication required: this service requires a token for reads; send "
                    "`Authorization: Bearer <token>` with a token from `veerkracht token create`.",
                    {"WWW-Authenticate": "Bearer"},
                )
            limiter = getattr(state, "rate_limiter", None)
            if limiter is not None:
                refusal = await limiter.charge(
                    request, identity, MUNICIPALITIES_SERVED, trust_forwarded_for=settings.trust_forwarded_for
                )
                if refusal is not None:
                    return _refuse(
                        429,
                        f"Rate limit reached: try again in {refusal.retry_after} s.",
                        {"Retry-After": str(refusal.retry_after)},
                    )
            if initiative is not None and not await initiative_exists(session, initiative):
                return _refuse(
                    400,
                    f"No initiative with slug {initiative!r}: see `initiatives {{ nodes {{ slug name }} }}` in "
                    "the GraphQL API for the slugs.",
                )
            material = f"geo\0{on.isoformat()}\0{initiative or ''}\0{caller.access}".encode()
            tag = etag(version, hashlib.sha256(material).hexdigest())
            headers = {"ETag": tag, "Cache-Control": CACHE_CONTROL, "Vary": "Authorization"}
            if request.headers.get("if-none-match") == tag:
                return Response(status_code=304, headers=headers)
            body = await municipalities_geojson(session, on, initiative)
    except (SQLAlchemyError, OSError):
        return _refuse(503, "The database is not available; try again shortly.", {"Retry-After": "5"})
    return Response(body, media_type=MEDIA_TYPE, headers=headers)
