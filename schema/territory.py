"""Who takes part on a day, across fusions: `Initiative.participatingMunicipalities(on:)` and its count.

The walk is app.services.territory; here it gets its data from two per-request loaders (the initiatives'
involvements of municipalities, batched over every initiative of the query, and the fusion graph, loaded
once), so the statements depend on the query's shape, not on its rows (tests/test_territory.py pins them).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import strawberry

import schema.enums  # noqa: F401  (registers the GraphQL enums)
from app.models.enums import FusionKind, FusionSide
from app.services.territory import Lifespan, Origin, Participation, Reorganisation, Route, participations
from schema.context import Info
from schema.fusions import Fusion
from schema.initiatives import Involvement
from schema.participants import Municipality, today


@strawberry.type(
    description="One step of a route: on `effectiveOn` the territory of `from` went (all of it in a "
    "MERGER, part of it in a SPLIT) to `to`."
)
class TerritorialStep:
    fusion_pk: strawberry.Private[int]
    from_pk: strawberry.Private[int]
    to_pk: strawberry.Private[int]
    kind: FusionKind = strawberry.field(description="MERGER or SPLIT.")
    effective_on: dt.date = strawberry.field(description="The day it took effect.")
    partial: bool = strawberry.field(
        description="`to` received only part of the territory of `from` (a SPLIT, e.g. Haaren in 2021)."
    )

    @strawberry.field(description="The reorganisation.")
    async def fusion(self, info: Info) -> Fusion:
        return Fusion.from_row(await info.context.loaders.fusion.load(self.fusion_pk))

    @strawberry.field(name="from", description="The municipality that was dissolved.")
    async def from_(self, info: Info) -> Municipality:
        return Municipality.from_row(await info.context.loaders.participant.load(self.from_pk))

    @strawberry.field(description="The municipality that took over (part of) its territory.")
    async def to(self, info: Info) -> Municipality:
        return Municipality.from_row(await info.context.loaders.participant.load(self.to_pk))


@strawberry.type(
    description="How one involvement reaches a municipality of the day: from the municipality the source "
    "names, through the reorganisations since (no steps when the source names the municipality itself)."
)
class TerritorialRoute:
    involvement_pk: strawberry.Private[int]
    origin_pk: strawberry.Private[int]
    steps: list[TerritorialStep] = strawberry.field(
        description="The reorganisations in order, oldest first; empty when the source names it itself."
    )
    through_split: bool = strawberry.field(
        description="A step is a SPLIT: only part of the named municipality's territory lies here."
    )

    @strawberry.field(description="The involvement, as the source records it.")
    async def involvement(self, info: Info) -> Involvement:
        return Involvement.from_row(await info.context.loaders.involvement.load(self.involvement_pk))

    @strawberry.field(description="The municipality the source names (Boxmeer for Land van Cuijk).")
    async def origin(self, info: Info) -> Municipality:
        return Municipality.from_row(await info.context.loaders.participant.load(self.origin_pk))


@strawberry.type(
    description="A municipality that existed on a date and whose territory took part in an initiative, "
    "directly or through the municipalities it was formed from (or, after a split, received territory from)."
)
class TerritorialParticipation:
    municipality_pk: strawberry.Private[int]
    involvement_pks: strawberry.Private[list[int]]
    routes: list[TerritorialRoute] = strawberry.field(
        description="Every way its territory took part: one route per involvement (Land van Cuijk: "
        "Boxmeer's, through the merger of 2022-01-01)."
    )
    direct: bool = strawberry.field(
        description="The source names this municipality itself in one of the involvements."
    )
    through_split: bool = strawberry.field(
        description="It takes part (also) through territory it received in a SPLIT: part of its territory "
        "took part, the rest may not have (Tilburg, Boxtel, Oisterwijk and Vught through Haaren)."
    )

    @strawberry.field(description="The municipality, as it exists on that date.")
    async def municipality(self, info: Info) -> Municipality:
        return Municipality.from_row(await info.context.loaders.participant.load(self.municipality_pk))

    @strawberry.field(
        description="The involvements, as the source records them, that this municipality stands for on "
        "that date."
    )
    async def via(self, info: Info) -> list[Involvement]:
        rows = await info.context.loaders.involvement.load_many(self.involvement_pks)
        return [Involvement.from_row(row) for row in rows]


def _to_graphql(participation: Participation) -> TerritorialParticipation:
    def route(found: Route) -> TerritorialRoute:
        return TerritorialRoute(
            involvement_pk=found.involvement_id,
            origin_pk=found.origin_id,
            steps=[
                TerritorialStep(
                    fusion_pk=step.fusion_id,
                    from_pk=step.from_id,
                    to_pk=step.to_id,
                    kind=step.kind,
                    effective_on=step.effective_on,
                    partial=step.partial,
                )
                for step in found.steps
            ],
            through_split=found.through_split,
        )

    return TerritorialParticipation(
        municipality_pk=participation.municipality_id,
        involvement_pks=participation.involvement_ids,
        routes=[route(found) for found in participation.routes],
        direct=any(not found.steps for found in participation.routes),
        through_split=any(found.through_split for found in participation.routes),
    )


async def participations_of(info: Info, initiative_pk: int, on: dt.date | None) -> list[Participation]:
    """The participations of one initiative on ``on`` (today when None), from two loaders."""
    rows = await info.context.loaders.municipal_involvements.load(initiative_pk)
    if not rows:
        return []
    graph = await info.context.loaders.fusion_graph()
    lifespans: dict[int, Lifespan] = {}
    sides: dict[int, dict[FusionSide, list[int]]] = defaultdict(lambda: defaultdict(list))
    fusions = {}
    for link in graph.links:
        lifespans[link.municipality_id] = Lifespan(link.founded_on, link.dissolved_on)
        sides[link.fusion.id][link.side].append(link.municipality_id)
        fusions[link.fusion.id] = link.fusion
    dissolutions: dict[int, list[Reorganisation]] = defaultdict(list)
    for fusion_id, by_side in sides.items():
        fusion = fusions[fusion_id]
        reorganisation = Reorganisation(
            fusion_id=fusion_id,
            kind=fusion.kind,
            effective_on=fusion.effective_on,
            resulting_ids=tuple(by_side[FusionSide.RESULTING]),
        )
        for municipality_id in by_side[FusionSide.DISSOLVED]:
            dissolutions[municipality_id].append(reorganisation)
    involvement_loader = info.context.loaders.involvement
    for involvement, _, _ in rows:
        involvement_loader.prime(involvement.id, involvement)  # `via` needs no statement of its own
    origins = [
        Origin(involvement.id, involvement.participant_id, Lifespan(founded_on, dissolved_on))
        for involvement, founded_on, dissolved_on in rows
    ]
    return participations(origins, day=on or today(), dissolutions=dissolutions, lifespans=lifespans)


async def participating_municipalities(
    info: Info, initiative_pk: int, on: dt.date | None
) -> list[TerritorialParticipation]:
    return [_to_graphql(found) for found in await participations_of(info, initiative_pk, on)]


async def participating_municipality_count(info: Info, initiative_pk: int, on: dt.date | None) -> int:
    return len(await participations_of(info, initiative_pk, on))
