"""Trusted documents in the GraphQL pipeline: the request's persisted query is resolved to its document
before parsing (app/services/persisted.py), for every door that runs Strawberry's pipeline (POST, GET and
websocket subscriptions alike).

A refused request is answered through validation: the operation goes on with the client's own text (or,
without one, a placeholder of an allowed operation type) and a single validation rule that reports the
refusal. That way every transport answers it as a request error in its own terms (an ``errors`` response
over HTTP, an ``error`` message over graphql-transport-ws), which an exception raised here would not get
on the websocket's streaming path.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

from graphql import ASTValidationRule, DocumentNode, GraphQLError, ValidationContext
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from app.services.persisted import PERSISTED_QUERY_NOT_FOUND, DocumentRefused, PersistedDocuments

_PLACEHOLDERS = {
    OperationType.QUERY: "query { __typename }",
    OperationType.MUTATION: "mutation { __typename }",
    OperationType.SUBSCRIPTION: "subscription { __typename }",
}


def persisted_documents(context: object) -> PersistedDocuments | None:
    """The app's store, from the request (or websocket) of a resolver context."""
    request = getattr(context, "request", None)
    state = getattr(getattr(request, "app", None), "state", None)
    store = getattr(state, "persisted_documents", None)
    return store if isinstance(store, PersistedDocuments) else None


@functools.lru_cache(maxsize=256)
def _refusal_rule(message: str, code: str) -> type[ASTValidationRule]:
    """A validation rule that reports this refusal once, on the document (one class per refusal text, so
    that the validation cache, keyed by the rules, keeps refusals apart)."""

    class Refused(ASTValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)

        def enter_document(self, node: DocumentNode, *_args: Any) -> None:
            self.report_error(GraphQLError(message, extensions={"code": code}))

    return Refused


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
                if refused.code == PERSISTED_QUERY_NOT_FOUND and hasattr(response, "headers"):
                    # As Apollo Server answers it: 200 (clients then send the document), never cached.
                    response.status_code = 200
                    response.headers["Cache-Control"] = "private, no-cache, must-revalidate"
                if not context.query:
                    allowed = [t for t in _PLACEHOLDERS if t in set(context.allowed_operations)]
                    context.query = _PLACEHOLDERS[allowed[0] if allowed else OperationType.QUERY]
                context.validation_rules = (_refusal_rule(refused.message, refused.code),)
        yield
