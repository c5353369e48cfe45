"""Per-request DataLoaders: every relation a client can nest costs one statement per level, never per row.

Built in ``get_context`` for each request (a loader caches, so a module-level one would leak data across
requests). Each batch opens its own short session from the pool: Strawberry resolves sibling fields
concurrently and an ``AsyncSession`` must not be shared between concurrent tasks.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute, with_polymorphic
from strawberry.dataloader import DataLoader

from app.models import (
    Citation,
    Fusion,
    FusionMunicipality,
    Initiative,
    InitiativeTheme,
    Involvement,
    Membership,
    Municipality,
    MunicipalityBoundary,
    Organization,
    Participant,
    ReportedFigure,
    SourceDocument,
    UnresolvedMention,
    WebhookDelivery,
)
from app.models.enums import FusionSide
from app.services.filters import InvolvementCriteria, involvement_conditions
from app.services.pagination import (
    MAX_KEY,
    AnySelect,
    Page,
    PageRequest,
    count_by_parent,
    fetch_pages_by_parent,
)
from app.services.text import storable

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

AnyParticipant = with_polymorphic(Participant, [Municipality, Organization])


@dataclass(frozen=True)
class FusionLink:
    fusion: Fusion
    municipality_id: int
    side: FusionSide
    founded_on_matches: bool
    """The municipality was founded on the fusion's day: the fusion created it."""
    founded_on: dt.date | None = None
    dissolved_on: dt.date | None = None
    """The municipality's lifespan (for following its territory: app.services.territory)."""


@dataclass(frozen=True)
class FusionGraph:
    """All fusion links, loaded once per request when a field needs them.

    Reorganisations are few (six in Brabant since 2015, a few hundred nationwide in decades), so one small
    statement beats a loader per hop when following predecessors transitively.
    """

    links: Sequence[FusionLink]

    def links_of(self, municipality_id: int, side: FusionSide) -> list[FusionLink]:
        return [link for link in self.links if link.municipality_id == municipality_id and link.side is side]

    def other_side(self, fusion_id: int, side: FusionSide) -> list[int]:
        return [
            link.municipality_id for link in self.links if link.fusion.id == fusion_id and link.side is side
        ]

    def predecessors(self, municipality_id: int) -> list[int]:
        return [
            predecessor
            for link in self.links_of(municipality_id, FusionSide.RESULTING)
            for predecessor in self.other_side(link.fusion.id, FusionSide.DISSOLVED)
        ]

    def successors(self, municipality_id: int) -> list[int]:
        return [
            successor
            for link in self.links_of(municipality_id, FusionSide.DISSOLVED)
            for successor in self.other_side(link.fusion.id, FusionSide.RESULTING)
        ]

    def _closure(self, start: int, step: Callable[[int], list[int]]) -> list[int]:
        seen, order, queue = {start}, [], [start]
        while queue:
            for neighbour in step(queue.pop(0)):
                if neighbour not in seen:
                    seen.add(neighbour)
                    order.append(neighbour)
                    queue.append(neighbour)
        return order

    def all_predecessors(self, municipality_id: int) -> list[int]:
        """Predecessors, theirs, and so on (Maashorst ← Uden, Landerd; a chain of fusions is followed)."""
        return self._closure(municipality_id, self.predecessors)

    def all_successors(self, municipality_id: int) -> list[int]:
        return self._closure(municipality_id, self.successors)


_CHUNK = 1000
"""Keys per statement of a loader: well below SQLite's and PostgreSQL's limits on parameters."""


def _could_exist(key: Hashable) -> bool:
    """Whether a row could have ``key``: not text the databases cannot hold, not a number beyond INTEGER."""
    if isinstance(key, str):
        return storable(key)
    if isinstance(key, int):
        return -MAX_KEY <= key <= MAX_KEY
    return True


def _index(rows: Sequence[Any], key: Callable[[Any], K], keys: Sequence[K]) -> list[Any]:
    by_key = {key(row): row for row in rows}
    return [by_key.get(k) for k in keys]


def _group(rows: Sequence[Any], key: Callable[[Any], K], keys: Sequence[K]) -> list[list[Any]]:
    grouped: dict[K, list[Any]] = defaultdict(list)
    for row in rows:
        grouped[key(row)].append(row)
    return [grouped.get(k, []) for k in keys]


