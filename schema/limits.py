"""Query limits, checked before anything runs: document shape (depth, aliases, fields, repeats), tokens and cost.

Every check here walks the document once: what a fragment contributes is computed once per fragment and
reused at each of its spreads. A walk that expands fragments at every spread is exponential in the
document's size: ``query { ...F0 } fragment F0 on Query { ...F1 ...F1 } ... fragment F21 on Query { ... }``
(866 bytes) took 29 s in Strawberry's QueryDepthLimiter and MaxAliasesLimiter and in the cost function of
before, holding the event loop all that time (issue 11; tests/test_security.py). The shape limits run
before graphql-core's validation, whose OverlappingFieldsCanBeMergedRule is quadratic in the fields one
selection set selects under one response key: 500 copies of one field took 3.3 s to validate (measured on
the development machine), so the number of times a response key may be selected in one selection set
(``max_field_repeats``) and the fields of an operation after its fragments are expanded (``max_fields``)
are limited first, like graphql-js's and GitHub's node limits.

Cost follows GitHub's and Shopify's idea: every connection may return ``first`` items, so the items a query
can touch multiply down nested connections. ``municipalities(first: 100) { involvements(first: 100) }``
costs 100 + 100 x 100 = 10,100. Lists given as arguments (``nodes(ids:)``, ``_entities(representations:)``)
count their length, introspection counts the schema's types, fields and arguments it lists, and every
inline fragment and fragment spread counts whatever its type condition. Variables are coerced first
(defaults applied, ``100.0`` for an ``Int`` is 100), as execution will see them. The cost of each
operation is reported in ``extensions.cost``; above the limit the operation is refused before a single SQL
statement runs.
"""

from __future__ import annotations

import functools
import math
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    value_from_ast,
)
from graphql.execution.values import VariableValues, get_variable_values
from graphql.pyutils import Undefined
from strawberry.extensions import SchemaExtension

from app.observability import RATE_LIMITED as RATE_LIMIT_REJECTIONS
from app.observability import current_request
from schema.errors import bad_input
from schema.pagination import DEFAULT_PAGE_SIZE

QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"
RATE_LIMITED = "RATE_LIMITED"

LIST_ARGUMENTS = frozenset({"ids", "representations"})
"""Arguments whose list length is the number of items a field returns (and is capped)."""
_CAP = 10**15
"""Costs are counted up to this (far above any limit), so that no number grows without bound."""


# ---------------------------------------------------------------------------------------------- shape


@dataclass
class _Shape:
    """What one selection set (with its fragments expanded) amounts to."""

    depth: int = 0
    """Nesting of fields with selections below it, as Strawberry's QueryDepthLimiter counts (a leaf is 0)."""
    aliases: int = 0
    fields: int = 0
    keys: dict[str, int] = field(default_factory=dict)
    """Response key -> how often this selection set selects it (its fragments' and inline fragments' too)."""
    worst_repeat: tuple[str, int] = ("", 0)
    """The response key selected most often in any one selection set below, and how often."""


