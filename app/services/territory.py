"""Who takes part on a given day, across fusions and splits: the territory of a municipality the source
names, followed forward through the reorganisations to the municipalities that hold it on that day.

An involvement stays attached to the municipality the source names (Boxmeer, 2019). On a later day its
territory lies in another municipality (Land van Cuijk, from 2022-01-01): that municipality takes part
"through" Boxmeer. A merged municipality counts once however many of its predecessors took part (Altena
through Aalburg, Werkendam and Woudrichem, and its own involvement); a split (Haaren, 2021) hands the
territory to each municipality that received part of it, and the route says so.

Only forward: on a day before a municipality existed, its own involvement does not make the municipalities
it was later formed from take part (they never did, as far as the source says).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Select, and_, select
from sqlalchemy.orm import aliased

from app.models import Fusion, FusionMunicipality, Involvement, Municipality
from app.models.enums import FusionKind, FusionSide
from app.services.filters import active_on


@dataclass(frozen=True)
class Lifespan:
    founded_on: dt.date | None
    dissolved_on: dt.date | None

    def exists_on(self, day: dt.date) -> bool:
        return (self.founded_on is None or self.founded_on <= day) and (
            self.dissolved_on is None or day < self.dissolved_on
        )


@dataclass(frozen=True)
class Reorganisation:
    """One fusion as the walk needs it."""

    fusion_id: int
    kind: FusionKind
    effective_on: dt.date
    resulting_ids: tuple[int, ...]


@dataclass(frozen=True)
class Step:
    """``to_id`` took over ``from_id``'s territory (all of it in a merger, part of it in a split)."""

    fusion_id: int
    kind: FusionKind
    effective_on: dt.date
    from_id: int
    to_id: int

    @property
    def partial(self) -> bool:
        return self.kind is FusionKind.SPLIT


@dataclass(frozen=True)
class Route:
    """How one involvement reaches a municipality of the day: no steps when it names that municipality."""

    involvement_id: int
    origin_id: int
    steps: tuple[Step, ...]

    @property
    def through_split(self) -> bool:
        return any(step.partial for step in self.steps)


@dataclass
class Participation:
    municipality_id: int
    routes: list[Route] = field(default_factory=list)

    @property
    def involvement_ids(self) -> list[int]:
        return list(dict.fromkeys(route.involvement_id for route in self.routes))


@dataclass(frozen=True)
class Origin:
    """An involvement of a municipality, with that municipality's lifespan."""

    involvement_id: int
    municipality_id: int
    lifespan: Lifespan


def participations(
    origins: Iterable[Origin],
    *,
    day: dt.date,
    dissolutions: Mapping[int, Sequence[Reorganisation]],
    lifespans: Mapping[int, Lifespan],
) -> list[Participation]:
    """The municipalities existing on ``day`` that the origins' territory lies in, in the order first reached.

    ``dissolutions`` gives, per municipality, the reorganisations that dissolved it; ``lifespans`` the
    lifespan of every municipality on a fusion's resulting side. Each origin is walked on its own (a path
    is at most as long as the chain of reorganisations; six in Brabant since 2015).
    """
    found: dict[int, Participation] = {}
    for origin in origins:
        # Depth-first over (municipality, steps so far); `seen` guards against a cycle in recorded data.
        stack: list[tuple[int, Lifespan, tuple[Step, ...]]] = [(origin.municipality_id, origin.lifespan, ())]
        seen = {origin.municipality_id}
        reached: list[tuple[int, tuple[Step, ...]]] = []
        while stack:
            municipality_id, lifespan, steps = stack.pop()
            if lifespan.exists_on(day):
                reached.append((municipality_id, steps))
                continue
            if lifespan.dissolved_on is None or lifespan.dissolved_on > day:
                continue  # not yet founded on that day: its territory was not its own yet
            for reorganisation in dissolutions.get(municipality_id, ()):
                if reorganisation.effective_on > day:
                    continue
                for resulting_id in reversed(reorganisation.resulting_ids):
                    if resulting_id in seen or resulting_id not in lifespans:
                        continue
                    seen.add(resulting_id)
                    step = Step(
                        fusion_id=reorganisation.fusion_id,
                        kind=reorganisation.kind,
                        effective_on=reorganisation.effective_on,
                        from_id=municipality_id,
                        to_id=resulting_id,
                    )
                    stack.append((resulting_id, lifespans[resulting_id], (*steps, step)))
        for municipality_id, steps in reached:
            participation = found.setdefault(municipality_id, Participation(municipality_id))
            participation.routes.append(Route(origin.involvement_id, origin.municipality_id, steps))
    return list(found.values())


def participating_municipality_ids(day: dt.date) -> Select[tuple[int]]:
    """The ids of the municipalities whose territory took part in any initiative, as seen on ``day``.

    One recursive statement (the same walk as :func:`participations`, for a filter that pages and counts
    in SQL): from every municipality with an involvement, forward through the reorganisations effective
    on or before ``day``. The caller keeps those that exist on ``day``.
    """
    anchor = (
        select(Involvement.participant_id.label("municipality_id"))
        .join(Municipality, Municipality.id == Involvement.participant_id)
        .distinct()
    )
    reach = anchor.cte("territory_reach", recursive=True)
    dissolved, resulting = aliased(FusionMunicipality), aliased(FusionMunicipality)
    step = (
        select(resulting.municipality_id)
        .select_from(reach)
        .join(
            dissolved,
            and_(
                dissolved.municipality_id == reach.c.municipality_id,
                dissolved.side == FusionSide.DISSOLVED,
            ),
        )
        .join(Fusion, and_(Fusion.id == dissolved.fusion_id, Fusion.effective_on <= day))
        .join(
            resulting,
            and_(resulting.fusion_id == dissolved.fusion_id, resulting.side == FusionSide.RESULTING),
        )
    )
    reach = reach.union(step)
    return select(reach.c.municipality_id)


def participating_on(day: dt.date) -> ColumnElement[bool]:
    """A condition on Municipality: it exists on ``day`` and its territory took part (see above)."""
    return and_(Municipality.id.in_(participating_municipality_ids(day)), active_on(day))
