"""The ASGI application: GraphQL at /graphql (GraphiQL for browsers), /healthz and /readyz."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.routing import Mount, Route, WebSocketRoute

from app import graphiql
from app.db import create_engine, create_sessionmaker
from app.health import healthz, readyz
from app.services.changes import ChangeBroker
from app.settings import Settings
from app.view import GraphQLApp
from schema import schema


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
