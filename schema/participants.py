"""Participants: municipalities (with their history of fusions) and other organisations."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated, Any, Self
from zoneinfo import ZoneInfo

import strawberry
from strawberry import relay

import schema.enums  # noqa: F401  (registers the GraphQL enums)
from app.db import as_utc
from app.models import Municipality as MunicipalityRow
from app.models import Organization as OrganizationRow
from app.models.enums import Basis, FusionSide, Language, OrganizationKind
from schema.context import Info
from schema.errors import bad_input
from schema.geo import GeoJSON, boundary_on, last_day
from schema.initiatives import (
    InvolvementConnection,
    InvolvementFilterArg,
    involvement_connection,
)
from schema.language import LanguageArg, in_language_or_none
from schema.nodes import load_nodes, reference_key
from schema.pagination import AfterArg, CountedConnection, FirstArg
from schema.provenance import Citation, citations_of

if TYPE_CHECKING:
    from schema.fusions import Fusion

FusionRef = Annotated["Fusion", strawberry.lazy("schema.fusions")]
CODE_PATTERN = re.compile(r"GM[0-9]{4}")
_PROVINCE_TIMEZONE = ZoneInfo("Europe/Amsterdam")


def today() -> dt.date:
    """Today in the province (not in UTC: just after midnight it is already the next day in Brabant)."""
    return dt.datetime.now(_PROVINCE_TIMEZONE).date()


def normal_code(code: str) -> str | None:
    """A CBS code in any case (``gm0796``) as stored (``GM0796``); None if it is not one."""
    # fullmatch and [0-9]: `^GM\d{4}$` let "GM0879\n" and Arabic-Indic digits through. ASCII only, so that
    # upper() cannot turn another letter into G or M.
    upper = code.upper() if code.isascii() else code
    return upper if CODE_PATTERN.fullmatch(upper) else None


def check_code(code: str, argument: str) -> str:
    normal = normal_code(code)
    if normal is None:
        raise bad_input(
            argument, f'{code!r} is geen CBS-gemeentecode (GM en vier cijfers, bijvoorbeeld "GM0879")'
        )
    return normal


@strawberry.interface(
    description="Anything that takes part in an initiative: a municipality or another organisation."
)
class Participant(relay.Node):
    pk: strawberry.Private[int]
    name: str = strawberry.field(description="Name in its official spelling.")

    @strawberry.field(
        description="The initiatives it is involved in, one item per role, in the order recorded."
    )
    async def involvements(
        self, info: Info, first: FirstArg = 50, after: AfterArg = None, filter_: InvolvementFilterArg = None
    ) -> InvolvementConnection:
        return await involvement_connection(info, "participant_id", [self.pk], first, after, filter_)

    @strawberry.field(description="Where the source names it (reference data for municipalities).")
    async def sources(self, info: Info) -> list[Citation]:
        return await citations_of(info, "participant_id", self.pk)


@strawberry.federation.type(
    keys=["code"], description="A Dutch municipality (gemeente) of Noord-Brabant, current or dissolved."
)
class Municipality(Participant):
    code: str = strawberry.field(description='CBS code: "GM0879".')
    province: str = strawberry.field(description='The province: "Noord-Brabant".')
    founded_on: dt.date | None = strawberry.field(
        description="The day it came into being; null when it is older than the reference data (2015)."
    )
    dissolved_on: dt.date | None = strawberry.field(
        description="The first day on which it no longer existed; null while it exists."
    )
    basis: Basis = strawberry.field(
        description="INTERPRETED where its dates go beyond the source's words (see basisNote)."
    )
    basis_note_nl: strawberry.Private[str | None]
    basis_note_en: strawberry.Private[str | None]

    @classmethod
    def from_row(cls, row: MunicipalityRow) -> Self:
        return cls(
            pk=row.id,
            name=row.name,
            code=row.code,
            province=row.province,
            founded_on=row.founded_on,
            dissolved_on=row.dissolved_on,
            basis=row.basis,
            basis_note_nl=row.basis_note,
            basis_note_en=row.basis_note_en,
        )

    @strawberry.field(
        description="For basis INTERPRETED: how and why its dates go beyond the source's words; null for "
        "QUOTED."
    )
    def basis_note(self, language: LanguageArg = Language.NL) -> str | None:
        return in_language_or_none(language, self.basis_note_nl, self.basis_note_en)

    @classmethod
    async def resolve_reference(cls, info: Info, **representation: Any) -> Self | None:
        """Federation: a Municipality another subgraph refers to by CBS code (batched: all references of one request in one statement)."""
        code = reference_key("Municipality", "code", representation)
        row = await info.context.loaders.municipality_by_code.load(code)
        return None if row is None else cls.from_row(row)

    @classmethod
    def resolve_id(cls, root: Self, *, info: Info) -> str:
        return root.code

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await load_nodes(info, info.context.loaders.municipality_by_code, node_ids, cls.from_row)

    def is_active(self, on: dt.date) -> bool:
        return (self.founded_on is None or self.founded_on <= on) and (
            self.dissolved_on is None or on < self.dissolved_on
        )

    @strawberry.field(description="Whether it existed on that day (today in the Netherlands when omitted).")
    def active(
        self,
        on: Annotated[dt.date | None, strawberry.argument(description="The day; today when omitted.")] = None,
    ) -> bool:
        return self.is_active(on or today())

    @strawberry.field(
        description="Its boundary on `on` (default: its last day of existence); null for a date on which it did "
        "not exist. The bundled boundaries start on 2015-01-01 (null before; Maasdonk, dissolved then, has "
        "none) and show each year's map: see the service's docs/maps.md."
    )
    async def boundary(
        self,
        info: Info,
        on: Annotated[
            dt.date | None,
            strawberry.argument(
                description="The day; when omitted, its last day of existence (today for a current one)."
            ),
        ] = None,
    ) -> GeoJSON | None:
        day = on or last_day(self.dissolved_on, today())
        if not self.is_active(day):
            return None
        return boundary_on(await info.context.loaders.boundaries.load(self.pk), day)

    @strawberry.field(description="The reorganisation that created it (Altena: the 2019 merger).")
    async def formed_by(self, info: Info) -> FusionRef | None:
        from schema.fusions import Fusion

        graph = await info.context.loaders.fusion_graph()
        links = [link for link in graph.links_of(self.pk, FusionSide.RESULTING) if link.founded_on_matches]
        return Fusion.from_row(links[0].fusion) if links else None

    @strawberry.field(description="The reorganisation that ended it (Aalburg: the 2019 merger into Altena).")
    async def dissolved_by(self, info: Info) -> FusionRef | None:
        from schema.fusions import Fusion

        graph = await info.context.loaders.fusion_graph()
        links = graph.links_of(self.pk, FusionSide.DISSOLVED)
        return Fusion.from_row(links[0].fusion) if links else None

    async def _municipalities(self, info: Info, ids: list[int]) -> list[Municipality]:
        rows = await info.context.loaders.participant.load_many(ids)
        return [Municipality.from_row(row) for row in rows]

    @strawberry.field(
        description="The dissolved municipalities it was formed from or took in (one step back; "
        "follow `predecessors` again for earlier ones)."
    )
    async def predecessors(self, info: Info) -> list[Municipality]:
        graph = await info.context.loaders.fusion_graph()
        return await self._municipalities(info, graph.predecessors(self.pk))

    @strawberry.field(description="The municipalities it went into when it was dissolved (one step forward).")
    async def successors(self, info: Info) -> list[Municipality]:
        graph = await info.context.loaders.fusion_graph()
        return await self._municipalities(info, graph.successors(self.pk))

    @strawberry.field(
        description="Where it is today: its successors followed to municipalities that exist today; "
        "[itself] while it exists."
    )
    async def current(self, info: Info) -> list[Municipality]:
        day = today()
        if self.is_active(day):
            return [self]
        graph = await info.context.loaders.fusion_graph()
        candidates = await self._municipalities(info, graph.all_successors(self.pk))
        return [municipality for municipality in candidates if municipality.is_active(day)]

    @strawberry.field(
        description="The regional partnerships it is a member of (B5, Regio West-Brabant, ...)."
    )
    async def regions(self, info: Info) -> list[Organization]:
        rows = await info.context.loaders.member_of.load(self.pk)
        return [
            Organization.from_row(row) for row in rows if row.kind is OrganizationKind.REGIONAL_PARTNERSHIP
        ]

    @strawberry.field(
        description="The initiatives it is involved in, one item per role, in the order recorded."
    )
    async def involvements(
        self,
        info: Info,
        first: FirstArg = 50,
        after: AfterArg = None,
        filter_: InvolvementFilterArg = None,
        include_predecessors: Annotated[
            bool | None,
            strawberry.argument(
                description="Also the involvements of the municipalities it was formed from, transitively "
                "(Maashorst sees Uden's and Landerd's). Each involvement stays attached to the "
                "municipality the source names: look at `participant`."
            ),
        ] = False,
    ) -> InvolvementConnection:
        ids = [self.pk]
        if include_predecessors:  # null counts as false
            ids += (await info.context.loaders.fusion_graph()).all_predecessors(self.pk)
        return await involvement_connection(info, "participant_id", ids, first, after, filter_)


@strawberry.federation.type(
    keys=["slug"],
    description="Any organisation other than a municipality: the province, a water board, a foundation, "
    "a network, a region...",
)
class Organization(Participant):
    slug: str = strawberry.field(description='Stable, lower-case, hyphenated identifier: "stichting-zet".')
    kind: OrganizationKind = strawberry.field(description="What sort of organisation it is.")
    website: str | None = strawberry.field(description="Its website, where a source gives it.")
    description_nl: strawberry.Private[str | None]
    description_en: strawberry.Private[str | None]
    basis: Basis = strawberry.field(
        description="INTERPRETED where its name or kind goes beyond the source's words (see basisNote): "
        '"Dorpsraden Zundert" is our name for the memo\'s "Dorpsraden".'
    )
    basis_note_nl: strawberry.Private[str | None]
    basis_note_en: strawberry.Private[str | None]
    members_as_of: dt.date | None = strawberry.field(
        description="The date of the member list: a list from a later year than the memo carries its own date."
    )
    version: int = strawberry.field(
        description="Raised by every update; send it back with an update (optimistic concurrency)."
    )
    updated_at: dt.datetime = strawberry.field(description="When it was last written.")

    @classmethod
    def from_row(cls, row: OrganizationRow) -> Self:
        return cls(
            pk=row.id,
            name=row.name,
            slug=row.slug,
            kind=row.kind,
            website=row.website,
            description_nl=row.description,
            description_en=row.description_en,
            basis=row.basis,
            basis_note_nl=row.basis_note,
            basis_note_en=row.basis_note_en,
            members_as_of=row.members_as_of,
            version=row.version,
            updated_at=as_utc(row.updated_at),
        )

    @strawberry.field(description="More about it, e.g. why a region has no members listed.")
    def description(self, language: LanguageArg = Language.NL) -> str | None:
        return in_language_or_none(language, self.description_nl, self.description_en)

    @strawberry.field(
        description="For basis INTERPRETED: how and why its name or kind goes beyond the source's words; "
        "null for QUOTED."
    )
    def basis_note(self, language: LanguageArg = Language.NL) -> str | None:
        return in_language_or_none(language, self.basis_note_nl, self.basis_note_en)

    @classmethod
    async def resolve_reference(cls, info: Info, **representation: Any) -> Self | None:
        """Federation: an Organization another subgraph refers to by slug (batched: all references of one request in one statement)."""
        slug = reference_key("Organization", "slug", representation)
        row = await info.context.loaders.organization_by_slug.load(slug)
        return None if row is None else cls.from_row(row)

    @classmethod
    def resolve_id(cls, root: Self, *, info: Info) -> str:
        return root.slug

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await load_nodes(info, info.context.loaders.organization_by_slug, node_ids, cls.from_row)

    @strawberry.field(description="Its members, where a source lists them (the B5 and its five cities).")
    async def members(self, info: Info) -> list[Participant]:
        return [participant_from_row(row) for row in await info.context.loaders.members.load(self.pk)]

    @strawberry.field(description="Where the source lists its members.")
    async def members_sources(self, info: Info) -> list[Citation]:
        rows = await info.context.loaders.membership_citations.load(self.pk)
        unique = {(row.document_id, row.quote): row for row in rows}
        return [Citation.from_row(row) for row in unique.values()]

    @strawberry.field(description="The organisations it is a member of.")
    async def member_of(self, info: Info) -> list[Organization]:
        return [Organization.from_row(row) for row in await info.context.loaders.member_of.load(self.pk)]


def participant_from_row(row: Any) -> Municipality | Organization:
    if isinstance(row, MunicipalityRow):
        return Municipality.from_row(row)
    if isinstance(row, OrganizationRow):
        return Organization.from_row(row)
    raise TypeError(f"not a participant row: {row!r}")


@strawberry.input(description="Narrows a list of municipalities. All given conditions must hold.")
class MunicipalityFilter:
    active_on: dt.date | None = strawberry.field(
        default=None, description="Only municipalities that existed on that day."
    )
    name_contains: str | None = strawberry.field(
        default=None,
        description="Only those whose name contains this, ignoring case, accents, spaces and punctuation "
        '("hertogenbosch" and "sHertogenbosch" find \'s-Hertogenbosch).',
    )
    involved: bool | None = strawberry.field(
        default=None,
        description="true: only those with an involvement of their own; false: only those without. "
        "Dissolved ones count separately (Aalburg, Werkendam and Woudrichem beside Altena); for today's "
        "municipalities whose territory took part, a merged one once, use `participatingOn`.",
    )
    participating_on: dt.date | None = strawberry.field(
        default=None,
        description="Only municipalities that existed on that day and whose territory took part in an "
        "initiative, directly or through the municipalities they were formed from or received territory "
        "from in a split (Land van Cuijk through Boxmeer; Altena once): the municipalities "
        "`Initiative.participatingMunicipalities(on:)` gives for some initiative. Its `totalCount` is the "
        "province's count of participating municipalities on that day.",
    )
    region_slug: str | None = strawberry.field(
        default=None, description="Only members of this regional partnership."
    )


@strawberry.type(name="MunicipalityConnection", description="A page of municipalities.")
class MunicipalityConnection(CountedConnection[Municipality]):
    pass


@strawberry.type(name="OrganizationConnection", description="A page of organisations.")
class OrganizationConnection(CountedConnection[Organization]):
    pass
