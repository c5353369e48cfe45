"""Who may do what: every mutation needs a write token; reads are public unless a setting says otherwise."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)
from strawberry.extensions import SchemaExtension
from strawberry.permission import BasePermission

from schema.context import Info
from schema.errors import FORBIDDEN, UNAUTHENTICATED

_HOW = "stuur `Authorization: Bearer <token>` mee, met een token van `veerkracht token create`"


def unauthenticated(info: Info, need: str) -> GraphQLError:
    return unauthenticated_error(need)


def unauthenticated_error(need: str) -> GraphQLError:
    # Same answer for a missing, unknown, revoked or malformed token: nothing that helps guessing.
    return GraphQLError(f"Aanmelden vereist: {need}; {_HOW}.", extensions={"code": UNAUTHENTICATED})


class CanRead(BasePermission):
    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if info.context.settings.require_token_for_reads and await info.context.identity() is None:
            raise unauthenticated(info, "deze dienst vraagt ook bij lezen om een token")
        return True


class CanWrite(BasePermission):
    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        identity = await info.context.identity()
        if identity is None:
            raise unauthenticated(info, "mutaties vragen om een token met de scope write")
        if not identity.can_write:
            raise GraphQLError(
                "Niet toegestaan: dit token mag alleen lezen; mutaties vragen om een token met de scope write.",
                extensions={"code": FORBIDDEN},
            )
        return True


def _root_fields(
    selection_set: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode], seen: set[str]
) -> Iterator[str]:
    """The names of the root fields an operation selects, through fragments (each fragment once)."""
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection.name.value
        elif isinstance(selection, InlineFragmentNode):
            yield from _root_fields(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            seen.add(selection.name.value)
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                yield from _root_fields(fragment.selection_set, fragments, seen)


class FederationAccess(SchemaExtension):
    """The federation fields behind the same lock as every other read (issue 11).

    ``_entities`` reads data: with ``require_token_for_reads`` it needs a token, as every query field does.
    ``_service { sdl }`` hands out the whole schema, mutations included: it is introspection, so it needs
    a token when reads do, and when introspection is off it is answered only to a token (a gateway's).
    """

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        document = context.graphql_document
        settings = context.context.settings
        if document is not None and context.result is None:
            definitions = document.definitions
            fragments = {d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)}
            name = context.operation_name
            operation = next(
                (
                    d
                    for d in definitions
                    if isinstance(d, OperationDefinitionNode)
                    and (name is None or (d.name is not None and d.name.value == name))
                ),
                None,
            )
            if operation is not None and operation.operation is OperationType.QUERY:
                fields = set(_root_fields(operation.selection_set, fragments, set()))
                need = None
                if "_entities" in fields and settings.require_token_for_reads:
                    need = "this service requires a token for reads"
                elif "_service" in fields and (
                    settings.require_token_for_reads or not settings.introspection
                ):
                    need = "the subgraph schema (`_service`) is given to callers with a token only"
                if need is not None and await context.context.identity() is None:
                    context.result = ExecutionResult(data=None, errors=[unauthenticated_error(need)])
        yield
