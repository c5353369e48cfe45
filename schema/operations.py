"""Per-operation policy: what the request log and metrics learn of an operation, introspection, and the
parse and validation caches.

When ``settings.introspection`` is off, introspection queries are refused (graphql-core's
NoSchemaIntrospectionCustomRule) and validation runs with graphql-core's ``hide_suggestions``, so that
"Did you mean ...?" cannot be used to guess the schema field by field. Execution-time messages (a variable
of an unknown enum value, say) carry suggestions too; Strawberry does not pass ``hide_suggestions`` to
execution, so :func:`strip_suggestions` takes them off the finished errors.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    NoSchemaIntrospectionCustomRule,
    SelectionSetNode,
    Visitor,
    parse,
    validate,
    visit,
)
from starlette.websockets import WebSocket
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule
from strawberry.types.graphql import OperationType

from app.caches import BoundedLru, document_bytes
from app.observability import current_request

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


def _source_text(document: DocumentNode) -> str:
    return document.loc.source.body if document.loc is not None else ""


_DOCUMENTS: BoundedLru[tuple[str, tuple[tuple[str, Any], ...]], DocumentNode] = BoundedLru(
    "parse", max_entries=512, max_bytes=64 * 1024 * 1024
)
"""(query text, parser options) -> its parsed document. Documents that do not parse are not kept."""
_VALID: BoundedLru[tuple[int, tuple[Any, ...]], DocumentNode] = BoundedLru(
    "validation", max_entries=512, max_bytes=64 * 1024 * 1024
)
"""(document, validation rules) -> the document, when it validated without errors (failures are not kept).
Keyed by the document's identity, which the parse cache makes stable: hashing a graphql-core node walks
the whole tree."""
_WITHOUT_EMPTY: BoundedLru[int, DocumentNode] = BoundedLru(
    "selection_sets", max_entries=512, max_bytes=64 * 1024 * 1024
)


def _bound(settings: Any) -> None:
    """The byte bound of the document caches, from the serving app's settings."""
    limit = int(getattr(settings, "document_cache_bytes", _DOCUMENTS.max_bytes))
    _DOCUMENTS.max_bytes = _VALID.max_bytes = _WITHOUT_EMPTY.max_bytes = limit


def empty_selection_sets(document: DocumentNode) -> list[GraphQLError]:
    """The spec's grammar asks for at least one selection between braces; graphql-core's parser lets
    ``{}`` through, and Strawberry's depth limiter then failed on it (an internal error, found by
    tests/test_compiled.py's harvest of the suite's queries).

    A document found without any is remembered (the parse cache hands out one object per query text):
    walking the document on every request was 4% of a node lookup's time (pyinstrument)."""
    if _WITHOUT_EMPTY.get(id(document), count=False) is document:
        return []
    visitor = _EmptySelectionSets()
    visit(document, visitor)
    if not visitor.found:
        _WITHOUT_EMPTY.put(id(document), document, document_bytes(_source_text(document)))
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


class CountedParserCache(SchemaExtension):
    """A document's text parsed once per process (with the app's token limit, which applies before any
    parse), counting hits and misses in /metrics. Bounded by entries and bytes (app/caches.py); a text
    that does not parse is not kept: Strawberry parses it again and reports the error.

    Strawberry's ParserCache keeps its cache on the extension instance, and the schema makes a new
    instance for every operation: it never hit. This one is the process's."""

    def __init__(self, maxsize: int = 512) -> None:
        super().__init__()
        _DOCUMENTS.max_entries = maxsize

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        query = context.query
        if query is not None and context.graphql_document is None:
            _bound(getattr(context.context, "settings", None))
            key = (query, tuple(sorted(context.parse_options.items())))
            document = _DOCUMENTS.get(key)
            if document is None:
                try:
                    document = parse(query, **context.parse_options)
                except (GraphQLError, RecursionError):
                    document = None
                else:
                    _DOCUMENTS.put(key, document, document_bytes(query))
            context.graphql_document = document
        yield


class CountedValidationCache(SchemaExtension):
    """A document validated once per set of rules, counting hits and misses in /metrics; only documents
    that validated without errors are remembered. Leaves validation to :class:`OperationPolicy` (or the
    shape limits, schema/limits.py) when that has done it already."""

    def __init__(self, maxsize: int = 512) -> None:
        super().__init__()
        _VALID.max_entries = maxsize

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if context.pre_execution_errors is None and document is not None:
            rules = tuple(context.validation_rules)
            key = (id(document), rules)
            if _VALID.get(key) is document:
                context.pre_execution_errors = []
            else:
                errors = validate_document(context.schema._schema, document, rules)
                if not errors:
                    _VALID.put(key, document, document_bytes(_source_text(document)))
                context.pre_execution_errors = errors
        yield
