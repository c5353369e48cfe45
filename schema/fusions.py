"""Municipal reorganisations (gemeentelijke herindelingen)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Self

import strawberry
from strawberry import relay

import schema.enums  # noqa: F401  (registers the GraphQL enums)
from app.models import Fusion as FusionRow
from app.models.enums import FusionKind, FusionSide
from schema.context import Info
from schema.nodes import integer_keys, load_nodes
from schema.pagination import CountedConnection
from schema.participants import Municipality
from schema.provenance import Citation, citations_of


@strawberry.type(description="A municipal reorganisation (gemeentelijke herindeling) on a given day.")
class Fusion(relay.Node):
    pk: strawberry.Private[int]
    name: str = strawberry.field(description='"Altena"; "Opheffing Haaren" for a split.')
    kind: FusionKind = strawberry.field(
        description="Merger into a new municipality, or split over existing ones."
    )
    effective_on: dt.date = strawberry.field(description="The first day of the new situation: 2019-01-01.")

    @classmethod
    def from_row(cls, row: FusionRow) -> Self:
        return cls(pk=row.id, name=row.name, kind=row.kind, effective_on=row.effective_on)

    @classmethod
    def resolve_id(cls, root: Self, *, info: Info) -> str:
        return str(root.pk)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await load_nodes(info, info.context.loaders.fusion, integer_keys(node_ids), cls.from_row)

    async def _side(self, info: Info, side: FusionSide) -> list[Municipality]:
        graph = await info.context.loaders.fusion_graph()
        rows = await info.context.loaders.participant.load_many(graph.other_side(self.pk, side))
        return [Municipality.from_row(row) for row in rows]

    @strawberry.field(description="The municipalities that ceased to exist: Aalburg, Werkendam, Woudrichem.")
    async def dissolved_municipalities(self, info: Info) -> list[Municipality]:
        return await self._side(info, FusionSide.DISSOLVED)

    @strawberry.field(
        description="The municipality formed (merger), or those that took over the territory (split)."
    )
    async def resulting_municipalities(self, info: Info) -> list[Municipality]:
        return await self._side(info, FusionSide.RESULTING)

    @strawberry.field(description="Where the reorganisation is recorded.")
    async def sources(self, info: Info) -> list[Citation]:
        return await citations_of(info, "fusion_id", self.pk)


@strawberry.type(name="FusionConnection", description="A page of reorganisations.")
class FusionConnection(CountedConnection[Fusion]):
    pass
