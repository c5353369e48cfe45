"""The root Query."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

import strawberry
from sqlalchemy import ColumnElement, select
from strawberry import relay

from app.models import DatasetLoad, MunicipalityAlias
from app.models import Fusion as FusionRow
from app.models import Initiative as InitiativeRow
from app.models import Involvement as InvolvementRow
from app.models import Municipality as MunicipalityRow
from app.models import Organization as OrganizationRow
from app.models.enums import OrganizationKind
from app.services.filters import (
    MunicipalityCriteria,
    initiative_conditions,
    involvement_conditions,
    municipality_conditions,
)
from app.services.pagination import count, fetch_page
from app.services.text import fold
from schema.changes import ChangeConnection, changes_page
from schema.context import Info
from schema.errors import bad_input, not_found, unknown_code
from schema.fusions import Fusion, FusionConnection
from schema.initiatives import (
    Initiative,
    InitiativeConnection,
    InitiativeFilter,
    Involvement,
    InvolvementConnection,
    InvolvementFilter,
    initiative_criteria,
    involvement_criteria,
)
from schema.nodes import ConcreteNodeIds
from schema.pagination import AfterArg, CountedConnection, FirstArg, page_request
from schema.participants import (
    Municipality,
    MunicipalityConnection,
    MunicipalityFilter,
    Organization,
    OrganizationConnection,
    check_code,
    today,
)
from schema.permissions import CanRead
from schema.search import SearchHitConnection, search

C = TypeVar("C", bound=CountedConnection[Any])


async def _root_connection(
    info: Info,
    connection: type[C],
    *,
    type_name: str,
    entity: Any,
    conditions: Sequence[ColumnElement[bool]],
    first: int | None,
    after: str | None,
    to_node: Callable[[Any], Any],
) -> C:
    request = page_request(type_name, first, after, info.context.settings.max_page_size)
    statement = select(entity).where(*conditions)
    async with info.context.sessionmaker() as session:
        page = await fetch_page(session, statement, entity.id, request)

    async def total_count() -> int:
        async with info.context.sessionmaker() as session:
            return await count(session, select(entity.id).where(*conditions))

    rows = [row[0] for row in page.rows]
    return connection.from_page(
        page,
        [to_node(row) for row in rows],
        type_name=type_name,
        keys=[row.id for row in rows],
        total_count=total_count,
    )


@strawberry.type(description="Which bundled dataset this service holds.")
class DatasetInfo:
    content_hash: str | None = strawberry.field(
        description="SHA-256 of the loaded dataset files; null when no bundled dataset was loaded."
    )
    loaded_at: dt.datetime | None = strawberry.field(description="When it was loaded.")


@strawberry.type(description="Who is involved in what in the programme Versterken Sociale Veerkracht.")
class Query:
    node: relay.Node | None = relay.node(
        description="Any object by its global `id`.", extensions=[ConcreteNodeIds()]
    )
    nodes: list[relay.Node | None] = relay.node(
        description="Objects by their global ids, in the same order; null for an id that matches nothing.",
        extensions=[ConcreteNodeIds()],
    )

    @strawberry.field(
        permission_classes=[CanRead],
        description="One municipality, by CBS code or by name. Give exactly one of the two.",
    )
    async def municipality(
        self,
        info: Info,
        code: Annotated[str | None, strawberry.argument(description='CBS code: "GM0879".')] = None,
        name: Annotated[
            str | None,
            strawberry.argument(
                description='Name, ignoring case, accents and punctuation ("sHertogenbosch"); the Dutch '
                'article may be left out ("Hertogenbosch"). When a current and a dissolved municipality '
                "share the name, the current one."
            ),
        ] = None,
    ) -> Municipality | None:
        if (code is None) == (name is None):
            raise bad_input("code", "geef precies één van `code` en `name`")
        if code is not None:
            normal = check_code(code, "code")
            row = await info.context.loaders.municipality_by_code.load(normal)
            if row is None:
                raise unknown_code("code", normal)
            return Municipality.from_row(row)
        assert name is not None
        folded = fold(name)
        if not folded:
            raise bad_input("name", "moet letters of cijfers bevatten")
        # An exact (folded) match first; else the name without its Dutch article, as people write it:
        # "hertogenbosch" for 's-Hertogenbosch.
        # Then the names people use, with their sources (app/data/aliases.yaml): "Den Bosch".
        variants = [folded, *(article + folded for article in ("s", "t"))]
        async with info.context.sessionmaker() as session:
            found = (
                await session.scalars(
                    select(MunicipalityRow).where(MunicipalityRow.name_folded.in_(variants))
                )
            ).all()
            if not found:
                aliased = select(MunicipalityAlias.municipality_id).where(
                    MunicipalityAlias.name_folded.in_(variants)
                )
                found = (
                    await session.scalars(select(MunicipalityRow).where(MunicipalityRow.id.in_(aliased)))
                ).all()
        exact = [row for row in found if row.name_folded == folded]
        rows = exact or found
        if not rows:
            raise not_found(
                "name",
                f"Er is geen gemeente met de naam {name!r} in Noord-Brabant (sinds 2015). Zoek op een deel van "
                "de naam met `municipalities(filter: {nameContains: ...})`.",
            )
        day = today()
        candidates = [Municipality.from_row(row) for row in rows]
        candidates.sort(key=lambda m: (m.is_active(day), m.dissolved_on or dt.date.max), reverse=True)
        return candidates[0]

    @strawberry.field(
        permission_classes=[CanRead],
        description="Municipalities of Noord-Brabant, current and dissolved, by name.",
    )
    async def municipalities(
        self,
        info: Info,
        first: FirstArg = 50,
        after: AfterArg = None,
        filter_: Annotated[
            MunicipalityFilter | None,
            strawberry.argument(name="filter", description="Only these municipalities."),
        ] = None,
    ) -> MunicipalityConnection:
        criteria = MunicipalityCriteria()
        if filter_ is not None:
            name_folded = None
            if filter_.name_contains is not None:
                name_folded = fold(filter_.name_contains)
                if not name_folded:
                    raise bad_input("filter.nameContains", "moet letters of cijfers bevatten")
            region_id = None
            if filter_.region_slug is not None:
                region = await info.context.loaders.organization_by_slug.load(filter_.region_slug)
                if region is None or region.kind is not OrganizationKind.REGIONAL_PARTNERSHIP:
                    raise bad_input(
                        "filter.regionSlug",
                        f"er is geen regionale samenwerking met slug {filter_.region_slug!r}",
                    )
                region_id = region.id
            criteria = MunicipalityCriteria(
                active_on=filter_.active_on,
                name_folded=name_folded,
                involved=filter_.involved,
                region_id=region_id,
                participating_on=filter_.participating_on,
            )
        return await _root_connection(
            info,
            MunicipalityConnection,
            type_name="Municipality",
            entity=MunicipalityRow,
            conditions=municipality_conditions(criteria),
            first=first,
            after=after,
            to_node=Municipality.from_row,
        )

    @strawberry.field(
        permission_classes=[CanRead],
        description="Search initiatives, organisations and municipalities by Dutch words: in names, summaries, "
        "descriptions and the sources' quotes, ignoring case, accents and punctuation, with Dutch stemming "
        '("wijk" finds "3 wijken", "bewoner" finds "bewoners"). Every word must occur; best hits first, '
        "each with a snippet showing why.",
    )
    async def search(
        self,
        info: Info,
        text: Annotated[
            str, strawberry.argument(description='The words to find, e.g. "bewoners wijken" or "Den Bosch".')
        ],
        first: FirstArg = 50,
        after: AfterArg = None,
    ) -> SearchHitConnection:
        return await search(info, text, first, after)

    @strawberry.field(permission_classes=[CanRead], description="One initiative by its slug.")
    async def initiative(
        self, info: Info, slug: Annotated[str, strawberry.argument(description='"pilot-altena".')]
    ) -> Initiative | None:
        row = await info.context.loaders.initiative_by_slug.load(slug)
        if row is None:
            raise not_found("slug", f"Er is geen initiatief met slug {slug!r}.")
        return Initiative.from_row(row)

    @strawberry.field(
        permission_classes=[CanRead],
        description="Initiatives, in the order they were recorded (the memo's order).",
    )
    async def initiatives(
        self,
        info: Info,
        first: FirstArg = 50,
        after: AfterArg = None,
        filter_: Annotated[
            InitiativeFilter | None, strawberry.argument(name="filter", description="Only these initiatives.")
        ] = None,
    ) -> InitiativeConnection:
        criteria = await initiative_criteria(info, filter_)
        return await _root_connection(
            info,
            InitiativeConnection,
            type_name="Initiative",
            entity=InitiativeRow,
            conditions=initiative_conditions(criteria),
            first=first,
            after=after,
            to_node=Initiative.from_row,
        )

    @strawberry.field(permission_classes=[CanRead], description="One organisation by its slug.")
    async def organization(
        self, info: Info, slug: Annotated[str, strawberry.argument(description='"stichting-zet".')]
    ) -> Organization | None:
        row = await info.context.loaders.organization_by_slug.load(slug)
        if row is None:
            raise not_found("slug", f"Er is geen organisatie met slug {slug!r}.")
        return Organization.from_row(row)

    @strawberry.field(
        permission_classes=[CanRead],
        description="Organisations other than municipalities, in the order they were recorded.",
    )
    async def organizations(
        self,
        info: Info,
        first: FirstArg = 50,
        after: AfterArg = None,
        kind: Annotated[
            OrganizationKind | None, strawberry.argument(description="Only organisations of this kind.")
        ] = None,
    ) -> OrganizationConnection:
        return await _root_connection(
            info,
            OrganizationConnection,
            type_name="Organization",
            entity=OrganizationRow,
            conditions=[] if kind is None else [OrganizationRow.kind == kind],
            first=first,
            after=after,
            to_node=Organization.from_row,
        )

    @strawberry.field(permission_classes=[CanRead], description="Municipal reorganisations, oldest first.")
    async def fusions(self, info: Info, first: FirstArg = 50, after: AfterArg = None) -> FusionConnection:
        return await _root_connection(
            info,
            FusionConnection,
            type_name="Fusion",
            entity=FusionRow,
            conditions=[],
            first=first,
            after=after,
            to_node=Fusion.from_row,
        )

    @strawberry.field(
        permission_classes=[CanRead], description="All involvements, in the order they were recorded."
    )
    async def involvements(
        self,
        info: Info,
        first: FirstArg = 50,
        after: AfterArg = None,
        filter_: Annotated[
            InvolvementFilter | None,
            strawberry.argument(name="filter", description="Only these involvements."),
        ] = None,
    ) -> InvolvementConnection:
        criteria = await involvement_criteria(info, filter_)
        return await _root_connection(
            info,
            InvolvementConnection,
            type_name="Involvement",
            entity=InvolvementRow,
            conditions=involvement_conditions(criteria),
            first=first,
            after=after,
            to_node=Involvement.from_row,
        )

    @strawberry.field(
        permission_classes=[CanRead], description="Which version of the bundled dataset is loaded."
    )
    async def dataset(self, info: Info) -> DatasetInfo:
        async with info.context.sessionmaker() as session:
            row = await session.scalar(select(DatasetLoad).order_by(DatasetLoad.loaded_at.desc()).limit(1))
        if row is None:
            return DatasetInfo(content_hash=None, loaded_at=None)
        loaded_at = row.loaded_at if row.loaded_at.tzinfo else row.loaded_at.replace(tzinfo=dt.UTC)
        return DatasetInfo(content_hash=row.content_hash, loaded_at=loaded_at)

    @strawberry.field(
        permission_classes=[CanRead],
        description="Committed changes in commit order, after a sequence: page through with the last "
        "sequence you processed to stay in sync (no gaps, no duplicates).",
    )
    async def changes(
        self,
        info: Info,
        after_sequence: Annotated[
            int | None, strawberry.argument(description="Changes after this sequence (0: from the start).")
        ] = 0,
        first: Annotated[
            int | None, strawberry.argument(description="How many (at most 1000; default 100).")
        ] = 100,
        after: AfterArg = None,
    ) -> ChangeConnection:
        return await changes_page(info, after_sequence, first, after)
