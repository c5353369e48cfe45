"""The ``CompiledReads`` schema extension: compiled root fields run before execution, the rest resolves."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    Visitor,
    visit,
)
from graphql.execution.values import VariableValues, get_variable_values
from sqlalchemy import Select
from strawberry.extensions import SchemaExtension

from app.observability import COMPILED_FALLBACKS, COMPILED_ROOT_FIELDS
from schema.compiled.plan import UNMAPPED_ARGUMENTS, NotCompilable, Planner, RootPlan, plan_root
from schema.compiled.prepared import Lru, bind_statement, fragment
from schema.compiled.run import CompiledRunner, RunFailed

logger = logging.getLogger("veerkracht.compiled")
_UNMAPPED = COMPILED_FALLBACKS.labels("unmapped")
_RESOLVER_ERROR = COMPILED_FALLBACKS.labels("resolver_error")

_PLANS = Lru()
"""(query text, operation name, response key) -> RootPlan, or None when it does not compile."""


def _plan(
    query: str,
    operation: str | None,
    key: str,
    schema: Any,
    fragments: Any,
    nodes: list[FieldNode],
    variables: VariableValues,
    outcomes: tuple[bool, ...],
) -> RootPlan | None:
    def make() -> RootPlan | None:
        try:
            return plan_root(schema, fragments, nodes, variables)
        except NotCompilable:
            return None

    plan: RootPlan | None = _PLANS.get_or((query, operation, key, outcomes), make)
    return plan


_DIRECTED = Lru()
"""query text -> the fields, inline fragments and spreads with directives, in document order."""


def _directed(query: str, document: DocumentNode) -> tuple[Any, ...]:
    """The selections of a document that carry directives (found once per document text)."""

    def make() -> tuple[Any, ...]:
        found: list[Any] = []

        class Finder(Visitor):
            def enter_field(self, node: FieldNode, *_: Any) -> None:
                if node.directives:
                    found.append(node)

            def enter_inline_fragment(self, node: InlineFragmentNode, *_: Any) -> None:
                if node.directives:
                    found.append(node)

            def enter_fragment_spread(self, node: FragmentSpreadNode, *_: Any) -> None:
                if node.directives:
                    found.append(node)

        visit(document, Finder())
        return tuple(found)

    directed: tuple[Any, ...] = _DIRECTED.get_or(query, make)
    return directed


class CompiledReads(SchemaExtension):
    """Answers the query root fields that compile with one SQL statement each (see schema.compiled)."""

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        compiled = await self._compile_and_run()
        if not compiled:
            yield
            return
        document = context.graphql_document
        assert document is not None
        operation, fields = self._operation, self._fields
        if len(compiled) == len(fields):
            context.result = ExecutionResult(data={key: compiled[key] for key in fields})
            yield
            return
        rest = [node for key, nodes in fields.items() if key not in compiled for node in nodes]
        reduced = OperationDefinitionNode(
            operation=operation.operation,
            name=operation.name,
            variable_definitions=operation.variable_definitions,
            directives=operation.directives,
            selection_set=SelectionSetNode(selections=tuple(rest)),
        )
        original = document
        context.graphql_document = type(document)(
            definitions=tuple(reduced if d is operation else d for d in document.definitions)
        )
        try:
            yield
        finally:
            context.graphql_document = original
        result = context.result
        if isinstance(result, ExecutionResult) and result.data is not None:
            data = result.data
            result.data = {key: compiled[key] if key in compiled else data.get(key) for key in fields}

    async def _compile_and_run(self) -> dict[str, orjson.Fragment]:
        context = self.execution_context
        request_context = context.context
        settings = request_context.settings
        document = context.graphql_document
        if (
            not settings.compiled_reads
            or context.result is not None
            or context.pre_execution_errors
            or document is None
        ):
            return {}
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        name = context.operation_name
        operation = next((o for o in operations if name is None or (o.name and o.name.value == name)), None)
        if operation is None or operation.operation is not OperationType.QUERY:
            return {}
        if settings.require_token_for_reads and await request_context.identity() is None:
            return {}
        schema = context.schema._schema
        query_type = schema.query_type
        assert query_type is not None
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        variables = get_variable_values(schema, operation.variable_definitions or (), context.variables or {})
        if not isinstance(variables, VariableValues):
            return {}  # execution reports the variables' errors
        runner: CompiledRunner | None = request_context.compiled
        if runner is None or runner.compiler is None:
            return {}
        query = context.query or ""
        # @include/@skip: the plans hold for this request's outcomes of the document's directives (cached
        # by them); such a document is not a prepared read, whose plans must hold for any variables.
        directed = _directed(query, document)
        planner = Planner(schema, fragments, variables)
        try:
            outcomes = tuple(planner.included(node) for node in directed)
            fields = planner.collect([operation.selection_set], query_type)
        except NotCompilable:
            COMPILED_ROOT_FIELDS.labels("fallback").inc()
            _UNMAPPED.inc()
            return {}
        self._operation, self._fields = operation, fields
        plans: dict[str, RootPlan] = {}
        statements: list[tuple[str, Select[Any], dict[str, Any]]] = []
        for key, nodes in fields.items():
            plan = _plan(query, name, key, schema, fragments, nodes, variables, outcomes)
            if plan is None:
                _UNMAPPED.inc()
                continue
            plans[key] = plan
            try:
                statement, params = bind_statement(plan, variables, runner.compiler, settings.max_page_size)
            except NotCompilable as reason:
                (_UNMAPPED if str(reason) in UNMAPPED_ARGUMENTS else _RESOLVER_ERROR).inc()
                continue
            statements.append((key, statement, params))
        if len(plans) == len(fields) and not directed:
            # Every root field has a plan: later requests for this document may skip the pipeline.
            # Under the name a request may give: the operation's own, or none when it is the only one.
            names = {name, None} if len(operations) == 1 else {name}
            for given in names:
                runner.prepared.add(query, given, operation, fragments, fields, plans)
        compiled: dict[str, orjson.Fragment] = {}
        if statements:
            try:
                async with runner.connect() as connection:
                    for key, statement, params in statements:
                        answer = fragment(await connection.fetch(statement, params), fields[key][0])
                        if answer is not None:
                            compiled[key] = answer
                        else:
                            _RESOLVER_ERROR.inc()
            except RunFailed:
                # Counted and logged where it failed (CompiledRunner.statement_failed, or the checkout).
                compiled = {}
        COMPILED_ROOT_FIELDS.labels("compiled").inc(len(compiled))
        COMPILED_ROOT_FIELDS.labels("fallback").inc(len(fields) - len(compiled))
        return compiled
