"""The ``CompiledReads`` schema extension: compiled root fields run before execution, the rest resolves."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Hashable
from typing import Any

import orjson
from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)
from graphql.execution.values import VariableValues, get_variable_values
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from strawberry.extensions import SchemaExtension

from app.observability import COMPILED_ROOT_FIELDS
from schema.compiled.plan import NotCompilable, Planner, RootPlan, plan_root
from schema.compiled.sql import DIALECTS, bind, bind_root, build, sqlite_b64, sqlite_cursor

logger = logging.getLogger("veerkracht.compiled")

_MAX_CACHED = 1024


class _Lru(OrderedDict[Hashable, Any]):
    def get_or(self, key: Hashable, make: Any) -> Any:
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = make()
        self[key] = value
        if len(self) > _MAX_CACHED:
            self.popitem(last=False)
        return value


_PLANS = _Lru()
"""(query text, operation name, response key) -> RootPlan, or None when it does not compile."""
_STATEMENTS = _Lru()
"""(plan, dialect, argument shapes) -> the statement."""


def _plan(
    query: str, operation: str | None, key: str, schema: Any, fragments: Any, nodes: list[FieldNode]
) -> RootPlan | None:
    def make() -> RootPlan | None:
        try:
            return plan_root(schema, fragments, nodes)
        except NotCompilable:
            return None

    plan: RootPlan | None = _PLANS.get_or((query, operation, key), make)
    return plan


async def _prepare_sqlite(connection: AsyncConnection) -> None:
    """Register the base64 helpers on this SQLite connection (once per pooled connection)."""
    raw = await connection.get_raw_connection()
    if raw.info.get("veerkracht_base64"):
        return
    driver = raw.driver_connection
    assert driver is not None
    await driver.create_function("vk_b64", 1, sqlite_b64, deterministic=True)
    await driver.create_function("vk_cursor", 1, sqlite_cursor, deterministic=True)
    raw.info["veerkracht_base64"] = True


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
        try:
            fields = Planner(schema, fragments).collect([operation.selection_set], query_type)
        except NotCompilable:
            COMPILED_ROOT_FIELDS.labels("fallback").inc()
            return {}
        self._operation, self._fields = operation, fields
        variables = get_variable_values(schema, operation.variable_definitions or (), context.variables or {})
        if not isinstance(variables, VariableValues):
            return {}  # execution reports the variables' errors
        sessionmaker = request_context.sessionmaker
        dialect = DIALECTS.get(sessionmaker.kw["bind"].dialect.name)
        query = context.query or ""
        statements: list[tuple[str, Any, dict[str, Any]]] = []
        for key, nodes in fields.items():
            plan = _plan(query, name, key, schema, fragments, nodes) if dialect is not None else None
            if plan is None or dialect is None:
                continue
            try:
                root = bind_root(plan, variables)
                bound = bind(plan, variables, settings.max_page_size)
            except NotCompilable:
                continue
            shapes = [b.shape for b in bound]
            statement = _STATEMENTS.get_or(
                (plan, dialect.name, root.shape, tuple(shapes)),
                lambda plan=plan, root=root, shapes=shapes: build(dialect, plan, root.shape, shapes),
            )
            params = dict(root.params)
            for item in bound:
                params.update(item.params)
            statements.append((key, statement, params))
        compiled: dict[str, orjson.Fragment] = {}
        if statements:
            try:
                # A Core connection, not an ORM session: nothing here needs the session's unit of work.
                engine: AsyncEngine = sessionmaker.kw["bind"]
                async with engine.connect() as connection:
                    if dialect is not None and dialect.name == "sqlite":
                        await _prepare_sqlite(connection)
                    for key, statement, params in statements:
                        text = (await connection.execute(statement, params)).scalar()
                        if text is not None:
                            compiled[key] = orjson.Fragment(text)
                        elif fields[key][0].name.value == "node":
                            compiled[key] = orjson.Fragment(b"null")
            except SQLAlchemyError:
                logger.exception("a compiled statement failed; the resolvers answer instead")
                compiled = {}
        COMPILED_ROOT_FIELDS.labels("compiled").inc(len(compiled))
        COMPILED_ROOT_FIELDS.labels("fallback").inc(len(fields) - len(compiled))
        return compiled
