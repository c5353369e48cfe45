"""The GraphQL endpoint: Strawberry's ASGI view with our context and GraphiQL page."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from app import graphiql
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
