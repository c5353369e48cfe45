"""Query limits, checked before anything runs: depth, aliases, tokens (Strawberry's extensions) and cost.

Cost follows GitHub's and Shopify's idea: every connection may return ``first`` items, so the items a query
can touch multiply down nested connections. ``municipalities(first: 100) { involvements(first: 100) }``
costs 100 + 100 x 100 = 10,100. The cost of each operation is reported in ``extensions.cost``; above the
limit the operation is refused before a single SQL statement runs.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

from graphql import (
    ASTValidationRule,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    value_from_ast,
)
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter, SchemaExtension

from app.observability import RATE_LIMITED as RATE_LIMIT_REJECTIONS
from app.observability import current_request
from schema.pagination import DEFAULT_PAGE_SIZE

QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"
RATE_LIMITED = "RATE_LIMITED"


def _first(field: FieldNode, definition: Any, variables: Mapping[str, Any]) -> int:
    argument = definition.args.get("first")
    node = next((a for a in field.arguments or () if a.name.value == "first"), None)
    value = value_from_ast(node.value, argument.type, dict(variables)) if node and argument else None
    # Variables are not coerced yet when the cost is computed: a missing one or one of the wrong type is
    # reported by execution; the cost counts the default page for it meanwhile.
    if not isinstance(value, int) or isinstance(value, bool):
        default = argument.default_value if argument else None
        value = default if isinstance(default, int) else DEFAULT_PAGE_SIZE
    return max(value, 0)


def _cost(
    selection_set: SelectionSetNode,
    parent: GraphQLObjectType | GraphQLInterfaceType,
    multiplier: int,
    schema: GraphQLSchema,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    seen: frozenset[str] = frozenset(),
) -> int:
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            definition = parent.fields.get(selection.name.value)
            if definition is None or selection.selection_set is None:
                continue
            returned = get_named_type(definition.type)
            child_multiplier = multiplier
            if returned.name.endswith("Connection"):
                page = _first(selection, definition, variables)
                total += multiplier * page
                child_multiplier = multiplier * page
            if isinstance(returned, GraphQLObjectType | GraphQLInterfaceType):
                total += _cost(
                    selection.selection_set, returned, child_multiplier, schema, fragments, variables, seen
                )
            else:  # a union: its members' fields come through inline fragments
                for member in getattr(returned, "types", []):
                    total += _cost(
                        selection.selection_set, member, child_multiplier, schema, fragments, variables, seen
                    )
        elif isinstance(selection, InlineFragmentNode):
            condition = (
                schema.get_type(selection.type_condition.name.value) if selection.type_condition else parent
            )
            if isinstance(condition, GraphQLObjectType | GraphQLInterfaceType):
                total += _cost(
                    selection.selection_set, condition, multiplier, schema, fragments, variables, seen
                )
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            fragment = fragments.get(selection.name.value)
            if fragment is None:
                continue
            condition = schema.get_type(fragment.type_condition.name.value)
            if isinstance(condition, GraphQLObjectType | GraphQLInterfaceType):
                inner = seen | {selection.name.value}
                total += _cost(
                    fragment.selection_set, condition, multiplier, schema, fragments, variables, inner
                )
    return total


def operation_cost(
    schema: GraphQLSchema, operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> int:  # fmt: skip
    root = {
        "query": schema.query_type,
        "mutation": schema.mutation_type,
        "subscription": schema.subscription_type,
    }[operation.operation.value]
    if root is None:
        return 0
    return 1 + _cost(operation.selection_set, root, 1, schema, fragments, variables)


@functools.lru_cache(maxsize=8)
def _validation_rules(max_depth: int, max_aliases: int) -> tuple[type[ASTValidationRule], ...]:
    """Strawberry's depth and alias rules for these limits, built once (each build defines new classes)."""
    depth = QueryDepthLimiter(max_depth=max_depth)
    aliases = MaxAliasesLimiter(max_alias_count=max_aliases)
    return (*depth.validation_rules, *aliases.validation_rules)


class ConfiguredLimits(SchemaExtension):
    """Strawberry's QueryDepthLimiter, MaxAliasesLimiter and MaxTokensLimiter, with the numbers taken from
    the serving app's settings for each operation (one schema serves every app; a federation schema cannot
    be built twice from the same types)."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        settings = context.context.settings
        rules = _validation_rules(settings.max_query_depth, settings.max_aliases)
        context.validation_rules = (*context.validation_rules, *rules)
        # What MaxTokensLimiter does: a parser option.
        context.parse_options["max_tokens"] = settings.max_tokens
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
                self.cost = operation_cost(
                    context.schema._schema, operation, fragments, context.variables or {}
                )
                record = current_request.get()
                if record is not None:
                    record.cost = self.cost
                if self.cost > limit:
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
