"""Prepared reads: query documents whose every root field compiles, answered without Strawberry's pipeline.

The first time a query document runs through Strawberry (parsed, validated with the app's limits, its
variables coerced) and every one of its root fields compiles, ``CompiledReads`` records it here under its
text and operation name. A later request with the same text and operation name is answered by the web
layer's request pipeline (app/web/pipeline/, docs/architecture.md) directly: variables coerced, cost computed and charged, statements bound and run on
one connection, the answer put together from the database's JSON. Parsing and validation are skipped: they
depend only on the document, the schema and the app's settings, which were all the same when it was
recorded (the registry belongs to one app). Anything the direct path cannot decide the way the pipeline
would (variables that do not coerce, a cost above the limit, a spent rate limit, arguments a statement
cannot take, a lookup that finds nothing) sends the request down the normal path, which answers it as
always. ``tests/test_compiled.py`` checks that both paths give the same bytes.

Why (bench/README.md, "The prepared read path"): the pipeline costs about 1.7 ms of Python per request on
the bench machine, several times the database's work for a page or a node lookup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from graphql import (
    ArgumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLSchema,
    OperationDefinitionNode,
    VariableNode,
    Visitor,
    visit,
)
from graphql.execution.values import VariableValues
from sqlalchemy import Select

from app.caches import BoundedLru, document_bytes
from schema.compiled.plan import NotCompilable, RootPlan
from schema.compiled.sql import Dialect, bind, bind_root, build
from schema.limits import operation_cost

_MAX_CACHED = 1024
_MAX_BYTES = 64 * 1024 * 1024


def _key_bytes(key: Any) -> int:
    """What an entry is counted as: a query text in its key is counted as the parsed document it keeps
    alive (plans and prepared reads hold the document's nodes; app/caches.py), anything else as 200."""
    parts = key if isinstance(key, tuple) else (key,)
    return 200 + sum(document_bytes(part) for part in parts if isinstance(part, str))


class Lru(BoundedLru[Any, Any]):
    """A least-recently-used map of at most ``_MAX_CACHED`` entries and ``_MAX_BYTES`` bytes (issue 11:
    keyed by query text and bounded by entries only, 1,024 documents of 1 MB could be kept)."""

    def __init__(self) -> None:
        super().__init__("compiled", max_entries=_MAX_CACHED, max_bytes=_MAX_BYTES)

    def get_or(self, key: Any, make: Any) -> Any:
        if key in self:
            return self.get(key, count=False)
        value = make()
        self.put(key, value)
        return value

    def put(self, key: Any, value: Any, size: int | None = None) -> None:
        super().put(key, value, _key_bytes(key) if size is None else size)


_STATEMENTS = Lru()
"""(plan, dialect, argument shapes) -> the statement."""


def bind_statement(
    plan: RootPlan, variables: VariableValues, dialect: Dialect, max_page_size: int
) -> tuple[Select[Any], dict[str, Any]]:
    """The statement for one root field with this request's arguments; NotCompilable when it cannot take them."""
    root = bind_root(plan, variables)
    bound = bind(plan, variables, max_page_size)
    shapes = [b.shape for b in bound]
    statement: Select[Any] | None = _STATEMENTS.get_or(
        (plan, dialect.name, root.shape, tuple(shapes)), lambda: build(dialect, plan, root.shape, shapes)
    )
    if statement is None:
        raise NotCompilable("too deep")
    params = dict(root.params)
    for item in bound:
        params.update(item.params)
    return statement, params


def fragment(text: str | None, node: FieldNode) -> orjson.Fragment | None:
    """A root field's answer from its statement's value: None when the statement found nothing to answer
    with (a filter naming an unknown code or slug; the resolvers say what is wrong). A ``node`` statement
    answers an unknown id with the text null (schema/compiled/sql.py), so NULL means a failed lookup there
    too."""
    return None if text is None else orjson.Fragment(text)


def _pages_by_variable(
    operation: OperationDefinitionNode, fragments: dict[str, FragmentDefinitionNode]
) -> bool:
    """Whether any ``first`` in the operation (or its fragments) is given by a variable."""
    found = False

    class Finder(Visitor):
        def enter_argument(self, node: ArgumentNode, *_args: Any) -> None:
            nonlocal found
            if node.name.value == "first" and isinstance(node.value, VariableNode):
                found = True

    for definition in (operation, *fragments.values()):
        visit(definition, Finder())
    return found


@dataclass(eq=False)
class PreparedRead:
    operation: OperationDefinitionNode
    name: str | None
    """The operation's name (for logs and metrics)."""
    fragments: dict[str, FragmentDefinitionNode]
    fields: tuple[tuple[str, FieldNode, RootPlan], ...]
    """(response key, its (first) field, its plan), in response order."""
    fixed_cost: int | None = None
    """The operation's cost, when it does not depend on variables (no ``first`` given by one)."""
    pages_by_variable: bool = True

    def __post_init__(self) -> None:
        self.pages_by_variable = _pages_by_variable(self.operation, self.fragments)

    def cost(self, schema: GraphQLSchema, variables: dict[str, Any]) -> int:
        """What QueryCost (schema/limits.py) computes for this operation and these variables."""
        if self.fixed_cost is not None:
            return self.fixed_cost
        cost = operation_cost(schema, self.operation, self.fragments, variables)
        if not self.pages_by_variable:
            self.fixed_cost = cost
        return cost


class PreparedReads:
    """The prepared documents of one app, by (query text, operation name)."""

    def __init__(self) -> None:
        self._reads = Lru()

    def get(self, query: str, operation_name: str | None) -> PreparedRead | None:
        read: PreparedRead | None = self._reads.get((query, operation_name), count=False)
        return read

    def add(
        self,
        query: str,
        operation_name: str | None,
        operation: OperationDefinitionNode,
        fragments: dict[str, FragmentDefinitionNode],
        fields: dict[str, list[FieldNode]],
        plans: dict[str, RootPlan],
    ) -> None:
        """Record a document that passed the pipeline's checks and whose every root field has a plan."""
        if (query, operation_name) in self._reads:
            return
        if any(key not in plans for key in fields):
            return
        read = PreparedRead(
            operation=operation,
            name=operation.name.value if operation.name else None,
            fragments=fragments,
            fields=tuple((key, nodes[0], plans[key]) for key, nodes in fields.items()),
        )
        self._reads.put((query, operation_name), read)


__all__ = ["NotCompilable", "PreparedRead", "PreparedReads", "bind_statement", "fragment"]
