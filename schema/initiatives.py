"""Initiatives, involvements (who takes part in what, in which role) and their filters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated, Any, Self

import strawberry
from strawberry import relay

import schema.enums  # noqa: F401  (registers the GraphQL enums)
from app.db import as_utc
from app.models import Initiative as InitiativeRow
from app.models import Involvement as InvolvementRow
from app.models.enums import Basis, InitiativeKind, InitiativeStatus, Language, PartnerRole
from app.services.filters import InitiativeCriteria, InvolvementCriteria
from app.services.pagination import Page, PageRequest
from app.services.text import fold, fold_words
from schema.context import Info
from schema.errors import OUTSIDE_PROVINCE, bad_input, unknown_code
from schema.language import LanguageArg, in_language, in_language_or_none
from schema.nodes import integer_keys, load_nodes, reference_key
from schema.pagination import AfterArg, CountedConnection, FirstArg, page_request
from schema.provenance import Citation, citations_of

if TYPE_CHECKING:
    from schema.participants import Participant
    from schema.territory import TerritorialParticipation


MAX_SEARCH_WORDS = 20
"""Words in ``InitiativeFilter.search``."""

InvolvementFilterArg = Annotated[
    "InvolvementFilter | None", strawberry.argument(name="filter", description="Only these involvements.")
]
ParticipantRef = Annotated["Participant", strawberry.lazy("schema.participants")]
TerritorialParticipationRef = Annotated["TerritorialParticipation", strawberry.lazy("schema.territory")]
DayArg = Annotated[
    dt.date | None,
    strawberry.argument(
        description="The day (default: today in the Netherlands); reorganisations effective on or before "
        "it are followed."
    ),
]


@strawberry.input(description="Narrows a list of involvements. All given conditions must hold.")
class InvolvementFilter:
    roles: list[PartnerRole] | None = strawberry.field(
        default=None, description="Only in one of these roles."
    )
    initiative_slug: str | None = strawberry.field(default=None, description="Only in this initiative.")
    municipality_code: str | None = strawberry.field(
        default=None, description='Only of this municipality (CBS code, "GM0879").'
    )
    organization_slug: str | None = strawberry.field(default=None, description="Only of this organisation.")


@strawberry.type(
    description="A number the source reports without listing the members, e.g. 57 municipalities."
)
class ReportedFigure:
    pk: strawberry.Private[int]
    label_nl: strawberry.Private[str]
    label_en: strawberry.Private[str | None]
    unit_nl: strawberry.Private[str]
    unit_en: strawberry.Private[str | None]
    value: int = strawberry.field(description="The number the source gives.")

    @strawberry.field(description='What is counted: "Brabantse gemeenten aangesloten bij het DVG-netwerk".')
    def label(self, language: LanguageArg = Language.NL) -> str:
        return in_language(language, self.label_nl, self.label_en)

    @strawberry.field(description='What the number counts: "gemeenten", "initiatieven", ...')
    def unit(self, language: LanguageArg = Language.NL) -> str:
        return in_language(language, self.unit_nl, self.unit_en)

    @strawberry.field(description="Where the source gives this number.")
    async def source(self, info: Info) -> Citation:
        return (await citations_of(info, "reported_figure_id", self.pk))[0]


@strawberry.type(
    description="A name the source gives as a participant that matches no known municipality or "
    'organisation (the memo\'s "Galderen"). Kept as the source spells it and never resolved by guesswork.'
)
class UnresolvedMention:
    pk: strawberry.Private[int]
    name: str = strawberry.field(description="The name as the source spells it.")
    role: PartnerRole = strawberry.field(description="The role the source gives it.")
    note_nl: strawberry.Private[str]
    note_en: strawberry.Private[str | None]

    @strawberry.field(description="Why it is unresolved.")
    def note(self, language: LanguageArg = Language.NL) -> str:
        return in_language(language, self.note_nl, self.note_en)

    @strawberry.field(description="Where the source mentions it.")
    async def sources(self, info: Info) -> list[Citation]:
        return await citations_of(info, "unresolved_mention_id", self.pk)


@strawberry.federation.type(
    keys=["slug"],
    description="A pilot, test bed, method, network, fund or exchange in which the programme is involved.",
)
class Initiative(relay.Node):
    pk: strawberry.Private[int]
    slug: str = strawberry.field(description='Stable, lower-case, hyphenated identifier: "pilot-altena".')
    name: str = strawberry.field(description="Name, as the source gives it.")
    kind: InitiativeKind = strawberry.field(description="What sort of initiative it is.")
    status: InitiativeStatus = strawberry.field(description="Where it stands, as the source describes it.")
    summary_nl: strawberry.Private[str]
    summary_en: strawberry.Private[str | None]
    basis: Basis = strawberry.field(
        description="INTERPRETED where its status or summary goes beyond the source's words (see basisNote)."
    )
    basis_note_nl: strawberry.Private[str | None]
    basis_note_en: strawberry.Private[str | None]
    version: int = strawberry.field(
        description="Raised by every update; send it back with an update (optimistic concurrency)."
    )
    updated_at: dt.datetime = strawberry.field(description="When it was last written.")

    @classmethod
    def from_row(cls, row: InitiativeRow) -> Self:
        return cls(
            pk=row.id,
            slug=row.slug,
            name=row.name,
            kind=row.kind,
            status=row.status,
            summary_nl=row.summary,
            summary_en=row.summary_en,
            basis=row.basis,
            basis_note_nl=row.basis_note,
            basis_note_en=row.basis_note_en,
            version=row.version,
            updated_at=as_utc(row.updated_at),
        )

    @strawberry.field(description="What it is, in a sentence or two, in our own words from the source.")
    def summary(self, language: LanguageArg = Language.NL) -> str:
        return in_language(language, self.summary_nl, self.summary_en)

    @strawberry.field(
        description="For basis INTERPRETED: how and why its status or summary goes beyond the source's "
        "words; null for QUOTED."
    )
    def basis_note(self, language: LanguageArg = Language.NL) -> str | None:
        return in_language_or_none(language, self.basis_note_nl, self.basis_note_en)

    @classmethod
    async def resolve_reference(cls, info: Info, **representation: Any) -> Self | None:
        """Federation: an Initiative another subgraph refers to by slug (batched: all references of one request in one statement)."""
        slug = reference_key("Initiative", "slug", representation)
        row = await info.context.loaders.initiative_by_slug.load(slug)
        return None if row is None else cls.from_row(row)

    @classmethod
    def resolve_id(cls, root: Self, *, info: Info) -> str:
        return root.slug

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await load_nodes(info, info.context.loaders.initiative_by_slug, node_ids, cls.from_row)

    @strawberry.field(
        description='Other policy programmes it crosses over with, as the source names them: ["Leegstand", "Water"].'
    )
    async def cross_over_themes(self, info: Info) -> list[str]:
        return [row.theme for row in await info.context.loaders.themes.load(self.pk)]

    @strawberry.field(description="Numbers the source reports for it without listing members.")
    async def reported_figures(self, info: Info) -> list[ReportedFigure]:
        rows = await info.context.loaders.reported_figures.load(self.pk)
        return [
            ReportedFigure(
                pk=row.id,
                label_nl=row.label,
                label_en=row.label_en,
                value=row.value,
                unit_nl=row.unit,
                unit_en=row.unit_en,
            )
            for row in rows
        ]

    @strawberry.field(
        description="Participants the source names that match no known municipality or organisation."
    )
    async def unresolved_mentions(self, info: Info) -> list[UnresolvedMention]:
        rows = await info.context.loaders.unresolved_mentions.load(self.pk)
        return [
            UnresolvedMention(pk=row.id, name=row.name, role=row.role, note_nl=row.note, note_en=row.note_en)
            for row in rows
        ]

    @strawberry.field(description="Who is involved in it, in which role, in the order they were recorded.")
    async def involvements(
        self,
        info: Info,
        first: FirstArg = 50,
        after: AfterArg = None,
        filter_: InvolvementFilterArg = None,
    ) -> InvolvementConnection:
        return await involvement_connection(info, "initiative_id", [self.pk], first, after, filter_)

    @strawberry.field(description="Where the source describes it.")
    async def sources(self, info: Info) -> list[Citation]:
        return await citations_of(info, "initiative_id", self.pk)

    @strawberry.field(
        description="The municipalities existing on `on` (default: today) whose territory took part; a "
        "merged municipality once. Each involvement of a municipality is followed forward through the "
        "reorganisations effective by then (Boxmeer's to Land van Cuijk from 2022-01-01; Haaren's to each "
        "municipality that received part of it in 2021, marked `throughSplit`). Never backward: on a day "
        "before a municipality existed, its own involvement counts for no one. Organisations (regions) "
        "are not counted. In the order first reached from the involvements."
    )
    async def participating_municipalities(
        self, info: Info, on: DayArg = None
    ) -> list[TerritorialParticipationRef]:
        from schema.territory import participating_municipalities

        return await participating_municipalities(info, self.pk, on)

    @strawberry.field(
        description="How many municipalities `participatingMunicipalities(on:)` gives: the municipalities "
        "of that day whose territory took part, a merged municipality counted once (Altena once, not "
        "four times with Aalburg, Werkendam and Woudrichem). For the province's overview, ask it of "
        "every initiative in one query."
    )
    async def participating_municipality_count(self, info: Info, on: DayArg = None) -> int:
        from schema.territory import participating_municipality_count

        return await participating_municipality_count(info, self.pk, on)


@strawberry.type(description="One participant's part in one initiative, in one role.")
class Involvement(relay.Node):
    pk: strawberry.Private[int]
    initiative_pk: strawberry.Private[int]
    participant_pk: strawberry.Private[int]
    role: PartnerRole = strawberry.field(
        description="The part it plays, in the source's words mapped to a role."
    )
    description_nl: strawberry.Private[str | None]
    description_en: strawberry.Private[str | None]
    basis: Basis = strawberry.field(
        description="INTERPRETED where the role goes beyond the source's words (see basisNote)."
    )
    basis_note_nl: strawberry.Private[str | None]
    basis_note_en: strawberry.Private[str | None]
    version: int = strawberry.field(
        description="Raised by every update; send it back with an update (optimistic concurrency)."
    )
    updated_at: dt.datetime = strawberry.field(description="When it was last written.")

    @classmethod
    def from_row(cls, row: InvolvementRow) -> Self:
        return cls(
            pk=row.id,
            initiative_pk=row.initiative_id,
            participant_pk=row.participant_id,
            role=row.role,
            description_nl=row.description,
            description_en=row.description_en,
            basis=row.basis,
            basis_note_nl=row.basis_note,
            basis_note_en=row.basis_note_en,
            version=row.version,
            updated_at=as_utc(row.updated_at),
        )

    @strawberry.field(
        description='Detail from the source about this one involvement: "3 wijken", "B5-gemeente".'
    )
    def description(self, language: LanguageArg = Language.NL) -> str | None:
        return in_language_or_none(language, self.description_nl, self.description_en)

    @strawberry.field(
        description="For basis INTERPRETED: how and why the role goes beyond the source's words; null for "
        "QUOTED."
    )
    def basis_note(self, language: LanguageArg = Language.NL) -> str | None:
        return in_language_or_none(language, self.basis_note_nl, self.basis_note_en)

    @classmethod
    def resolve_id(cls, root: Self, *, info: Info) -> str:
        return str(root.pk)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await load_nodes(info, info.context.loaders.involvement, integer_keys(node_ids), cls.from_row)

    @strawberry.field(description="The initiative.")
    async def initiative(self, info: Info) -> Initiative:
        return Initiative.from_row(await info.context.loaders.initiative.load(self.initiative_pk))

    @strawberry.field(description="Who is involved: a Municipality or an Organization.")
    async def participant(self, info: Info) -> ParticipantRef:
        from schema.participants import participant_from_row

        return participant_from_row(await info.context.loaders.participant.load(self.participant_pk))

    @strawberry.field(description="The source's own words for this involvement.")
    async def sources(self, info: Info) -> list[Citation]:
        return await citations_of(info, "involvement_id", self.pk)


@strawberry.input(description="Narrows a list of initiatives. All given conditions must hold.")
class InitiativeFilter:
    kinds: list[InitiativeKind] | None = strawberry.field(default=None, description="Only of these kinds.")
    statuses: list[InitiativeStatus] | None = strawberry.field(
        default=None, description="Only with one of these statuses."
    )
    theme: str | None = strawberry.field(
        default=None, description="Only those with this cross-over theme (case- and accent-insensitive)."
    )
    municipality_code: str | None = strawberry.field(
        default=None, description="Only those this municipality is involved in (CBS code)."
    )
    organization_slug: str | None = strawberry.field(
        default=None, description="Only those this organisation is involved in."
    )
    roles: list[PartnerRole] | None = strawberry.field(
        default=None,
        description="With municipalityCode or organizationSlug: only where it plays one of these roles. "
        "Alone: only initiatives with an involvement in one of these roles.",
    )
    search: str | None = strawberry.field(
        default=None,
        description="Words that must all occur in the name or summary (case- and accent-insensitive; "
        "a word matches the start or middle of a word).",
    )


@strawberry.type(name="InvolvementConnection", description="A page of involvements.")
class InvolvementConnection(CountedConnection[Involvement]):
    pass


@strawberry.type(name="InitiativeConnection", description="A page of initiatives.")
class InitiativeConnection(CountedConnection[Initiative]):
    pass


# ------------------------------------------------------------------------------------- argument checks


async def municipality_id_for(info: Info, code: str, argument: str) -> int:
    from schema.participants import check_code

    normal = check_code(code, argument)
    row = await info.context.loaders.municipality_by_code.load(normal)
    if row is None:
        error = unknown_code(argument, normal)
        if (error.extensions or {}).get("code") == OUTSIDE_PROVINCE:
            raise error
        raise bad_input(argument, f"er is geen gemeente met code {code!r}")
    return int(row.id)


async def organization_id_for(info: Info, slug: str, argument: str) -> int:
    row = await info.context.loaders.organization_by_slug.load(slug)
    if row is None:
        raise bad_input(argument, f"er is geen organisatie met slug {slug!r}")
    return int(row.id)


async def _participant_ids(info: Info, filter_: InvolvementFilter | InitiativeFilter) -> list[int]:
    """The participants a filter's municipalityCode and organizationSlug name (checked to exist)."""
    participant_ids = []
    if filter_.municipality_code is not None:
        participant_ids.append(
            await municipality_id_for(info, filter_.municipality_code, "filter.municipalityCode")
        )
    if filter_.organization_slug is not None:
        participant_ids.append(
            await organization_id_for(info, filter_.organization_slug, "filter.organizationSlug")
        )
    return participant_ids


