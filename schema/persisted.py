"""Trusted documents in the GraphQL pipeline: the request's persisted query is resolved to its document
before parsing (app/services/persisted.py), for every door that runs Strawberry's pipeline (POST, GET and
websocket subscriptions alike)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from strawberry.extensions import SchemaExtension

from app.services.persisted import PERSISTED_QUERY_NOT_FOUND, DocumentRefused, PersistedDocuments


def persisted_documents(context: object) -> PersistedDocuments | None:
    """The app's store, from the request (or websocket) of a resolver context."""
    request = getattr(context, "request", None)
    state = getattr(getattr(request, "app", None), "state", None)
    store = getattr(state, "persisted_documents", None)
    return store if isinstance(store, PersistedDocuments) else None


class TrustedDocuments(SchemaExtension):
    """Resolves ``extensions.persistedQuery`` to the document it names; refuses what may not run."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        store = persisted_documents(context.context)
        if store is not None:
            try:
                context.query = store.resolve(context.query, context.operation_extensions)
            except DocumentRefused as refused:
                response: Any = getattr(context.context, "response", None)
                if (
                    refused.code == PERSISTED_QUERY_NOT_FOUND
                    and response is not None
                    and hasattr(response, "headers")
                ):
                    # As Apollo Server answers it: 200 (clients then send the document), never cached.
                    response.status_code = 200
                    response.headers["Cache-Control"] = "private, no-cache, must-revalidate"
                raise
        yield
