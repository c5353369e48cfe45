"""Liveness (/healthz) and readiness (/readyz) endpoints."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse

from app.migrate import current_revision, head_revision

READY_TIMEOUT_SECONDS = 2.0
"""/readyz answers within about this long. A load balancer's probe has a timeout of its own; a probe that
hangs while the database is unreachable says less than a prompt 503 that says why."""


async def healthz(_request: Request) -> JSONResponse:
    """The process is up (liveness); says nothing about the database."""
    return JSONResponse({"status": "ok"})


def _unreachable(error: str) -> JSONResponse:
    return JSONResponse({"status": "unavailable", "database": "unreachable", "error": error}, status_code=503)


async def readyz(request: Request) -> JSONResponse:
    """The database answers, its schema is at the newest migration and the first-start bootstrap is done."""
    head = head_revision()
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            async with request.app.state.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
                current = await current_revision(connection)
    except TimeoutError:
        return _unreachable(f"no answer within {READY_TIMEOUT_SECONDS:g} s")
    except (SQLAlchemyError, OSError) as exc:
        return _unreachable(type(exc).__name__)
    body: dict[str, Any] = {"status": "ready", "database": "ok", "migration": current, "head": head}
    # Set by the app's lifespan when `serve` could not reach the database at start: the bootstrap
    # (migrate, load the bundled data) runs in the background, and until it is done the data may be missing.
    bootstrap: asyncio.Task[None] | None = getattr(request.app.state, "bootstrap", None)
    if bootstrap is not None and not bootstrap.done():
        body["status"] = "bootstrap pending"
        return JSONResponse(body, status_code=503)
    if bootstrap is not None and (bootstrap.cancelled() or bootstrap.exception() is not None):
        body["status"] = "bootstrap failed"
        return JSONResponse(body, status_code=503)
    if current != head:
        body["status"] = "migrations pending"
        return JSONResponse(body, status_code=503)
    return JSONResponse(body)
