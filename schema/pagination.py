"""Connections with ``totalCount`` and ``nodes``, opaque keyset cursors, and the ``first`` limit."""

from __future__ import annotations

import binascii
from base64 import urlsafe_b64decode, urlsafe_b64encode
from collections.abc import Awaitable, Callable, Iterable
from typing import Annotated, Any, Generic, Self

import strawberry
from strawberry import relay
from strawberry.relay.types import NodeType

from app.services.pagination import Page, PageRequest, parse_key
from schema.errors import bad_input

_CURSOR_VERSION = "c1"
DEFAULT_PAGE_SIZE = 50

FirstArg = Annotated[
    int | None,
    strawberry.argument(description="How many items to return: 0 to 100 (default 50)."),
]
AfterArg = Annotated[
    str | None,
    strawberry.argument(description="Continue after this cursor (the `endCursor` of the previous page)."),
]


def encode_cursor(type_name: str, key: int) -> str:
    return urlsafe_b64encode(f"{_CURSOR_VERSION}:{type_name}:{key}".encode()).decode().rstrip("=")


def decode_cursor(type_name: str, cursor: str, *, argument: str = "after") -> int:
    """The key a cursor stands for; a clear error when it is not a cursor of this connection."""
    key = None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        version, cursor_type, text = urlsafe_b64decode(padded.encode()).decode().split(":")
        # Only keys this API can have made: ASCII digits within the key column's range.
        key = parse_key(text) if version == _CURSOR_VERSION else None
    except (ValueError, binascii.Error, UnicodeDecodeError):
        pass
    if key is None:
        raise bad_input(
            argument, f"{cursor!r} is geen cursor van deze API; geef een cursor van een vorige pagina"
        )
    if cursor_type != type_name:
        raise bad_input(argument, f"de cursor hoort bij een lijst van {cursor_type}, niet van {type_name}")
    return key


def page_request(type_name: str, first: int | None, after: str | None, max_page_size: int) -> PageRequest:
    if first is None:
        first = DEFAULT_PAGE_SIZE
    if not 0 <= first <= max_page_size:
        raise bad_input(
            "first",
            f"moet tussen 0 en {max_page_size} liggen (gekregen: {first}); blader met `after` voor meer",
        )
    return PageRequest(first=first, after=None if after is None else decode_cursor(type_name, after))


@strawberry.type(description="A page of a list, with the size of the whole list.")
class CountedConnection(relay.Connection[NodeType], Generic[NodeType]):
    total_count_loader: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many items the whole list holds (all pages, filters applied).")
    async def total_count(self) -> int:
        return await self.total_count_loader()

    @strawberry.field(description="The items of this page, without the edges (a shortcut for `edges.node`).")
    def nodes(self) -> list[NodeType]:
        return [edge.node for edge in self.edges]

    @classmethod
    def from_page(
        cls,
        page: Page,
        nodes: Iterable[Any],
        *,
        type_name: str,
        keys: Iterable[int],
        total_count: Callable[[], Awaitable[int]],
    ) -> Self:
        edges = [
            relay.Edge(cursor=encode_cursor(type_name, key), node=node)
            for node, key in zip(nodes, keys, strict=True)
        ]
        return cls(
            edges=edges,
            page_info=relay.PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=page.has_previous_page,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            total_count_loader=total_count,
        )
