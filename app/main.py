"""The ASGI application: GraphQL at /graphql (GraphiQL for browsers), /healthz and /readyz."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from app import graphiql
from app.db import create_engine, create_sessionmaker
from app.migrate import current_revision, head_revision
from app.services.changes import ChangeBroker
from app.settings import Settings
from schema import schema
from schema.context import Context


class GraphQLApp(GraphQL[Context, None]):
    """Strawberry's ASGI view with our typed per-request context."""

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        state = request.app.state
        return Context(
            settings=state.settings,
            sessionmaker=state.sessionmaker,
            request=request,
            response=response,
            authorization=request.headers.get("authorization"),
            broker=state.broker,
        )

    async def render_graphql_ide(self, request: Request) -> Response:
        """Our GraphiQL page, its assets served from /graphql-assets (Strawberry's own uses a CDN)."""
        return graphiql.graphiql_response()


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


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url, echo=settings.sql_echo)
        app.state.settings = settings
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        app.state.broker = ChangeBroker(settings.database_url, poll_seconds=settings.change_poll_seconds)
        await app.state.broker.start()
        try:
            yield
        finally:
            await app.state.broker.stop()
            await engine.dispose()

    graphql = GraphQLApp(schema, graphql_ide="graphiql" if settings.graphiql else None)
    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            *(
                [Mount(graphiql.ASSETS_PATH, graphiql.assets(), name="graphql-assets")]
                if settings.graphiql
                else []
            ),
        ],
        lifespan=lifespan,
    )


def create_app_from_environment() -> Starlette:
    """Factory for ``uvicorn --factory`` (each worker process reads the environment)."""
    return create_app(Settings())