async def involvement_criteria(info: Info, filter_: InvolvementFilter | None) -> InvolvementCriteria:
    if filter_ is None:
        return InvolvementCriteria()
    initiative_id = None
    if filter_.initiative_slug is not None:
        row = await info.context.loaders.initiative_by_slug.load(filter_.initiative_slug)
        if row is None:
            raise bad_input(
                "filter.initiativeSlug", f"er is geen initiatief met slug {filter_.initiative_slug!r}"
            )
        initiative_id = row.id
    participant_ids = await _participant_ids(info, filter_)
    return InvolvementCriteria(
        roles=None if filter_.roles is None else tuple(dict.fromkeys(filter_.roles)),
        initiative_id=initiative_id,
        participant_ids=tuple(participant_ids) or None,
    )


async def initiative_criteria(info: Info, filter_: InitiativeFilter | None) -> InitiativeCriteria:
    if filter_ is None:
        return InitiativeCriteria()
    participant_ids = await _participant_ids(info, filter_)
    theme_folded = None
    if filter_.theme is not None:
        theme_folded = fold(filter_.theme)
        if not theme_folded:
            raise bad_input("filter.theme", "moet letters of cijfers bevatten")
    search_words: tuple[str, ...] = ()
    if filter_.search is not None:
        search_words = tuple(dict.fromkeys(fold_words(filter_.search)))
        if not search_words:
            raise bad_input("filter.search", "moet minstens één woord van letters of cijfers bevatten")
        # Each word is a condition of its own: thousands of them overflow SQLite's expression depth.
        if len(search_words) > MAX_SEARCH_WORDS:
            raise bad_input(
                "filter.search", f"geef hoogstens {MAX_SEARCH_WORDS} woorden (gekregen: {len(search_words)})"
            )
    # Each listed value is a statement parameter: repeats (a variable can hold thousands) are dropped.
    return InitiativeCriteria(
        kinds=None if filter_.kinds is None else tuple(dict.fromkeys(filter_.kinds)),
        statuses=None if filter_.statuses is None else tuple(dict.fromkeys(filter_.statuses)),
        theme_folded=theme_folded,
        participant_ids=tuple(participant_ids),
        roles=None if filter_.roles is None else tuple(dict.fromkeys(filter_.roles)),
        search_words=search_words,
    )


