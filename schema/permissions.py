"""Who may do what: every mutation needs a write token; reads are public unless a setting says otherwise."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError
from strawberry.permission import BasePermission

from schema.context import Info
from schema.errors import FORBIDDEN, UNAUTHENTICATED

_HOW = "stuur `Authorization: Bearer <token>` mee, met een token van `veerkracht token create`"


def unauthenticated(info: Info, need: str) -> GraphQLError:
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
