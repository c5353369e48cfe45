"""The change feed (a query, for paging in commit order) and the live subscription."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncGenerator
from typing import Annotated, Self, cast

import strawberry
from graphql import GraphQLError
from strawberry import relay
from strawberry.scalars import JSON

import schema.enums  # noqa: F401  (registers the GraphQL enums)
from app.db import as_utc
from app.models import Change as ChangeRow
from app.models.enums import ChangeOperation
from app.services.audit import last_sequence
from app.services.changes import TooManySubscriptions, changes_after, follow
from app.services.feed import feed_entry
from app.services.ratelimit import client_address
from schema.context import Info
from schema.errors import UNAUTHENTICATED, bad_input
from schema.pagination import decode_cursor, encode_cursor
from schema.permissions import CanRead

MAX_CHANGES = 1000
TOO_MANY_SUBSCRIPTIONS = "TOO_MANY_SUBSCRIPTIONS"


@strawberry.type(
    description="One committed change, in commit order. Integrations page through these to stay in sync. "
    "It names its object by global id (`node(id: entityId)` fetches it as it is now) and natural key, and "
    "gives its values in the API's terms (`beforeValues`, `afterValues`)."
)
class Change:
    sequence: int = strawberry.field(description="Strictly increasing, with no gaps among committed changes.")
    at: dt.datetime = strawberry.field(description="When it was committed.")
    operation: ChangeOperation = strawberry.field(description="Created, updated or deleted.")
    entity_type: str = strawberry.field(
        description='The type of the object: "Initiative", "Involvement", ...'
    )
    entity_id: strawberry.ID = strawberry.field(
        description="The object's global id (still given after a delete): `node(id:)` fetches it."
    )
    natural_key: str | None = strawberry.field(
        description="The object's natural key: a municipality's CBS code, an initiative's, organisation's or "
        "source document's slug; null for types known by id only (Involvement, Fusion)."
    )
    actor: str = strawberry.field(
        description='Name of the API token that made it ("seed" and "import" for loads).'
    )
    before_values: JSON | None = strawberry.field(
        description="The object's values before (null when created), named as the object's GraphQL fields "
        "are (camelCase; enum values as in the schema; dates and moments in ISO 8601); `id` and references "
        "to other objects (`initiative`, `participant`) are global ids."
    )
    after_values: JSON | None = strawberry.field(
        description="The object's values after (null when deleted), in the same terms as `beforeValues`."
    )
    before: JSON | None = strawberry.field(
        description="The object's stored column values before (null when created): database names and keys.",
        deprecation_reason="Database column names and internal keys; use `beforeValues` (the API's terms).",
    )
    after: JSON | None = strawberry.field(
        description="The object's stored column values after (null when deleted): database names and keys.",
        deprecation_reason="Database column names and internal keys; use `afterValues` (the API's terms).",
    )

    @classmethod
    def from_row(cls, row: ChangeRow) -> Self:
        """The entry as :func:`app.services.feed.feed_entry` renders it (and webhooks send it)."""
        entry = feed_entry(row)
        return cls(
            sequence=entry["sequence"],
            at=as_utc(row.at),
            operation=row.operation,
            entity_type=entry["entityType"],
            entity_id=strawberry.ID(entry["entityId"]),
            natural_key=entry["naturalKey"],
            actor=entry["actor"],
            before_values=cast("JSON", entry["beforeValues"]),
            after_values=cast("JSON", entry["afterValues"]),
            before=cast("JSON", row.before),
            after=cast("JSON", row.after),
        )


@strawberry.type(description="An edge in the change feed.")
class ChangeEdge:
    cursor: str = strawberry.field(
        description="Pass as `after`... or simply use `afterSequence` with the node's sequence."
    )
    node: Change = strawberry.field(description="The change.")


@strawberry.type(description="A page of the change feed, in commit order.")
class ChangeConnection:
    edges: list[ChangeEdge] = strawberry.field(description="The changes with their cursors.")
    page_info: relay.PageInfo = strawberry.field(description="Whether more changes follow.")
    head: int = strawberry.field(
        description="The sequence of the newest committed change (0 when there is none): where a new "
        "integration starts (`afterSequence: head`), after reading what it needs."
    )

    @strawberry.field(description="The changes of this page.")
    def nodes(self) -> list[Change]:
        return [edge.node for edge in self.edges]


async def changes_page(
    info: Info, after_sequence: int | None, first: int | None, after: str | None
) -> ChangeConnection:
    first = 100 if first is None else first
    if not 0 <= first <= MAX_CHANGES:
        raise bad_input("first", f"moet tussen 0 en {MAX_CHANGES} liggen (gekregen: {first})")
    start = after_sequence or 0
    if after is not None:
        start = max(start, decode_cursor("Change", after))
    if start < 0:
        raise bad_input("afterSequence", "mag niet negatief zijn")
    async with info.context.sessionmaker() as session:
        # Two statements may see two commits (READ COMMITTED): `head` is raised to the page's last
        # sequence below, so it is never behind what the page lists.
        head = await last_sequence(session)
        rows = await changes_after(session, after_sequence=start, first=first + 1)
    edges = [
        ChangeEdge(cursor=encode_cursor("Change", row.sequence), node=Change.from_row(row))
        for row in rows[:first]
    ]
    return ChangeConnection(
        head=max(head, rows[-1].sequence if rows else 0),
        edges=edges,
        page_info=relay.PageInfo(
            has_next_page=len(rows) > first,
            has_previous_page=start > 0,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )


@strawberry.type(description="Live updates.")
class Subscription:
    @strawberry.subscription(
        permission_classes=[CanRead],
        description="Every change as it commits, on whichever server instance it was made. Give "
        "`afterSequence` (the last sequence you processed) to resume after a reconnect without missing any.",
    )
    async def changes(
        self,
        info: Info,
        entity_types: Annotated[
            list[str] | None, strawberry.argument(description='Only these types, e.g. ["Initiative"].')
        ] = None,
        after_sequence: Annotated[
            int | None,
            strawberry.argument(
                description="First deliver the logged changes after this sequence, then live ones."
            ),
        ] = None,
    ) -> AsyncGenerator[Change, None]:
        context = info.context
        settings = context.settings
        client = client_address(context.request, trust_forwarded_for=settings.trust_forwarded_for)
        token = context.token()
        try:
            async for row in follow(
                context.sessionmaker,
                context.broker,
                after_sequence=after_sequence,
                entity_types=entity_types,
                client=client,
                limit=settings.max_subscriptions_per_client,
            ):
                # A token revoked while its socket is open stops the feed before the next change.
                if token is not None and not await context.broker.token_valid(
                    context.sessionmaker, token, context.authenticate
                ):
                    raise GraphQLError(
                        "The token of this subscription was revoked or is no longer valid; subscribe again "
                        "with a valid token.",
                        extensions={"code": UNAUTHENTICATED},
                    )
                yield Change.from_row(row)
        except TooManySubscriptions:
            raise GraphQLError(
                f"Too many subscriptions: this address has {settings.max_subscriptions_per_client} open on "
                "this server, the most it may. Complete one first, or follow several entity types in one "
                "subscription (`entityTypes`).",
                extensions={"code": TOO_MANY_SUBSCRIPTIONS},
            ) from None