class _ShapeWalk:
    """One walk of a document; each fragment's shape is computed once (``_shapes``)."""

    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self._shapes: dict[str, _Shape] = {}
        self._open: set[str] = set()

    def fragment(self, name: str) -> _Shape:
        known = self._shapes.get(name)
        if known is not None:
            return known
        definition = self.fragments.get(name)
        if definition is None or name in self._open:  # unknown or cyclic: validation reports it
            return _Shape()
        self._open.add(name)
        shape = self.selection_set(definition.selection_set)
        self._open.discard(name)
        self._shapes[name] = shape
        return shape

    def selection_set(self, selection_set: SelectionSetNode) -> _Shape:
        shape = _Shape()
        keys = shape.keys
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                keys[key] = min(keys.get(key, 0) + 1, _CAP)
                shape.fields = min(shape.fields + 1, _CAP)
                if selection.alias is not None:
                    shape.aliases = min(shape.aliases + 1, _CAP)
                if selection.selection_set is not None:
                    child = self.selection_set(selection.selection_set)
                    shape.depth = max(shape.depth, child.depth + 1)
                    self._add_counts(shape, child)
                continue
            if isinstance(selection, InlineFragmentNode):
                child = self.selection_set(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                child = self.fragment(selection.name.value)
            else:  # pragma: no cover - the grammar has no other selections
                continue
            shape.depth = max(shape.depth, child.depth)
            self._add_counts(shape, child)
            # The fragment's fields are selected in this selection set: their keys add up here.
            for key, count in child.keys.items():
                keys[key] = min(keys.get(key, 0) + count, _CAP)
        for key, count in keys.items():
            if count > shape.worst_repeat[1]:
                shape.worst_repeat = (key, count)
        return shape

    @staticmethod
    def _add_counts(shape: _Shape, child: _Shape) -> None:
        shape.aliases = min(shape.aliases + child.aliases, _CAP)
        shape.fields = min(shape.fields + child.fields, _CAP)
        if child.worst_repeat[1] > shape.worst_repeat[1]:
            shape.worst_repeat = child.worst_repeat


def _many(count: int) -> str:
    return f"{count:,}" if count < _CAP else f"more than {_CAP:,}"


@dataclass(frozen=True)
class ShapeLimits:
    max_depth: int
    max_aliases: int
    max_fields: int
    max_field_repeats: int


def shape_errors(document: DocumentNode, limits: ShapeLimits) -> list[GraphQLError]:
    """The document's operations above ``limits``: one walk, linear in the document's size (0.4 ms for
    the 22-level fragment bomb; not cached, so that no document is kept for it)."""
    definitions = document.definitions
    fragments = {d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)}
    walk = _ShapeWalk(fragments)
    errors: list[GraphQLError] = []
    aliases = 0
    for operation in definitions:
        if not isinstance(operation, OperationDefinitionNode):
            continue
        shape = walk.selection_set(operation.selection_set)
        name = operation.name.value if operation.name else "anonymous"
        aliases += shape.aliases
        if shape.depth > limits.max_depth:
            # Strawberry's QueryDepthLimiter's message, which clients may already look for.
            errors.append(
                GraphQLError(f"'{name}' exceeds maximum operation depth of {limits.max_depth}", operation)
            )
        if shape.fields > limits.max_fields:
            errors.append(
                GraphQLError(
                    f"'{name}' selects {_many(shape.fields)} fields once its fragments are expanded, more than "
                    f"the limit of {limits.max_fields:,}. Spread each fragment fewer times, or ask for less.",
                    operation,
                )
            )
        key, repeats = shape.worst_repeat
        if repeats > limits.max_field_repeats:
            errors.append(
                GraphQLError(
                    f"'{name}' selects `{key}` {_many(repeats)} times in one selection set (with its fragments), "
                    f"more than the limit of {limits.max_field_repeats:,}. Select each field once.",
                    operation,
                )
            )
    if aliases > limits.max_aliases:
        # Strawberry's MaxAliasesLimiter's message.
        errors.append(GraphQLError(f"{aliases} aliases found. Allowed: {limits.max_aliases}"))
    return errors


# ----------------------------------------------------------------------------------------------- cost


@dataclass(frozen=True)
class _IntrospectionSizes:
    """How many items each list of the introspection schema holds, on average, in this schema."""

    lists: Mapping[tuple[str, str], int]


@functools.lru_cache(maxsize=4)
def _introspection_sizes(schema: GraphQLSchema) -> _IntrospectionSizes:
    types = list(schema.type_map.values())

    def average(counts: list[int]) -> int:
        return max(1, math.ceil(sum(counts) / len(counts))) if counts else 1

    with_fields = [t for t in types if isinstance(t, GraphQLObjectType | GraphQLInterfaceType)]
    fields = [f for t in with_fields for f in t.fields.values()]
    inputs = [t for t in types if isinstance(t, GraphQLInputObjectType)]
    enums = [t for t in types if isinstance(t, GraphQLEnumType)]
    return _IntrospectionSizes(
        {
            ("__Schema", "types"): len(types),
            ("__Schema", "directives"): len(schema.directives),
            ("__Type", "fields"): average([len(t.fields) for t in with_fields]),
            ("__Type", "inputFields"): average([len(t.fields) for t in inputs]),
            ("__Type", "enumValues"): average([len(t.values) for t in enums]),
            ("__Type", "interfaces"): average([len(t.interfaces) for t in with_fields]),
            ("__Type", "possibleTypes"): max(
                [len(schema.get_possible_types(t)) for t in types if isinstance(t, GraphQLInterfaceType)]
                or [1]
            ),
            ("__Field", "args"): average([len(f.args) for f in fields]),
            ("__Directive", "args"): average([len(d.args) for d in schema.directives]),
        }
    )


@dataclass
class Cost:
    """An operation's cost, and the list arguments above the cap it found on the way."""

    total: int
    too_long: list[tuple[str, int]]
    """(argument, length) of each list argument longer than the cap."""