class Loaders:
    """Every loader of one request."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        self._keyed: dict[Hashable, DataLoader[Any, Any]] = {}
        self._citations: dict[str, DataLoader[int, list[Citation]]] = {}
        self._fusion_graph: DataLoader[None, FusionGraph] = DataLoader(self._load_fusion_graph)

    # Each loader is made on first use in a request (cached_property): building every statement and loader
    # for every request was 14% of a compiled query's time (pyinstrument), and most requests use few.

    @cached_property
    def participant(self) -> DataLoader[Any, Any]:
        return self._rows_by(AnyParticipant, AnyParticipant.id)

    @cached_property
    def municipality_by_code(self) -> DataLoader[Any, Any]:
        return self._rows_by(Municipality, Municipality.code)

    @cached_property
    def organization_by_slug(self) -> DataLoader[Any, Any]:
        return self._rows_by(Organization, Organization.slug)

    @cached_property
    def initiative(self) -> DataLoader[Any, Any]:
        return self._rows_by(Initiative, Initiative.id)

    @cached_property
    def initiative_by_slug(self) -> DataLoader[Any, Any]:
        return self._rows_by(Initiative, Initiative.slug)

    @cached_property
    def involvement(self) -> DataLoader[Any, Any]:
        return self._rows_by(Involvement, Involvement.id)

    @cached_property
    def fusion(self) -> DataLoader[Any, Any]:
        return self._rows_by(Fusion, Fusion.id)

    @cached_property
    def document(self) -> DataLoader[Any, Any]:
        return self._rows_by(SourceDocument, SourceDocument.id)

    @cached_property
    def document_by_slug(self) -> DataLoader[Any, Any]:
        return self._rows_by(SourceDocument, SourceDocument.slug)

    @cached_property
    def themes(self) -> DataLoader[Any, Any]:
        return self._lists_by(
            select(InitiativeTheme).order_by(InitiativeTheme.position), InitiativeTheme.initiative_id
        )

    @cached_property
    def reported_figures(self) -> DataLoader[Any, Any]:
        return self._lists_by(
            select(ReportedFigure).order_by(ReportedFigure.id), ReportedFigure.initiative_id
        )

    @cached_property
    def unresolved_mentions(self) -> DataLoader[Any, Any]:
        return self._lists_by(
            select(UnresolvedMention).order_by(UnresolvedMention.id), UnresolvedMention.initiative_id
        )

    @cached_property
    def boundaries(self) -> DataLoader[Any, Any]:
        """Every boundary period of each municipality (a few, of a few hundred bytes each): one statement."""
        return self._lists_by(
            select(
                MunicipalityBoundary.municipality_id,
                MunicipalityBoundary.valid_from,
                MunicipalityBoundary.valid_until,
                MunicipalityBoundary.geometry,
            ).order_by(MunicipalityBoundary.valid_from),
            MunicipalityBoundary.municipality_id,
            value=lambda row: row,
        )

    @cached_property
    def members(self) -> DataLoader[Any, Any]:
        return self._lists_by(
            select(Membership.organization_id, AnyParticipant)
            .join(AnyParticipant, AnyParticipant.id == Membership.member_id)
            .order_by(Membership.id),
            Membership.organization_id,
            value=lambda row: row[1],
        )

    @cached_property
    def member_of(self) -> DataLoader[Any, Any]:
        return self._lists_by(
            select(Membership.member_id, Organization)
            .join(Organization, Organization.id == Membership.organization_id)
            .order_by(Membership.id),
            Membership.member_id,
            value=lambda row: row[1],
        )

    @cached_property
    def municipal_involvements(self) -> DataLoader[Any, Any]:
        """Per initiative: its involvements of municipalities, each with the municipality's lifespan."""
        return self._lists_by(
            select(Involvement.initiative_id, Involvement, Municipality.founded_on, Municipality.dissolved_on)
            .join(Municipality, Municipality.id == Involvement.participant_id)
            .order_by(Involvement.id),
            Involvement.initiative_id,
            value=lambda row: (row[1], row[2], row[3]),
        )

    @cached_property
    def membership_citations(self) -> DataLoader[Any, Any]:
        return self._lists_by(
            select(Membership.organization_id, Citation)
            .join(Citation, Citation.membership_id == Membership.id)
            .order_by(Citation.id),
            Membership.organization_id,
            value=lambda row: row[1],
        )

    async def _run(self, work: Callable[[AsyncSession], Awaitable[V]]) -> V:
        async with self._sessionmaker() as session:
            return await work(session)

    def _rows_by(self, entity: Any, column: InstrumentedAttribute[K]) -> DataLoader[K, Any]:
        async def load(keys: list[K]) -> list[Any]:
            # A key no row can have is not sent to the database, which would refuse the statement rather
            # than find nothing: text with a NUL or an unpaired surrogate, a number beyond INTEGER.
            wanted = [key for key in keys if _could_exist(key)]

            async def chunks(session: AsyncSession) -> list[Any]:
                # In chunks: `nodes(ids: [...])` can name more ids than a statement may have parameters.
                rows: list[Any] = []
                for start in range(0, len(wanted), _CHUNK):
                    statement = select(entity).where(column.in_(wanted[start : start + _CHUNK]))
                    rows += (await session.scalars(statement)).all()
                return rows

            rows = await self._run(chunks) if wanted else []
            return _index(rows, lambda row: getattr(row, column.key), keys)

        return DataLoader(load)

    def _lists_by(
        self,
        statement: AnySelect,
        parent: InstrumentedAttribute[int],
        *,
        value: Callable[[Any], Any] | None = None,
    ) -> DataLoader[int, list[Any]]:
        async def load(keys: list[int]) -> list[list[Any]]:
            if value is None:
                result = await self._run(lambda session: session.scalars(statement.where(parent.in_(keys))))
                rows: Sequence[Any] = result.all()
                return _group(rows, lambda row: getattr(row, parent.key), keys)
            tuples = (
                await self._run(lambda session: session.execute(statement.where(parent.in_(keys))))
            ).all()
            grouped = _group(tuples, lambda row: row[0], keys)
            return [[value(row) for row in group] for group in grouped]

        return DataLoader(load)

    def citations(self, subject: str) -> DataLoader[int, list[Citation]]:
        """Citations of one kind of subject, e.g. ``"involvement_id"``."""
        if subject not in self._citations:
            column: InstrumentedAttribute[int] = getattr(Citation, subject)
            self._citations[subject] = self._lists_by(select(Citation).order_by(Citation.id), column)
        return self._citations[subject]

    async def _load_fusion_graph(self, keys: list[None]) -> list[FusionGraph]:
        statement = (
            select(
                Fusion,
                FusionMunicipality.municipality_id,
                FusionMunicipality.side,
                Municipality.founded_on,
                Municipality.dissolved_on,
            )
            .join(FusionMunicipality, FusionMunicipality.fusion_id == Fusion.id)
            .join(Municipality, Municipality.id == FusionMunicipality.municipality_id)
            .order_by(Fusion.effective_on, Fusion.id, Municipality.name_folded)
        )
        rows = (await self._run(lambda session: session.execute(statement))).all()
        graph = FusionGraph(
            links=[
                FusionLink(
                    fusion=fusion,
                    municipality_id=municipality_id,
                    side=side,
                    founded_on_matches=founded_on == fusion.effective_on,
                    founded_on=founded_on,
                    dissolved_on=dissolved_on,
                )
                for fusion, municipality_id, side, founded_on, dissolved_on in rows
            ]
        )
        return [graph for _ in keys]

    async def fusion_graph(self) -> FusionGraph:
        return await self._fusion_graph.load(None)

    # ---------------------------------------------------------------------------- involvement lists

    def involvement_pages(
        self, parent: str, criteria: InvolvementCriteria, request: PageRequest
    ) -> DataLoader[int, Page]:
        """Pages of involvements per parent (``"participant_id"`` or ``"initiative_id"``), one statement."""
        key = ("involvement_pages", parent, criteria, request)
        if key not in self._keyed:
            parent_column: InstrumentedAttribute[int] = getattr(Involvement, parent)
            statement = select(*Involvement.__table__.c).where(*involvement_conditions(criteria))

            async def load(parent_ids: list[int]) -> list[Page]:
                pages = await self._run(
                    lambda session: fetch_pages_by_parent(
                        session,
                        statement,
                        parent=parent_column,
                        key=Involvement.id,
                        parent_ids=parent_ids,
                        request=request,
                    )
                )
                return [pages[parent_id] for parent_id in parent_ids]

            self._keyed[key] = DataLoader(load)
        return self._keyed[key]

    def involvement_counts(self, parent: str, criteria: InvolvementCriteria) -> DataLoader[int, int]:
        key = ("involvement_counts", parent, criteria)
        if key not in self._keyed:
            parent_column: InstrumentedAttribute[int] = getattr(Involvement, parent)
            statement = select(parent_column).where(*involvement_conditions(criteria))

            async def load(parent_ids: list[int]) -> list[int]:
                counts = await self._run(
                    lambda session: count_by_parent(
                        session, statement, parent=parent_column, parent_ids=parent_ids
                    )
                )
                return [counts[parent_id] for parent_id in parent_ids]

            self._keyed[key] = DataLoader(load)
        return self._keyed[key]

    # ---------------------------------------------------------------------------- webhooks

    def webhook_deliveries(self, first: int) -> DataLoader[int, list[WebhookDelivery]]:
        """The latest ``first`` delivery attempts of each webhook, newest first: one statement per level."""
        key = ("webhook_deliveries", first)
        if key not in self._keyed:

            async def load(webhook_ids: list[int]) -> list[list[WebhookDelivery]]:
                rank = (
                    func.row_number()
                    .over(partition_by=WebhookDelivery.webhook_id, order_by=WebhookDelivery.id.desc())
                    .label("rank")
                )
                ranked = (
                    select(WebhookDelivery.id, rank)
                    .where(WebhookDelivery.webhook_id.in_(webhook_ids))
                    .subquery()
                )
                statement = (
                    select(WebhookDelivery)
                    .join(ranked, ranked.c.id == WebhookDelivery.id)
                    .where(ranked.c.rank <= first)
                    .order_by(WebhookDelivery.id.desc())
                )
                rows = (await self._run(lambda session: session.scalars(statement))).all()
                return _group(rows, lambda row: row.webhook_id, webhook_ids)

            self._keyed[key] = DataLoader(load)
        return self._keyed[key]
