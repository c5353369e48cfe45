"""/metrics behind its own lock (issue 11): the Prometheus exposition tells request rates, operation names,
error codes and pool sizes, which a service that requires a token for reads does not hand out.

With ``metrics_token`` set, only ``Authorization: Bearer <metrics_token>`` scrapes; otherwise, when
``require_token_for_reads``, any valid API token does; otherwise /metrics stays public, as before.
"""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import Response

from app.observability import metrics
from app.services.tokens import authenticate_header


async def may_scrape(request: Request) -> bool:
    settings = request.app.state.settings
    authorization = request.headers.get("authorization") or ""
    scheme, _, given = authorization.partition(" ")
    if settings.metrics_token is not None:
        expected = settings.metrics_token.get_secret_value()
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected.encode())
    if settings.require_token_for_reads:
        async with request.app.state.sessionmaker() as session:
            return await authenticate_header(session, authorization) is not None
    return True


async def guarded_metrics(request: Request) -> Response:
    if not await may_scrape(request):
        return Response(
            "Authentication required: send `Authorization: Bearer <token>` (VEERKRACHT_METRICS_TOKEN, or an "
            "API token when the service requires a token for reads).",
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
            media_type="text/plain",
        )
    return await metrics(request)
