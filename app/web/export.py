"""``GET /export.json`` and ``GET /export.csv.zip``: the bulk data of ``veerkracht export``, over HTTP.

For any valid token (API token or OIDC access token, read or write scope: the data is what the queries
show, only all at once); without one, or with one that does not authenticate, 401. An export reads every
table, so it is charged to the caller's rate limit as one query of the largest allowed cost
(``max_query_cost``). The body is built from one consistent snapshot of the database
(:func:`app.services.transfer.export_database`); ``/export.csv.zip?dialect=excel-nl`` gives the CSV files
as Dutch Excel opens them (``docs/export-format.md``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.services import transfer
from app.services.ratelimit import RateLimiter
from app.services.tokens import Identity
from app.web.pipeline.identify import identify


def _refused(status: int, message: str, code: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]}, status, headers)


async def _caller(request: Request) -> Identity | Response:
    """The caller's identity, or the response that refuses the request."""
    state = request.app.state
    # The pipeline's identify stage: the same check, API token or OIDC JWT, as every other door.
    identity = (
        await identify(state.sessionmaker, request.headers.get("authorization"), state.settings)
    ).identity
    if identity is None:
        return _refused(
            401,
            "Authentication required: the bulk export needs a token (read or write scope); send "
            "`Authorization: Bearer <token>`.",
            "UNAUTHENTICATED",
            {"WWW-Authenticate": 'Bearer realm="veerkracht"'},
        )
    limiter: RateLimiter | None = getattr(state, "rate_limiter", None)
    if limiter is not None:
        refusal = await limiter.spend(identity.name, anonymous=False, cost=state.settings.max_query_cost)
        if refusal is not None:
            return _refused(
                429,
                f"Rate limit: this token's budget is spent; try again in {refusal.retry_after} s.",
                "RATE_LIMITED",
                {"Retry-After": str(refusal.retry_after)},
            )
    return identity


async def _data(request: Request) -> dict[str, Any]:
    return await transfer.export_database(request.app.state.engine)


async def export_json(request: Request) -> Response:
    caller = await _caller(request)
    if isinstance(caller, Response):
        return caller
    # Serialising every row takes a while (0.3 s at 20,000 involvements): off the event loop.
    body = (await asyncio.to_thread(transfer.json_text, await _data(request))).encode()
    return Response(
        body,
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="veerkracht-export.json"'},
    )


async def export_csv_zip(request: Request) -> Response:
    dialect_name = request.query_params.get("dialect", transfer.CsvDialect.PLAIN.value)
    try:
        dialect = transfer.CsvDialect(dialect_name)
    except ValueError:
        choices = ", ".join(d.value for d in transfer.CsvDialect)
        return _refused(400, f"dialect must be one of {choices} (got {dialect_name!r})", "BAD_REQUEST")
    caller = await _caller(request)
    if isinstance(caller, Response):
        return caller
    body = await asyncio.to_thread(transfer.csv_zip, await _data(request), dialect)
    suffix = "" if dialect is transfer.CsvDialect.PLAIN else f"-{dialect.value}"
    return Response(
        body,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="veerkracht-export{suffix}.csv.zip"'},
    )
