"""The web layer (the roof): the Starlette app, the GraphQL view and its request pipeline, the request
middleware, GraphiQL and the health probes. It may import the schema and everything below it; nothing
below imports it (docs/architecture.md)."""

from app.web.app import create_app, create_app_from_environment

__all__ = ["create_app", "create_app_from_environment"]
