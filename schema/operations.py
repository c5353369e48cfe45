"""Per-operation policy: what the request log and metrics learn of an operation, introspection, and the
parse and validation caches.

When ``settings.introspection`` is off, introspection queries are refused (graphql-core's
NoSchemaIntrospectionCustomRule) and validation runs with graphql-core's ``hide_suggestions``, so that
"Did you mean ...?" cannot be used to guess the schema field by field. Execution-time messages (a variable
of an unknown enum value, say) carry suggestions too; Strawberry does not pass ``hide_suggestions`` to
execution, so :func:`strip_suggestions` takes them off the finished errors.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    NoSchemaIntrospectionCustomRule,
    SelectionSetNode,
    Visitor,
    validate,
    visit,
)
from starlette.websockets import WebSocket
from strawberry.extensions import ParserCache, SchemaExtension, ValidationCache
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule
from strawberry.types.graphql import OperationType

from app.observability import CACHE, current_request

OPERATION_NOT_ALLOWED = "OPERATION_NOT_ALLOWED"
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def strip_suggestions(error: GraphQLError) -> None:
    error.message = _SUGGESTION.sub("", error.message)


class _EmptySelectionSets(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[SelectionSetNode] = []

    def enter_selection_set(self, node: SelectionSetNode, *_args: Any) -> None:
        if not node.selections:
            self.found.append(node)


@functools.lru_cache(maxsize=512)
def empty_selection_sets(document: DocumentNode) -> list[GraphQLError]:
    """The spec's grammar asks for at least one selection between braces; graphql-core's parser lets
    ``{}`` through, and Strawberry's depth limiter then fails on it (an internal error, found by
    tests/test_compiled.py's harvest of the suite's queries).

    Cached per document (the parser cache hands out one object per query text): walking the document on
    every request was 4% of a node lookup's time (pyinstrument)."""
    visitor = _EmptySelectionSets()
    visit(document, visitor)
    return [
        GraphQLError(
            'Syntax Error: Expected Name, found "}": a selection set selects at least one field.', node
        )
        for node in visitor.found
    ]


class OperationPolicy(SchemaExtension):
    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.pre_execution_errors is not None:  # refused already (schema/limits.py: its shape)
            yield
            return
        if isinstance(context.context.request, WebSocket) and context.graphql_document is not None:
            try:
                operation_type = context.operation_type
            except RuntimeError:  # no such operation: validation says so
                operation_type = OperationType.SUBSCRIPTION
            if operation_type is not OperationType.SUBSCRIPTION:
                context.pre_execution_errors = [
                    GraphQLError(
                        "Over a websocket this API answers subscriptions only: send queries and mutations "
                        "with HTTP POST to /graphql.",
                        extensions={"code": OPERATION_NOT_ALLOWED},
                    )
                ]
                yield
                return
        if context.graphql_document is not None:
            # Before any validation rule is built: the depth limiter's fails on an empty selection set.
            empty = empty_selection_sets(context.graphql_document)
            if empty:
                context.pre_execution_errors = list(empty)
                yield
                return
        if not context.context.settings.introspection and context.graphql_document is not None:
            # Validating here (Strawberry skips its own validation when an extension has done it) is the
            # only way to hand graphql-core's `hide_suggestions` to validation.
            rules = (
                *context.validation_rules,
                NoSchemaIntrospectionCustomRule,
                MaybeNullValidationRule,
                OneOfInputValidationRule,
            )
            context.pre_execution_errors = validate(
                context.schema._schema, context.graphql_document, rules, hide_suggestions=True
            )
        yield

    def on_operation(self) -> Iterator[None]:
        yield
        record = current_request.get()
        context = self.execution_context
        if record is not None:
            record.operation = context.operation_name
            try:
                record.operation_type = context.operation_type.value
            except RuntimeError:  # no document: it did not parse
                record.operation_type = None


def _hits(cached: Any) -> int:
    """Hits so far of an ``functools.lru_cache`` function."""
    return int(cached.cache_info().hits)


class CountedParserCache(ParserCache):
    """Strawberry's ParserCache (a document's text parsed once), counting hits and misses in /metrics."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        hits = _hits(self.cached_parse_document)
        context.graphql_document = self.cached_parse_document(context.query, **context.parse_options)
        CACHE.labels("parse", "hit" if _hits(self.cached_parse_document) > hits else "miss").inc()
        yield


class CountedValidationCache(ValidationCache):
    """Strawberry's ValidationCache (a document validated once per set of rules), counting hits and
    misses in /metrics. Leaves validation to :class:`OperationPolicy` when that has done it already (with
    introspection off, validation hides suggestions, which the cache's function cannot)."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.pre_execution_errors is None and context.graphql_document is not None:
            hits = _hits(self.cached_validate_document)
            context.pre_execution_errors = self.cached_validate_document(
                context.schema._schema, context.graphql_document, context.validation_rules
            )
            hit = _hits(self.cached_validate_document) > hits
            CACHE.labels("validation", "hit" if hit else "miss").inc()
        yield
