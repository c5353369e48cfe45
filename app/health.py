"""Liveness (/healthz) and readiness (/readyz) endpoints."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse

from app.migrate import current_revision, head_revision


async def healthz(_request: Request) -> JSONResponse:
    """The process is up (liveness); says nothing about the database."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """The database answers and its schema is at the newest migration (readiness)."""
    head = head_revision()
    try:
        async with request.app.state.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            current = await current_revision(connection)
    except (SQLAlchemyError, OSError) as exc:
        return JSONResponse(
            {"status": "unavailable", "database": "unreachable", "error": type(exc).__name__}, status_code=503
        )
    body = {"status": "ready", "database": "ok", "migration": current, "head": head}
    if current != head:
        body["status"] = "migrations pending"
        return JSONResponse(body, status_code=503)
    return JSONResponse(body)
