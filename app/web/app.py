"""The ASGI application (the app factory): its routes, middleware and lifespan.

GraphQL at /graphql (GraphiQL for browsers), /healthz, /readyz and /metrics."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, Route, WebSocketRoute

from app.bootstrap import bootstrap_pending, bootstrap_until_done
from app.db import create_engine, create_sessionmaker, session_settings
from app.observability import configure_logging, instrument_engine, release_engine
from app.services.changes import ChangeBroker
from app.services.persisted import PersistedDocuments
from app.services.ratelimit import RateLimiter
from app.services.search import SearchIndexes
from app.services.webhooks import WebhookDispatcher
from app.settings import Settings
from app.web import explorer, export, geo, graphiql
from app.web.cache import ResponseCache
from app.web.health import healthz, readyz
from app.web.metrics import guarded_metrics
from app.web.middleware import RequestMiddleware
from app.web.view import GraphQLApp
from app.web.websockets import WebsocketLimit
from schema import schema
from schema.compiled.run import CompiledRunner
from schema.participants import today


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = create_engine(
            settings.database_url,
            echo=settings.sql_echo,
            statement_timeout_seconds=settings.database_statement_timeout_seconds,
            random_page_cost=settings.database_random_page_cost,
        )
        app.state.settings = settings
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        instrument_engine(engine)
        app.state.compiled_runner = CompiledRunner(
            engine,
            server_settings=session_settings(
                settings.database_statement_timeout_seconds, settings.database_random_page_cost
            ),
        )
        await app.state.compiled_runner.start()
        app.state.rate_limiter = RateLimiter(settings)
        app.state.response_cache = (
            ResponseCache(
                max_entries=settings.response_cache_entries,
                max_bytes=settings.response_cache_bytes,
                today=today,
            )
            if settings.response_cache
            else None
        )
        app.state.persisted_documents = PersistedDocuments.from_settings(settings)
        app.state.search_indexes = SearchIndexes(app.state.sessionmaker)
        app.state.broker = ChangeBroker(
            settings.database_url,
            poll_seconds=settings.change_poll_seconds,
            sessionmaker=app.state.sessionmaker,
        )
        await app.state.broker.start()
        app.state.webhooks = WebhookDispatcher(settings, app.state.broker)
        await app.state.webhooks.start()
        # `serve` found the database unreachable: start serving anyway (/readyz says why it is not ready)
        # and bootstrap in the background once the database answers, instead of failing to start.
        app.state.bootstrap = (
            asyncio.create_task(bootstrap_until_done(settings.database_url)) if bootstrap_pending() else None
        )
        # Everything built so far (the schema, SQLAlchemy's and graphql-core's structures: most of the
        # heap) lives as long as the process: freezing it keeps the garbage collector's full passes,
        # which otherwise walk all of it, short (bench/README.md, "What limits ours now").
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            if app.state.bootstrap is not None:
                app.state.bootstrap.cancel()
                # Already logged by bootstrap_until_done if it failed; shutting down is no time to raise.
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await app.state.bootstrap
            await app.state.webhooks.stop()
            await app.state.broker.stop()
            release_engine(engine)
            await app.state.rate_limiter.close()
            await app.state.compiled_runner.close()
            await engine.dispose()

    graphql = GraphQLApp(schema, graphql_ide="graphiql" if settings.graphiql else None)
    # Strawberry's own cap of operations in flight per socket, above ours per client (schema/changes.py),
    # which answers with a code and a reason.
    graphql.max_subscriptions_per_connection = 2 * settings.max_subscriptions_per_client
    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute(
                "/graphql",
                WebsocketLimit(
                    graphql,
                    max_per_client=settings.max_websockets_per_client,
                    trust_forwarded_for=settings.trust_forwarded_for,
                ),
            ),
            Route(geo.PATH, geo.municipalities, methods=["GET"]),
            *(explorer.routes() if settings.explorer else []),
            Route("/healthz", healthz),
            Route("/export.json", export.export_json, methods=["GET"]),
            Route("/export.csv.zip", export.export_csv_zip, methods=["GET"]),
            Route("/readyz", readyz),
            *([Route("/metrics", guarded_metrics)] if settings.metrics else []),
            *(
                [Mount(graphiql.ASSETS_PATH, graphiql.assets(), name="graphql-assets")]
                if settings.graphiql
                else []
            ),
        ],
        middleware=[
            Middleware(
                RequestMiddleware,
                max_body_bytes=settings.max_body_bytes,
                timeout_seconds=settings.request_timeout_seconds,
            )
        ],
        lifespan=lifespan,
    )


def create_app_from_environment() -> Starlette:
    """Factory for ``uvicorn --factory`` (each worker process reads the environment and sets up its logging)."""
    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    return create_app(settings)