class _CostWalk:
    """One walk of an operation. The cost of a selection set is proportional to the number of times it
    runs (its multiplier), so each fragment's cost is computed once, for one run, and multiplied at each
    spread."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        max_list_length: int,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = dict(variables)
        self.max_list_length = max_list_length
        self.sizes = _introspection_sizes(schema)
        self.too_long: list[tuple[str, int]] = []
        self._fragments: dict[str, int] = {}
        self._open: set[str] = set()

    def _first(self, node: FieldNode, definition: Any) -> int:
        argument = definition.args.get("first")
        given = next((a for a in node.arguments or () if a.name.value == "first"), None)
        value = value_from_ast(given.value, argument.type, self.variables) if given and argument else None
        # A variable that does not coerce is reported by execution; meanwhile the default page counts.
        if not isinstance(value, int) or isinstance(value, bool):
            default = argument.default_value if argument else None
            value = (
                default if isinstance(default, int) and not isinstance(default, bool) else DEFAULT_PAGE_SIZE
            )
        return max(value, 0)

    def _list_length(self, node: FieldNode, definition: Any) -> int | None:
        """The length of the field's list argument (``ids``, ``representations``); None if it has none."""
        for given in node.arguments or ():
            name = given.name.value
            argument = definition.args.get(name)
            if name not in LIST_ARGUMENTS or argument is None:
                continue
            value = value_from_ast(given.value, argument.type, self.variables)
            if value is Undefined or value is None:
                continue
            length = len(value) if isinstance(value, list) else 1
            if length > self.max_list_length:
                self.too_long.append((name, length))
            return length
        return None

    def fragment(self, name: str) -> int:
        known = self._fragments.get(name)
        if known is not None:
            return known
        definition = self.fragments.get(name)
        if definition is None or name in self._open:
            return 0
        self._open.add(name)
        condition = self.schema.get_type(definition.type_condition.name.value)
        cost = self.selection_set(definition.selection_set, condition) if condition is not None else 0
        self._open.discard(name)
        self._fragments[name] = cost
        return cost

    def selection_set(self, selection_set: SelectionSetNode, parent: GraphQLNamedType) -> int:
        """The items one run of ``selection_set`` on ``parent`` may touch."""
        total = 0
        fields: Mapping[str, Any] = getattr(parent, "fields", None) or {}
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self._field(selection, parent, fields)
            elif isinstance(selection, InlineFragmentNode):
                # Every type condition counts: a fragment on a union member, or on a type that cannot
                # match, is charged as if it runs.
                condition = (
                    self.schema.get_type(selection.type_condition.name.value)
                    if selection.type_condition
                    else parent
                )
                if condition is not None:
                    total += self.selection_set(selection.selection_set, condition)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value)
        return min(total, _CAP)

    def _field(self, node: FieldNode, parent: GraphQLNamedType, fields: Mapping[str, Any]) -> int:
        name = node.name.value
        if name == "__schema" or name == "__type":
            definition: Any = self.schema.query_type.fields.get(name) if self.schema.query_type else None
            returned: GraphQLNamedType | None = self.schema.get_type(
                "__Schema" if name == "__schema" else "__Type"
            )
            items = 1
        else:
            definition = fields.get(name)
            if definition is None:
                return 0
            returned = get_named_type(definition.type)
            items = 0
            if returned.name.endswith("Connection"):
                items = self._first(node, definition)
            elif _is_list(definition.type):
                length = self._list_length(node, definition)
                items = length if length is not None else self.sizes.lists.get((parent.name, name), 0)
        multiplier = items or 1
        inner = self.selection_set(node.selection_set, returned) if node.selection_set and returned else 0
        return min(items + multiplier * inner, _CAP)


def _is_list(type_: Any) -> bool:
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)


def coerced_variables(
    schema: GraphQLSchema, operation: OperationDefinitionNode, variables: Mapping[str, Any] | None
) -> Mapping[str, Any]:
    """The variables as execution will see them (defaults applied, ``100.0`` for an Int is 100); the raw
    ones when they do not coerce (execution reports that)."""
    try:
        coerced = get_variable_values(schema, operation.variable_definitions or (), dict(variables or {}))
    except RecursionError:  # nested deeper than Python recurses: refused at the door (app/view.py)
        return variables or {}
    return coerced.coerced if isinstance(coerced, VariableValues) else (variables or {})


def measure(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any] | None,
    *,
    max_list_length: int,
) -> Cost:
    """The cost of ``operation``: one walk, each fragment costed once."""
    root = {
        "query": schema.query_type,
        "mutation": schema.mutation_type,
        "subscription": schema.subscription_type,
    }[operation.operation.value]
    if root is None:
        return Cost(0, [])
    walk = _CostWalk(schema, fragments, coerced_variables(schema, operation, variables), max_list_length)
    total = 1 + walk.selection_set(operation.selection_set, root)
    return Cost(min(total, _CAP), walk.too_long)


