"""Resolving Relay nodes by the key inside their global id, through a request's loaders."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Hashable, Iterable
from typing import Any, TypeVar

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.extensions import FieldExtension
from strawberry.relay import GlobalID, GlobalIDValueError
from strawberry.types.base import StrawberryObjectDefinition

from app.services.pagination import parse_key
from schema.context import Info
from schema.errors import bad_input
from schema.permissions import CanRead

K = TypeVar("K", bound=Hashable)
N = TypeVar("N")


async def load_nodes(
    info: Info, loader: DataLoader[K, Any], keys: Iterable[K], from_row: Callable[[Any], N]
) -> list[N | None]:
    """The nodes for ``keys``, in order; None where no row has that key.

    ``node``/``nodes`` come here for every type, so the read permission is checked here (a permission
    class on Strawberry's relay node field would keep it from resolving the concrete type).
    """
    await CanRead().has_permission(None, info)
    rows = await loader.load_many(list(keys))
    return [None if row is None else from_row(row) for row in rows]


def integer_keys(node_ids: Iterable[str]) -> list[int]:
    """Primary keys from node ids; one that is not a key (not ASCII digits, or out of the column's range)
    matches nothing (-1)."""
    return [-1 if (key := parse_key(node_id)) is None else key for node_id in node_ids]


def reference_key(type_name: str, key: str, representation: dict[str, Any]) -> str:
    """The key of a federation representation (``{"__typename": "Initiative", "slug": ...}``).

    A gateway may send more fields than the key (those of ``@requires``, say): they are ignored. A key that
    is missing or not a string is the caller's mistake, answered as such.
    """
    value = representation.get(key)
    if not isinstance(value, str):
        raise bad_input(
            "representations",
            f"a representation of {type_name} needs its key `{key}`, a string (got {value!r:.50})",
        )
    return value


class ConcreteNodeIds(FieldExtension):
    """For ``node`` and ``nodes``: an id must name an object type, not an interface.

    Strawberry's relay accepts ``Node:…`` and ``Participant:…`` (interfaces are Node types too) and then calls
    their ``resolve_nodes``, which interfaces do not have: an internal error. No id this API hands out names
    an interface, so such an id is refused like any id that is not this API's (``BAD_USER_INPUT``, see
    :func:`schema.errors.classify`).
    """

    def resolve(self, next_: Callable[..., Any], source: Any, info: strawberry.Info, **kwargs: Any) -> Any:
        _check_concrete(info, kwargs)
        return next_(source, info, **kwargs)

    async def resolve_async(
        self, next_: Callable[..., Any], source: Any, info: strawberry.Info, **kwargs: Any
    ) -> Any:
        _check_concrete(info, kwargs)
        result = next_(source, info, **kwargs)
        return await result if inspect.isawaitable(result) else result


def _check_concrete(info: strawberry.Info, arguments: dict[str, Any]) -> None:
    ids = [arguments["id"]] if "id" in arguments else list(arguments.get("ids") or [])
    for global_id in ids:
        if not isinstance(global_id, GlobalID):
            continue
        definition = info.schema.get_type_by_name(global_id.type_name)
        if isinstance(definition, StrawberryObjectDefinition) and definition.is_interface:
            raise GlobalIDValueError(
                f"`{global_id.type_name}` is an interface; an id names an object of a type that implements it"
            )
