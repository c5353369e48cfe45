"""Resolving Relay nodes by the key inside their global id, through a request's loaders."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from schema.context import Info
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
    """Primary keys from node ids; one that is not a number matches nothing (-1)."""
    return [int(node_id) if node_id.isdigit() else -1 for node_id in node_ids]