def operation_cost(
    schema: GraphQLSchema, operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> int:  # fmt: skip
    """The cost of ``operation`` (what ``extensions.cost.requested`` reports)."""
    return measure(schema, operation, fragments, variables, max_list_length=_CAP).total


# ------------------------------------------------------------------------------------------ extensions


class ConfiguredLimits(SchemaExtension):
    """The document's shape (depth, aliases, expanded fields, repeated fields) and its tokens, with the
    numbers taken from the serving app's settings for each operation (one schema serves every app; a
    federation schema cannot be built twice from the same types).

    The shape is checked before graphql-core's validation runs, and a document above a limit is not
    validated at all (OverlappingFieldsCanBeMergedRule is quadratic in repeated fields).
    """

    def on_operation(self) -> Iterator[None]:
        # What MaxTokensLimiter does: a parser option, so a long document is refused while it is parsed.
        self.execution_context.parse_options["max_tokens"] = (
            self.execution_context.context.settings.max_tokens
        )
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.pre_execution_errors is None:
            settings = context.context.settings
            limits = ShapeLimits(
                settings.max_query_depth,
                settings.max_aliases,
                settings.max_fields,
                settings.max_field_repeats,
            )
            errors = shape_errors(document, limits)
            if errors:
                context.pre_execution_errors = list(errors)
        yield


def _refuse(context: Any, error: GraphQLError) -> None:
    context.result = ExecutionResult(data=None, errors=[error])


class QueryCost(SchemaExtension):
    """Refuses operations above ``settings.max_query_cost``; reports the cost in ``extensions.cost``;
    charges it to the caller's rate limit (429 with ``Retry-After`` when the budget is spent)."""

    cost: int | None = None

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        document = context.graphql_document
        limit = context.context.settings.max_query_cost
        if document is not None:
            definitions = document.definitions
            fragments = {d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)}
            operations = [d for d in definitions if isinstance(d, OperationDefinitionNode)]
            name = context.operation_name
            operation = next(
                (o for o in operations if name is None or (o.name and o.name.value == name)), None
            )
            if operation is not None:
                settings = context.context.settings
                measured = measure(
                    context.schema._schema,
                    operation,
                    fragments,
                    context.variables,
                    max_list_length=settings.max_list_length,
                )
                self.cost = measured.total
                record = current_request.get()
                if record is not None:
                    record.cost = self.cost
                if measured.too_long:
                    argument, length = measured.too_long[0]
                    _refuse(
                        context,
                        bad_input(
                            argument,
                            f"at most {settings.max_list_length:,} items per request (got {length:,}). "
                            "Ask for the rest in further requests.",
                        ),
                    )
                elif self.cost > limit:
                    _refuse(
                        context,
                        GraphQLError(
                            f"Deze query kan {self.cost:,} items raken, meer dan de grens van {limit:,}. "
                            "Vraag kleinere pagina's (`first`) in geneste lijsten, of blader erdoorheen.",
                            extensions={"code": QUERY_TOO_COSTLY, "cost": self.cost, "limit": limit},
                        ),
                    )
                else:
                    await self._charge(self.cost)
        yield

    async def _charge(self, cost: int) -> None:
        """Spend ``cost`` from the caller's budget (its token's, or without one its address's) through the
        request's meter (app/web/pipeline/cost.py), which a request pays only once."""
        context = self.execution_context
        refusal = await context.context.charge(cost)
        if refusal is None:
            return
        RATE_LIMIT_REJECTIONS.labels(refusal.caller_kind).inc()
        response = context.context.response
        if response is not None:  # HTTP (a subscription's websocket has no status to set)
            response.status_code = 429
            response.headers["Retry-After"] = str(refusal.retry_after)
        whose = "dit token" if refusal.caller_kind == "token" else "dit adres"
        _refuse(
            context,
            GraphQLError(
                f"Limiet bereikt: {whose} mag {refusal.limit:,} kosteneenheden per minuut gebruiken en deze "
                f"operatie kost {cost:,}. Probeer het over {refusal.retry_after} s opnieuw.",
                extensions={
                    "code": RATE_LIMITED,
                    "retryAfter": refusal.retry_after,
                    "limitPerMinute": refusal.limit,
                },
            ),
        )

    def get_results(self) -> dict[str, Any]:
        if self.cost is None:
            return {}
        return {
            "cost": {"requested": self.cost, "limit": self.execution_context.context.settings.max_query_cost}
        }
