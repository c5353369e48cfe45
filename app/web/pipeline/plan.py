"""Stage 3, find or build the plan: how this request will be answered.

Two kinds of plan, decided here and nowhere else:

- a **prepared document** (schema/compiled/prepared.py): a query whose every root field compiled the first
  time Strawberry ran it. Its statements are bound to this request's variables (:func:`bind`) and run
  without Strawberry's parse, validation and execution;
- **Strawberry's pipeline** for everything else: it parses and validates the document, runs it through the
  compiled statements and the resolvers (schema/compiled/extension.py) and, when every root field
  compiled, records a prepared document for the next request with the same text.

Either way the plan says whether the answer may come from, and go into, the response cache
(``document``: the normalised text of a single ``query`` operation). A persisted query's hash has been
turned into its document's text by then (decode.py, :func:`~app.web.pipeline.decode.persisted_document`),
so the plans and the cache are found by the text either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import FieldNode, GraphQLSchema
from graphql.execution.values import VariableValues, get_variable_values
from sqlalchemy import Select

from app.settings import Settings
from app.web.cache import ResponseCache, cacheable, normalised
from app.web.pipeline.decode import Params
from schema.compiled.plan import NotCompilable
from schema.compiled.prepared import PreparedRead, bind_statement
from schema.compiled.run import CompiledRunner

Statement = tuple[str, FieldNode, Select[Any], dict[str, Any]]
"""A prepared document's root field, bound: (response key, its field, statement, parameters)."""


@dataclass(slots=True)
class Plan:
    prepared: PreparedRead | None
    """The prepared document; None: Strawberry's pipeline answers."""
    document: str | None
    """The normalised document when the answer may be cached (one ``query`` operation, a cache); else None."""
    operation: str | None
    """The operation's name (logs and metrics)."""


def find_plan(
    params: Params, settings: Settings, runner: CompiledRunner | None, cache: ResponseCache | None
) -> Plan:
    """The plan for a decoded request: its prepared document if there is one, else Strawberry's."""
    prepared = None
    if runner is not None and runner.compiler is not None and settings.compiled_reads:
        prepared = runner.prepared.get(params.query, params.operation_name)
    if prepared is not None:
        # A prepared document is a query that parsed: one lookup in normalised()'s memo.
        normal = normalised(params.query, settings.max_tokens) if cache is not None else None
        return Plan(prepared, normal[0] if normal is not None else None, prepared.name)
    found = cacheable(params.query, params.operation_name, settings.max_tokens) if cache is not None else None
    if found is None:
        return Plan(None, None, None)
    return Plan(None, found[0], found[1])


def bind(
    prepared: PreparedRead,
    params: Params,
    schema: GraphQLSchema,
    runner: CompiledRunner,
    settings: Settings,
) -> list[Statement] | None:
    """A prepared document's statements for this request's variables; None when only Strawberry can answer
    (variables that do not coerce, arguments a statement cannot take: it reports or resolves them)."""
    assert runner.compiler is not None
    operation = prepared.operation
    variables = get_variable_values(schema, operation.variable_definitions or (), params.variables)
    if not isinstance(variables, VariableValues):
        return None
    try:
        return [
            (key, node, *bind_statement(plan, variables, runner.compiler, settings.max_page_size))
            for key, node, plan in prepared.fields
        ]
    except NotCompilable:
        return None