async def involvement_connection(
    info: Info,
    parent: str,
    parent_ids: list[int],
    first: int | None,
    after: str | None,
    filter_: InvolvementFilter | None,
) -> InvolvementConnection:
    """The involvements of one parent, or of several merged (a municipality and its predecessors).

    Each parent's page comes from a loader shared by every parent in the query (one statement per level);
    merging takes the first ``first`` by id of the parents' pages, which hold every candidate since each
    page already has the first ``first + 1`` items after the cursor.
    """
    request = page_request("Involvement", first, after, info.context.settings.max_page_size)
    criteria = await involvement_criteria(info, filter_)
    pages = await info.context.loaders.involvement_pages(parent, criteria, request).load_many(parent_ids)
    page = _merge(pages, request) if len(pages) > 1 else pages[0]
    counts = info.context.loaders.involvement_counts(parent, criteria)

    async def total_count() -> int:
        return sum(await counts.load_many(parent_ids))

    return InvolvementConnection.from_page(
        page,
        [Involvement.from_row(row) for row in page.rows],
        type_name="Involvement",
        keys=[row.id for row in page.rows],
        total_count=total_count,
    )


def _merge(pages: list[Page], request: PageRequest) -> Page:
    rows = sorted((row for page in pages for row in page.rows), key=lambda row: row.id)
    has_more = any(page.has_next_page for page in pages) or len(rows) > request.first
    return Page(
        rows=rows[: request.first], has_next_page=has_more, has_previous_page=request.after is not None
    )
